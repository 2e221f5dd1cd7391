"""Per-submission cgroups: a process limit, a memory limit and a device allow-list.

Root ignores ``RLIMIT_NPROC``, so only a cgroup stops a fork bomb run as root.
Each sandbox gets its own group under the grader's current group, in every
hierarchy that offers the controller (cgroup v1 ``pids``/``memory``/``devices``
on hybrid machines, or the unified v2 tree's ``pids``/``memory``). The sandbox
process joins them before it execs (``enter`` runs in the child), so every
process the submission makes is counted from the start. ``destroy`` kills
whatever is left in the groups (only the sandbox's processes can be there) and
removes them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

# Character devices a sandbox may open: null, zero, full, random, urandom, tty, tun.
ALLOWED_DEVICES = ("c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                   "c 5:0 rwm", "c 10:200 rwm")  # fmt: skip


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy and where this process sits in it."""

    root: Path  # mount point
    current: str  # our group's path inside it
    controllers: frozenset[str]
    v2: bool

    @property
    def base(self) -> Path:
        return self.root / self.current.lstrip("/")


def _mounted_hierarchies() -> list[tuple[Path, frozenset[str], bool]]:
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fstype, _src, opts = [*right.split(), "", ""][:3]
            point = Path(left.split()[4])
            if fstype == "cgroup":
                found.append((point, frozenset(opts.split(",")), False))
            elif fstype == "cgroup2":
                try:
                    ctrl = (point / "cgroup.controllers").read_text().split()
                except OSError:
                    ctrl = []
                found.append((point, frozenset(ctrl), True))
    return found


def hierarchies() -> dict[str, Hierarchy]:
    """controller name -> the hierarchy that serves it (v1 preferred on hybrid machines)."""
    paths: dict[str, str] = {}
    v2_path = "/"
    with contextlib.suppress(OSError), open("/proc/self/cgroup", encoding="utf-8") as fh:
        for line in fh:
            _, names, path = line.rstrip("\n").split(":", 2)
            if names == "":
                v2_path = path
            for c in names.split(","):
                paths[c] = path
    found: dict[str, Hierarchy] = {}
    for point, ctrls, v2 in _mounted_hierarchies():
        for wanted in ("pids", "memory", "devices"):
            if wanted not in ctrls or (wanted in found and not found[wanted].v2):
                continue
            current = v2_path if v2 else paths.get(wanted)
            if current is None or not (point / current.lstrip("/")).is_dir():
                continue
            found[wanted] = Hierarchy(point, current, ctrls, v2)
    return found


@dataclass
class JobCgroups:
    """The groups of one sandbox; ``limits`` says which limits are enforced."""

    name: str
    pids_max: int
    memory_bytes: int
    dirs: list[Path] = field(default_factory=list)
    limits: dict[str, Path] = field(default_factory=dict)

    def create(self) -> None:
        done: set[Path] = set()
        for controller, h in hierarchies().items():
            path = h.base / self.name
            if path in done:
                self.limits[controller] = path
                continue
            try:
                if h.v2:
                    _enable_v2(h, controller)
                path.mkdir(exist_ok=True)
            except OSError:
                continue
            self.dirs.append(path)
            done.add(path)
            self.limits[controller] = path
        for controller, path in list(self.limits.items()):
            try:
                self._limit(controller, path)
            except OSError:
                del self.limits[controller]

    def _limit(self, controller: str, path: Path) -> None:
        if controller == "pids":
            (path / "pids.max").write_text(str(self.pids_max))
        elif controller == "memory":
            target = path / "memory.max"
            if not target.exists():
                target = path / "memory.limit_in_bytes"
            target.write_text(str(self.memory_bytes))
            swap = path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
        elif controller == "devices":
            (path / "devices.deny").write_text("a")
            for rule in ALLOWED_DEVICES:
                (path / "devices.allow").write_text(rule)

    def enter(self) -> None:
        """Move the calling process into every group (call in the child, before exec)."""
        for path in self.dirs:
            fd = os.open(path / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    def hit_pid_limit(self) -> bool:
        path = self.limits.get("pids")
        if path is None:
            return False
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in (path / "pids.events").read_text().splitlines():
                key, value = line.split()
                if key == "max" and int(value) > 0:
                    return True
        return False

    def hit_memory_limit(self) -> bool:
        path = self.limits.get("memory")
        if path is None:
            return False
        with contextlib.suppress(OSError, ValueError, IndexError):
            events = path / "memory.events"
            if events.exists():
                for line in events.read_text().splitlines():
                    key, value = line.split()
                    if key in ("oom", "oom_kill", "max") and int(value) > 0:
                        return True
                return False
            return int((path / "memory.failcnt").read_text()) > 0
        return False

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.dirs:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in (path / "cgroup.procs").read_text().split())
        return found

    def destroy(self, wait: float = 3.0) -> None:
        """Kill what is left in the groups (the sandbox's own processes) and remove them."""
        deadline = time.monotonic() + wait
        while True:
            left = self.pids()
            if not left or time.monotonic() > deadline:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        for path in self.dirs:
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        self.dirs.clear()


def _enable_v2(h: Hierarchy, controller: str) -> None:
    control = h.base / "cgroup.subtree_control"
    if controller not in control.read_text().split():
        control.write_text(f"+{controller}")


def sweep(prefix: str) -> list[Path]:
    """Empty and remove leftover groups named ``prefix*`` (after a crash); return them.

    Only sandboxes of this grading run are put in groups with that name, so any
    process found in one is one of ours.
    """
    removed = []
    for h in hierarchies().values():
        with contextlib.suppress(OSError):
            for entry in h.base.iterdir():
                if entry.is_dir() and entry.name.startswith(prefix):
                    leftover = JobCgroups(entry.name, 0, 0, dirs=[entry])
                    leftover.destroy()
                    removed.append(entry)
    return removed
