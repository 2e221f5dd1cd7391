"""Per-submission cgroups: processes, memory, CPU time, huge pages, devices.

Root ignores ``RLIMIT_NPROC``, so only a cgroup stops a fork bomb run as root.
Each sandbox gets its own group, in every hierarchy that offers a controller
(cgroup v1 ``pids``/``memory``/``cpu``/``hugetlb``/``devices`` on hybrid
machines, the unified v2 tree's ``pids``/``memory``/``cpu``/``hugetlb``). The
sandbox process joins them before it execs (``enter`` runs in the child), so
every process the submission makes is counted from the start. ``destroy`` kills
whatever is left in the groups (only the sandbox's processes can be there) and
removes them.

cgroup v2 has a rule v1 lacks, *no internal processes*: a group other than the
root may either hold processes or hand controllers down to children, never
both. A grader sitting in a group with processes (every systemd session or
service) therefore cannot make limited children of its own group. It makes a
subtree of its own instead (:func:`delegated`):

* in the root group (no rule there): ``/cnlab-grade-RUN/`` beside it;
* alone in its group (a ``systemd-run --scope -p Delegate=yes`` scope made for
  it, see :func:`scope_argv`): the grader moves itself into a leaf
  ``grader/`` of that group, which then hands controllers to the job leaves;
* at the top of a container's cgroup namespace (Docker, a Gradescope
  autograder), where nothing above is reachable: the same, and the
  container's other processes move into a leaf ``init/``, as Docker-in-Docker
  does;
* sharing its group with others (a container's shell): a sibling group
  ``cnlab-grade-RUN/`` under the parent, which holds no processes.

Every job is a leaf of that subtree; limits are written in the leaves.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
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


LIMITED = ("pids", "memory", "cpu", "hugetlb", "devices")
V2_ENV = "CNLAB_CGROUP_V2_PARENT"  # where job leaves go in the v2 tree (see delegated)
CPU_PERIOD_US = 100_000


def _own_paths() -> tuple[dict[str, str], str | None]:
    """controller -> our group's path in its v1 hierarchy, and our v2 path."""
    paths: dict[str, str] = {}
    v2_path = None
    with contextlib.suppress(OSError), open("/proc/self/cgroup", encoding="utf-8") as fh:
        for line in fh:
            _, names, path = line.rstrip("\n").split(":", 2)
            if names == "":
                v2_path = path
            for c in names.split(","):
                paths[c] = path
    return paths, v2_path


def hierarchies() -> dict[str, Hierarchy]:
    """controller name -> the hierarchy that serves it (a controller is in one only)."""
    paths, v2_path = _own_paths()
    found: dict[str, Hierarchy] = {}
    for point, ctrls, v2 in _mounted_hierarchies():
        for wanted in LIMITED:
            if wanted not in ctrls or (wanted in found and not found[wanted].v2):
                continue
            current = v2_path if v2 else paths.get(wanted)
            if current is None or not (point / current.lstrip("/")).is_dir():
                continue
            found[wanted] = Hierarchy(point, current, ctrls, v2)
    return found


def v2_root() -> tuple[Path, str] | None:
    """(mount point of the unified hierarchy, our group's path in it), if mounted."""
    _, v2_path = _own_paths()
    for point, _ctrls, v2 in _mounted_hierarchies():
        if v2 and v2_path is not None and (point / v2_path.lstrip("/")).is_dir():
            return point, v2_path
    return None


def _procs(group: Path) -> set[int]:
    return {int(p) for p in (group / "cgroup.procs").read_text().split()}


def _hand_down(group: Path, controllers: set[str]) -> None:
    """Let ``group``'s children use ``controllers`` (a group holding no processes)."""
    have = set((group / "cgroup.subtree_control").read_text().split())
    missing = controllers - have
    if missing:
        (group / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(missing)))


def _chain(root: Path, group: Path, controllers: set[str]) -> set[str]:
    """Hand ``controllers`` down every group from ``root`` to ``group`` (exclusive of
    ``group`` itself); return those that reached it."""
    node = root
    reached = set(controllers)
    for part in group.relative_to(root).parts:
        for c in sorted(reached):
            with contextlib.suppress(OSError):
                _hand_down(node, {c})
        have = set((node / "cgroup.subtree_control").read_text().split())
        reached &= have
        node = node / part
    return reached


@dataclass
class Subtree:
    """The grader's own part of the v2 tree (see the module docstring)."""

    parent: Path  # job leaves go here
    made: Path | None  # a group we created (removed at the end)
    home: Path | None  # where the grader was, when it moved itself into a leaf
    leaf: Path | None  # the grader's own leaf


def make_subtree(run_id: int) -> Subtree | None:
    """Prepare the v2 groups of one grading run; None if v2 limits nothing here."""
    found = v2_root()
    if found is None:
        return None
    root, current = found
    offered = set((root / "cgroup.controllers").read_text().split())
    wanted = offered & {"pids", "memory", "cpu", "hugetlb"}
    if not wanted:
        return None
    group = root / current.lstrip("/")
    name = f"cnlab-grade-{run_id}"
    real_root = group == root and not (root / "cgroup.type").exists()
    if real_root:  # the only group where processes and children may mix
        parent = root / name
        made, home, leaf = parent, None, None
    elif _procs(group) <= {os.getpid()} or group == root:
        # Alone (a delegated scope made for us), or at the top of a container's
        # cgroup namespace (nothing above it is ours): the group's processes
        # move into leaves, then it holds none and may hand controllers down.
        parent, made, home = group, None, group
        leaf = group / "grader"
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        others = _procs(group)
        if others:  # a container's own processes (its shell, the autograder's harness)
            rest = group / "init"
            rest.mkdir(exist_ok=True)
            for pid in others:
                with contextlib.suppress(OSError):  # gone meanwhile, or a kernel thread
                    (rest / "cgroup.procs").write_text(str(pid))
    else:
        parent = group.parent / name
        made, home, leaf = parent, None, None
    _chain(root, parent, wanted)
    if made is not None:
        made.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        _hand_down(parent, wanted)
    return Subtree(parent, made, home, leaf)


def remove_subtree(tree: Subtree, prefix: str) -> None:
    """Undo :func:`make_subtree` (after its job leaves were destroyed)."""
    with contextlib.suppress(OSError):
        for entry in tree.parent.iterdir():
            if entry.is_dir() and entry.name.startswith(prefix):
                JobCgroups(entry.name, 0, 0, dirs=[entry]).destroy()
    if tree.home is not None and tree.leaf is not None:
        with contextlib.suppress(OSError):  # controllers off, then we may live here again
            ctrls = (tree.home / "cgroup.subtree_control").read_text().split()
            if ctrls:
                (tree.home / "cgroup.subtree_control").write_text(" ".join(f"-{c}" for c in ctrls))
        with contextlib.suppress(OSError):
            (tree.home / "cgroup.procs").write_text(str(os.getpid()))
        with contextlib.suppress(OSError):
            tree.leaf.rmdir()
    if tree.made is not None:
        with contextlib.suppress(OSError):
            tree.made.rmdir()


_RUN_GROUP = re.compile(r"^cnlab-grade-(\d+)(-\d+(-checks)?)?$")


def sweep_dead() -> list[Path]:
    """Remove the groups of grading runs whose grader is gone (killed with SIGKILL,
    say, so that its own clean-up never ran): beside ours, in every hierarchy."""
    places = {h.base for h in hierarchies().values() if not h.v2}
    found = v2_root()
    if found is not None:
        group = found[0] / found[1].lstrip("/")
        places.update({found[0], group, group.parent})
    removed = []
    for place in places:
        with contextlib.suppress(OSError):
            for entry in place.iterdir():
                match = _RUN_GROUP.match(entry.name)
                if not match or os.path.exists(f"/proc/{match.group(1)}"):
                    continue
                inner = [p for p in entry.iterdir() if p.is_dir()]
                for leftover in [*inner, entry]:
                    JobCgroups(leftover.name, 0, 0, dirs=[leftover]).destroy(wait=0.5)
                removed.append(entry)
    return removed


@contextlib.contextmanager
def delegated(run_id: int) -> Iterator[Subtree | None]:
    """The v2 subtree of a grading run, for the whole run (workers fork inside it)."""
    with contextlib.suppress(OSError):
        sweep_dead()
    tree = make_subtree(run_id)
    old = os.environ.get(V2_ENV)
    if tree is not None:
        os.environ[V2_ENV] = str(tree.parent)
    try:
        yield tree
    finally:
        if old is None:
            os.environ.pop(V2_ENV, None)
        else:
            os.environ[V2_ENV] = old
        if tree is not None:
            remove_subtree(tree, f"cnlab-grade-{run_id}-")


def needs_scope(
    systemd: bool, pids_in_v1: bool, v2_path: str | None, alone: bool, marked: bool
) -> bool:
    """Whether ``cnlab grade`` must run again in a delegated systemd scope.

    Only where systemd owns a pure cgroup v2 tree (``pids`` not in a v1
    hierarchy) and the grader shares a group other than the root with other
    processes (a login session, a service): systemd hands a subtree over only to
    a unit with ``Delegate=yes``. Never twice (``marked``).
    """
    return systemd and not pids_in_v1 and v2_path not in (None, "/") and not alone and not marked


def scope_argv(argv: list[str], env: dict[str, str]) -> list[str] | None:
    """The command that re-runs ``argv`` in a transient systemd scope with
    ``Delegate=yes`` when :func:`needs_scope` says so; None otherwise."""
    found = v2_root()
    alone = False
    if found is not None:
        with contextlib.suppress(OSError):
            alone = _procs(found[0] / found[1].lstrip("/")) <= {os.getpid()}
    pids = hierarchies().get("pids")
    if not needs_scope(
        systemd=os.path.isdir("/run/systemd/system"),
        pids_in_v1=pids is not None and not pids.v2,
        v2_path=found[1] if found else None,
        alone=alone,
        marked=bool(env.get("CNLAB_GRADE_SCOPE")),
    ):
        return None
    tool = shutil.which("systemd-run")
    if tool is None:
        return None
    scope = [tool, "--scope", "--quiet", "--collect", "-p", "Delegate=yes"]
    try:  # systemd may refuse (no bus, a policy): then grade where we are
        subprocess.run([*scope, "true"], capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return [*scope, f"--unit=cnlab-grade-{os.getpid()}", "--", *argv]


@dataclass
class JobCgroups:
    """The groups of one sandbox; ``limits`` says which limits are enforced."""

    name: str
    pids_max: int
    memory_bytes: int
    dirs: list[Path] = field(default_factory=list)
    limits: dict[str, Path] = field(default_factory=dict)
    homes: dict[Path, Path] = field(default_factory=dict)  # group -> where we sit now

    def create(self) -> None:
        done: set[Path] = set()
        v2_parent = os.environ.get(V2_ENV)
        for controller, h in hierarchies().items():
            if h.v2:
                if not v2_parent:
                    continue  # no subtree of our own: the v2 rules forbid a child here
                path = Path(v2_parent) / self.name
            else:
                path = h.base / self.name
            if path not in done:
                if path.is_dir():  # left by a crash: its counters are not ours
                    JobCgroups(self.name, 0, 0, dirs=[path]).destroy()
                try:
                    path.mkdir(exist_ok=True)
                except OSError:
                    continue
                self.dirs.append(path)
                self.homes[path] = h.base
                done.add(path)
            if h.v2 and controller not in (path / "cgroup.controllers").read_text().split():
                continue  # not handed down to the leaf
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
        elif controller == "cpu":  # one core's worth of CPU time, whatever it forks
            if (path / "cpu.max").exists():
                (path / "cpu.max").write_text(f"{CPU_PERIOD_US} {CPU_PERIOD_US}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(CPU_PERIOD_US))
        elif controller == "hugetlb":  # no huge pages: they would escape memory.max
            files = [f for f in path.iterdir() if f.name.startswith("hugetlb.")]
            limits = [f for f in files if f.name.endswith((".max", ".limit_in_bytes"))]
            limits = [f for f in limits if ".rsvd." not in f.name]
            if not limits:
                raise OSError("no hugetlb limit files")
            for f in limits:
                f.write_text("0")
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

    def leave(self) -> bool:
        """Move the calling process back where it was before :meth:`enter`."""
        ok = True
        for path in self.dirs:
            try:
                (self.homes[path] / "cgroup.procs").write_text(str(os.getpid()))
            except (OSError, KeyError):
                ok = False
        return ok

    def destroy(self, wait: float = 3.0) -> None:
        """Kill what is left in the groups (the sandbox's own processes) and remove them."""
        deadline = time.monotonic() + wait
        while True:
            left = self.pids() - {os.getpid()}  # never ourselves (see confined)
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


@contextlib.contextmanager
def confined(job: JobCgroups) -> Iterator[JobCgroups]:
    """Run the calling process (and all it forks) inside ``job``'s limits for a while.

    The grader reads a world a submission has shaped (how many namespaces, what
    in them) with helpers it forks: they count against the same kind of limits
    as the submission, never against the machine.
    """
    job.create()
    try:
        job.enter()
    except OSError:  # the checks still run (their number is bounded anyway), unfenced
        job.leave()
        job.destroy()
        job.limits.clear()
        yield job
        return
    try:
        yield job
    finally:
        job.leave()
        job.destroy()


def sweep(prefix: str) -> list[Path]:
    """Empty and remove leftover groups named ``prefix*`` (after a crash); return them.

    Only sandboxes of this grading run are put in groups with that name, so any
    process found in one is one of ours.
    """
    removed = []
    bases = {h.base for h in hierarchies().values() if not h.v2}
    if os.environ.get(V2_ENV):
        bases.add(Path(os.environ[V2_ENV]))
    for base in bases:
        with contextlib.suppress(OSError):
            for entry in base.iterdir():
                if entry.is_dir() and entry.name.startswith(prefix):
                    leftover = JobCgroups(entry.name, 0, 0, dirs=[entry])
                    leftover.destroy()
                    removed.append(entry)
    return removed
