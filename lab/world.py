"""The sealed world: a private copy of "the article's VM" that nothing can leave.

::

      world "default"  (one private mount namespace: own /run/netns, /sys,
      |                 /etc/resolv.conf, /etc/profile, helpers in /usr/local/sbin)
      |
      |  host netns (the learner's "VM")            internet netns (hidden)
      |  +---------------------------+              +------------------------+
      |  | lo                        |   veth pair  | eth0 10.0.2.2/24       |
      |  | eth0 10.0.2.15/24   ------+--------------+ lo   8.8.8.8/32        |
      |  | default via 10.0.2.2      |              | DNS on 8.8.8.8:53      |
      |  | ip_forward 0, no iptables |              | no route to 172.18/16  |
      |  +---------------------------+              +------------------------+
      |     the learner adds netns0, netns1, veths, br0... in here
      +---------------------------------------------------------------------

Every namespace of a world is kept alive by a bind mount of its ``nsfs`` file
under ``/run/cnlab/<world>/`` (``mnt``, ``host``, ``inet``), so separate
processes (the TUI, ``cnlab shell``, ``cnlab check``, a grader) attach to the
same world with ``nsenter``/``setns`` and no daemon runs. Namespaces the
learner creates with ``ip netns add`` live in the world's own ``/run/netns``
(a tmpfs inside the world's mount namespace), so the real host never sees them.

A mount namespace is also what lets the world look like a VM without touching
the machine: inside it only, the lab's helpers (``sudo``, ``su``, ``iptables``,
``modprobe``) sit on an exec tmpfs covering ``/usr/local/sbin`` and the real
``sudo``/``su``, and ``/etc/profile`` and ``/etc/bash.bashrc`` are the world's
own, so every shell the learner starts finds them. The learner's home is the
one thing kept outside: ``/var/lib/cnlab/<world>/home`` outlives every reset.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lab import nsutil, preflight, progress
from lab.errors import LabError, WorldBusy, WorldMissing
from lab.names import NAME_RE as NAME_RE  # re-exported: callers name them lab.world
from lab.names import validate_name as validate_name

RUN_ROOT = Path(os.environ.get("CNLAB_RUN_DIR", "/run/cnlab"))
ASSETS = Path(__file__).parent / "assets"

HOST_ADDR = "10.0.2.15"
ROUTER_ADDR = "10.0.2.2"
INTERNET_ADDR = "8.8.8.8"

#: The learner's helpers (lab/assets/): first in every PATH inside a world.
HELPERS = ("sudo", "su", "modprobe", "iptables", "ip")
#: Helpers that also cover the real tool's file inside the world (called by full path).
STAND_INS = ("sudo", "su")
#: First in the PATH that Debian's profile, su and sudo's secure_path set for root.
LOCAL_SBIN = "/usr/local/sbin"
#: The real tools, without the helpers (lesson start scripts use these).
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

#: (asset, name in the learner's home, mode): added when missing, never replaced.
HOME_FILES = (
    ("home.bashrc", ".bashrc", 0o644),
    ("home.profile", ".profile", 0o644),
    ("inspect-net-stack.sh", "inspect-net-stack.sh", 0o755),
)

#: The world's UTS name: the article's VM is ``vagrant@localhost``.
VM_HOSTNAME = "localhost"
VM_DOMAINNAME = "(none)"
INIT_SCRIPT = Path(__file__).with_name("worldinit.py")
INIT_NAME = "cnlab-init"
NSGATE_SCRIPT = Path(__file__).with_name("nsgate.py")
#: Global knobs under /proc/sys/net: one write changes the whole machine.
GLOBAL_NET_KNOBS = ("/proc/sys/net/netfilter/nf_hooks_lwtunnel",)


HOST_NS = "host"
INTERNET_NS = "internet"

_INTERNET_BATCH = """\
link set lo up
addr add {internet}/32 dev lo
link add eth0 type veth peer name eth0 netns {host_file}
addr add {router}/24 dev eth0
link set eth0 up
"""
_HOST_BATCH = """\
link set lo up
addr add {host_addr}/24 dev eth0
link set eth0 up
route add default via {router} dev eth0
"""
# Guards under the world's /run/netns: read-only tmpfs layers, so that even after
# `umount /run/netns` inside (three times over) `ip netns add` cannot write into
# the real host's /run/netns. The mounts carry the world's name, so a process in a
# mount namespace copied from the world's (`ip netns exec` makes one) is still
# known as the world's after the learner deletes its namespace.
GUARD_LAYERS = 3


class MountsRefused(LabError):
    """The kernel refused to make the world's namespaces or mounts."""


@dataclass(frozen=True)
class World:
    """A handle on one world's files; cheap to make, it changes nothing.

    ``keep_home``: the world is a learner's (made by ``cnlab`` or the TUI), so its
    home lives beside the learner's progress and outlives resets, lesson changes
    and ``cnlab down``; other worlds (grading, proofs, scratch) keep theirs in the
    world's folder, gone with the world.
    """

    name: str
    keep_home: bool = field(default=False, compare=False)

    @property
    def dir(self) -> Path:
        return RUN_ROOT / self.name

    @property
    def mnt(self) -> Path:
        return self.dir / "mnt"

    @property
    def host(self) -> Path:
        return self.dir / "host"

    @property
    def inet(self) -> Path:
        return self.dir / "inet"

    @property
    def pidns(self) -> Path:
        """The world's PID namespace (its init is PID 1 there)."""
        return self.dir / "pid"

    @property
    def uts(self) -> Path:
        """The world's UTS namespace (its own host name)."""
        return self.dir / "uts"

    @property
    def pins(self) -> tuple[Path, ...]:
        """The bind mounts that keep the world's namespaces alive."""
        return (self.mnt, self.host, self.inet, self.pidns, self.uts)

    @property
    def home(self) -> Path:
        """The learner's home inside the world: its own, so that the real root's
        ~/.bashrc (pyenv, conda, ...) never runs in the lab's shells.

        Where a world was built is recorded in its meta, so any handle on it
        finds the same home; before it exists, ``keep_home`` decides.
        """
        recorded = self.read_meta().get("home")
        if isinstance(recorded, str) and recorded:
            return Path(recorded)
        if self.keep_home:
            return progress.STATE_ROOT / self.name / "home"
        return self.dir / "home"

    @property
    def meta_path(self) -> Path:
        return self.dir / "meta.json"

    @property
    def events_path(self) -> Path:
        """Commands typed and prompts shown in the world's shells, one per line."""
        return self.dir / "events"

    # ------------------------------------------------------------------ state

    def state(self) -> str:
        """``absent``, ``ready``, ``broken`` (left half-made or half-removed, or its
        init died), or ``elsewhere`` (made in another mount namespace, e.g. seen from
        inside a world: its namespaces cannot be seen from here, so never touch it).

        A world is ``ready`` only once its lesson's start state is complete too
        (see :meth:`create`'s ``status``): a build killed half-way is ``broken``.
        """
        if not self.dir.exists():
            return "absent"
        points = nsutil.mountpoints()
        ns_ok = all(points.get(str(p)) == "nsfs" for p in self.pins)
        meta = self.read_meta()
        if not ns_ok and not _made_here(meta):
            return "elsewhere"
        if ns_ok and meta.get("status") == "ready" and self.init_pid() is not None:
            return "ready"
        return "broken"

    def init_pid(self) -> int | None:
        """PID (as the real machine numbers it) of the world's init, if it is alive.

        The PID in the world's meta is trusted only if that process is PID 1 of the
        PID namespace pinned in the world's folder: a reused PID is never the init.
        """
        pid = self.read_meta().get("init_pid")
        if not isinstance(pid, int) or pid <= 1:
            return None
        ns = nsutil.ns_id(self.pidns)
        if ns is None or nsutil.ns_id(f"/proc/{pid}/ns/pid") != ns or not _alive(pid):
            return None
        return pid

    def read_meta(self) -> dict[str, object]:
        try:
            data = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_meta(self, **changes: object) -> None:
        meta = self.read_meta()
        meta.update(changes)
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        os.replace(tmp, self.meta_path)

    @property
    def lesson(self) -> str | None:
        value = self.read_meta().get("lesson")
        return value if isinstance(value, str) else None

    def require(self) -> World:
        """Return self if the world is ready; clean up a broken one and raise."""
        state = self.state()
        if state == "ready":
            return self
        if state == "elsewhere":
            raise LabError(_elsewhere(self.name))
        if state == "broken":
            self.destroy()
            raise WorldMissing(
                f"world {self.name!r} was left broken (a crash?) and has been cleaned up; "
                f"run `cnlab reset 1 --world {self.name}` to build it again"
            )
        hint = "" if self.name == "default" else f" --world {self.name}"
        raise WorldMissing(f"no world {self.name!r} yet: run `cnlab reset 1{hint}` first")

    # -------------------------------------------------------------- lifecycle

    def create(self, status: str = "ready") -> None:
        """Build a fresh world (any old one of this name is removed first).

        ``status`` is what the world's meta says once it is built: a caller that
        goes on to build more (a lesson's start state) passes another word and
        writes ``status="ready"`` when done, so that a crash in between leaves a
        world that :meth:`state` calls ``broken``, never a half-built ``ready`` one.
        """
        validate_name(self.name)
        self.destroy()  # also what is left of one whose folder was removed by hand
        RUN_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.mkdir(mode=0o700)
        try:
            self._build(status)
        except BaseException as exc:
            self.destroy()
            if isinstance(exc, MountsRefused) or (
                isinstance(exc, OSError) and exc.errno in (errno.EPERM, errno.EACCES)
            ):
                detail = exc.message if isinstance(exc, LabError) else str(exc)
                raise LabError(
                    f"could not create world {self.name!r} ({detail}): "
                    + preflight.why_mounts_fail(),
                ) from exc
            raise

    def _build(self, status: str) -> None:
        nsutil.make_private_mountpoint(self.dir)
        for path in self.pins:
            path.touch()
        (self.dir / "bin").mkdir()  # the helpers' tmpfs goes here, inside the world only
        for name in ("prompt.sh", "ps0.sh", "resolv.conf"):
            shutil.copy2(ASSETS / name, self.dir / name)
        home = self.home
        self.write_meta(
            name=self.name,
            status="building",
            created=time.time(),
            home=str(home),
            owner_mnt=list(nsutil.ns_id("/proc/self/ns/mnt") or ()),
        )
        self._seed_home(home)
        self._write_rc_files()
        self.events_path.touch()

        self._make_namespaces()
        _run(
            ["unshare", f"--net={self.inet}", "--", "ip", "-batch", "-"],
            "build the simulated internet",
            stdin=_INTERNET_BATCH.format(
                internet=INTERNET_ADDR, router=ROUTER_ADDR, host_file=self.host
            ),
        )
        _run(
            ["nsenter", f"--net={self.host}", "--", "ip", "-batch", "-"],
            "configure the world's eth0",
            stdin=_HOST_BATCH.format(host_addr=HOST_ADDR, router=ROUTER_ADDR),
        )
        dns = self._start_dns()
        self.write_meta(status=status, dns_pid=dns.pid)

    @staticmethod
    def _seed_home(home: Path) -> None:
        """Give the home what the lessons expect, never replacing what is there:
        the learner's own files and edits survive every rebuild."""
        home.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        home.mkdir(mode=0o755, exist_ok=True)
        for asset, name, mode in HOME_FILES:
            target = home / name
            if not target.exists() and not target.is_symlink():
                shutil.copyfile(ASSETS / asset, target)
                target.chmod(mode)

    def _write_rc_files(self) -> None:
        """The world's own /etc/profile, /etc/bash.bashrc and sh's $ENV file.

        They are bound over the machine's inside the world (see _world_mounts), so
        every shell the learner starts there (login or not, bash or sh, through
        sudo or su) keeps the helpers first in PATH and the lab's prompt, even
        when its environment was reset. ``bashrc`` is what the lab's own shells
        read (``bash --rcfile``): the world's bashrc, then the learner's.
        """
        etc = self.dir / "etc"
        etc.mkdir()
        exports = "".join(f"export {k}={_sh_quote(v)}\n" for k, v in self._shell_vars().items())
        exports += f'[ "${{HOME:-/root}}" = /root ] && export HOME={_sh_quote(str(self.home))}\n'
        profile_path = f"{self.dir / 'bin'}:{LOCAL_SBIN}:/usr/local/bin:{SYSTEM_PATH}"
        bashrc_path = (
            f'case ":$PATH:" in *":{LOCAL_SBIN}:"*) ;; '
            f'*) export PATH="{self.dir / "bin"}:{LOCAL_SBIN}:$PATH" ;; esac\n'
        )
        for name, extra in (
            ("profile", f"export PATH={profile_path}\n"),
            ("bash.bashrc", bashrc_path),
        ):
            text = (ASSETS / name).read_text(encoding="utf-8")
            (etc / name).write_text(text.replace("@EXPORTS@\n", exports + extra), encoding="utf-8")
        shutil.copy2(ASSETS / "shrc", etc / "shrc")
        (self.dir / "bashrc").write_text(
            f". {_sh_quote(str(etc / 'bash.bashrc'))}\n[ -f ~/.bashrc ] && . ~/.bashrc\n",
            encoding="utf-8",
        )

    def _make_namespaces(self) -> None:
        """Create the world's mount, network, UTS and PID namespaces and pin them.

        A forked builder unshares them, makes the world's own mounts with system
        calls (no shell, no mount processes: this is most of a reset's cost
        otherwise) and forks the world's init, PID 1 of the new PID namespace,
        which mounts the world's /proc and then becomes :mod:`lab.worldinit`. We
        bind the init's namespace files under the world's folder; the builder
        exits, the init stays (a PID namespace lives as long as its PID 1).

        The kernel refuses (``EINVAL``) to bind a mount namespace whose id is not
        above the binder's own (its guard against reference loops). Since 6.18
        namespace ids come from per-CPU batches, so inside a non-initial mount
        namespace (any container) a namespace made on "the wrong" CPU can get a
        lower id than ours, about half the time on 2 CPUs. Ids only grow on the
        CPU that made ours, so a refused namespace is dropped and made again on
        each CPU in turn.
        """
        helpers = {tool: (ASSETS / tool).read_bytes() for tool in HELPERS}
        cpus = sorted(os.sched_getaffinity(0))
        tries: list[int | None] = [None, *cpus, *cpus]
        for cpu in tries:
            if self._pin_fresh_namespaces(cpu, helpers):
                return
        raise LabError(
            f"could not create world {self.name!r}: the kernel refused {len(tries)} times"
            " to keep a new mount namespace (EINVAL from its namespace-loop check, seen"
            " inside containers); run cnlab in the machine's initial mount namespace"
        )

    def _pin_fresh_namespaces(self, cpu: int | None, helpers: dict[str, bytes]) -> bool:
        """One attempt, its namespaces made on ``cpu`` (any if None).

        False if the kernel refused to pin the new mount namespace (the init of
        that attempt is then ended)."""
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the builder: only system calls, then _exit
            os.close(ready_r)
            code = 1
            try:
                if cpu is not None:
                    os.sched_setaffinity(0, {cpu})
                os.write(ready_w, self._build_in_child(helpers))
                code = 0
            except BaseException as exc:
                with contextlib.suppress(OSError):
                    os.write(ready_w, b"E" + str(exc).encode(errors="replace")[:300])
            finally:
                os._exit(code)
        os.close(ready_w)
        try:
            answer = os.read(ready_r, 512)
        finally:
            os.close(ready_r)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        if not answer.startswith(b"k"):
            detail = answer[1:].decode(errors="replace") or "the helper died"
            raise MountsRefused(f"in a new namespace: {detail}")
        init = int(answer[1:])
        self.write_meta(init_pid=init)  # before anything can fail: destroy() ends it
        try:
            nsutil.mount(f"/proc/{init}/ns/mnt", self.mnt, None, nsutil.MS_BIND)
        except OSError as exc:
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)  # its namespaces go with it
            if exc.errno == errno.EINVAL:
                return False
            raise
        for kind, path in (("net", self.host), ("pid", self.pidns), ("uts", self.uts)):
            nsutil.mount(f"/proc/{init}/ns/{kind}", path, None, nsutil.MS_BIND)
        return True

    def _build_in_child(self, helpers: dict[str, bytes]) -> bytes:
        """In the builder: the world's namespaces and mounts, then its init; b"k<PID>"."""
        self._world_mounts(helpers)
        nsutil.unshare(nsutil.CLONE_NEWPID)  # for our children: the first is PID 1
        init_r, init_w = os.pipe()
        init = os.fork()
        if init == 0:
            os.close(init_r)
            self._become_init(init_w)  # never returns
        os.close(init_w)
        answer = os.read(init_r, 512)
        os.close(init_r)
        if answer != b"k":
            raise LabError((answer[1:] or b"the world's init died").decode(errors="replace"))
        return b"k%d" % init

    def _become_init(self, ready_w: int) -> None:
        """PID 1 of the world: mount the world's /proc, then exec the reaper."""
        try:
            os.setsid()
            os.chdir("/")
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):  # never hold the creator's terminal or pipes
                os.dup2(null, fd)
            self._proc_mounts()
            os.write(ready_w, b"k")
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.write(ready_w, b"E" + str(exc).encode(errors="replace")[:300])
            os._exit(1)
        try:
            os.closerange(3, 1 << 16)
            os.execv(sys.executable, [sys.executable, "-I", "-S", str(INIT_SCRIPT), self.name])
        finally:
            os._exit(1)

    @staticmethod
    def _proc_mounts() -> None:
        """In the world's init: a /proc of the world's PID namespace (``ps`` and
        ``pkill`` see only the world), read-only but for the per-namespace network
        knobs of /proc/sys/net (``ip_forward``) minus the machine-wide ones."""
        with contextlib.suppress(OSError):  # the machine's /proc and all below it: gone
            nsutil.umount("/proc")
        flags = nsutil.MS_NOSUID | nsutil.MS_NODEV | nsutil.MS_NOEXEC
        nsutil.mount("proc", "/proc", "proc", flags)
        nsutil.set_view("/proc/sys/net", readonly=False, bind=True)
        for knob in GLOBAL_NET_KNOBS:
            if os.path.exists(knob):
                nsutil.set_view(knob, readonly=True, bind=True)
        nsutil.set_view("/proc", readonly=True)

    def _world_mounts(self, helpers: dict[str, bytes]) -> None:
        """In a fresh process: new namespaces and the world's own mounts (see GUARD_LAYERS)."""
        nsutil.unshare(nsutil.CLONE_NEWNS | nsutil.CLONE_NEWNET | nsutil.CLONE_NEWUTS)
        nsutil.set_names(VM_HOSTNAME, VM_DOMAINNAME)
        nsutil.mount("none", "/", None, nsutil.MS_REC | nsutil.MS_PRIVATE)
        self._forget_other_worlds()
        self._mount_helpers(helpers)
        os.makedirs("/run/netns", mode=0o755, exist_ok=True)
        for _ in range(GUARD_LAYERS):
            nsutil.mount(
                f"cnlab-guard-{self.name}",
                "/run/netns",
                "tmpfs",
                nsutil.MS_RDONLY,
                "mode=0755,size=4k",
            )
        nsutil.mount(f"cnlab-netns-{self.name}", "/run/netns", "tmpfs", 0, "mode=0755,size=1m")
        # a sysfs of this network namespace, as `ip netns exec` makes one; read-only
        # (/sys/power, /sys/block... are the machine's) but for the world's own links
        nsutil.umount("/sys")
        nsutil.mount(
            "sysfs", "/sys", "sysfs", nsutil.MS_NOSUID | nsutil.MS_NODEV | nsutil.MS_NOEXEC
        )
        for path in ("/sys/class/net", "/sys/devices/virtual/net"):
            nsutil.set_view(path, readonly=False, bind=True)
        nsutil.set_view("/sys", readonly=True)
        with contextlib.suppress(OSError):  # e.g. a dangling systemd-resolved link
            nsutil.mount(str(self.dir / "resolv.conf"), "/etc/resolv.conf", None, nsutil.MS_BIND)
        with contextlib.suppress(OSError):  # scripts in the home run, even from a noexec /run
            home = str(self.home)
            nsutil.mount(home, home, None, nsutil.MS_BIND)
            nsutil.mount(
                "none",
                home,
                None,
                nsutil.MS_REMOUNT | nsutil.MS_BIND | nsutil.MS_NOSUID | nsutil.MS_NODEV,
            )
        for name in ("profile", "bash.bashrc"):  # the world's own, where the machine has one
            if os.path.isfile(f"/etc/{name}"):
                nsutil.mount(str(self.dir / "etc" / name), f"/etc/{name}", None, nsutil.MS_BIND)

    def _mount_helpers(self, helpers: dict[str, bytes]) -> None:
        """Put the learner's helpers first on every PATH a shell of the world may use.

        They live on a tmpfs of the world's own, mounted exec: a stock Debian
        mounts /run ``noexec``, so nothing could run from the world's folder.
        That tmpfs then covers /usr/local/sbin, first in every PATH that a login
        profile, ``su`` or the real sudo's ``secure_path`` sets (what the
        machine had there stays reachable through symlinks), and the helper
        ``sudo`` covers the real one, wherever it is installed. Inside the world
        only: the real machine's files are never changed.
        """
        bin_dir = self.dir / "bin"
        nsutil.mount(
            f"cnlab-bin-{self.name}",
            bin_dir,
            "tmpfs",
            nsutil.MS_NOSUID | nsutil.MS_NODEV,
            "mode=0755,size=1m",
        )
        for tool, content in helpers.items():
            fd = os.open(bin_dir / tool, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
            try:
                os.write(fd, content)
            finally:
                os.close(fd)
        if os.path.isdir(LOCAL_SBIN):
            kept = bin_dir / ".host"
            kept.mkdir()
            nsutil.mount(LOCAL_SBIN, kept, None, nsutil.MS_BIND)
            for entry in os.listdir(kept):
                if entry not in helpers:
                    os.symlink(f"{LOCAL_SBIN}/.host/{entry}", bin_dir / entry)
            nsutil.mount(str(bin_dir), LOCAL_SBIN, None, nsutil.MS_BIND | nsutil.MS_REC)
        for tool in STAND_INS:
            real = shutil.which(tool, path=SYSTEM_PATH)
            # never over a multi-call binary (busybox): its other tools would change too
            if real and os.path.basename(os.path.realpath(real)) == tool:
                nsutil.mount(str(bin_dir / tool), os.path.realpath(real), None, nsutil.MS_BIND)

    def _forget_other_worlds(self) -> None:
        """Detach every other world's folder (and the namespace files pinned in it)
        from this new mount namespace: nothing in one world can reach another's."""
        mine = str(self.dir)
        for point in sorted(nsutil.mountpoints(), key=len, reverse=True):
            if point.startswith(f"{RUN_ROOT}/") and not (
                point == mine or point.startswith(mine + "/")
            ):
                for _ in range(4):  # stacked mounts: one layer at a time
                    try:
                        nsutil.umount(point)
                    except OSError:  # none left, or gone with its parent already
                        break

    def _start_dns(self) -> subprocess.Popen[bytes]:
        """Start the internet's DNS responder on a socket bound before we return.

        Binding here (rather than in the new process, which needs ~40 ms to start
        Python) means a query sent right after creation waits in the socket's
        queue instead of being refused.
        """
        inet_fd = os.open(self.inet, os.O_RDONLY)
        mnt_fd = os.open(self.mnt, os.O_RDONLY)

        def enter() -> None:
            # the internet's network, and the world's mount namespace: found by the
            # world's named mounts even if the world's folder is removed by hand
            nsutil.setns(inet_fd, nsutil.CLONE_NEWNET)
            nsutil.setns(mnt_fd, nsutil.CLONE_NEWNS)

        try:
            sock = _bound_udp_socket(inet_fd, INTERNET_ADDR, 53)
            try:
                return subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        "-S",
                        str(Path(__file__).parent / "dnsd.py"),
                        "--fd",
                        str(sock.fileno()),
                        self.name,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(sock.fileno(),),
                    start_new_session=True,
                    preexec_fn=enter,
                )
            finally:
                sock.close()
        finally:
            os.close(inet_fd)
            os.close(mnt_fd)

    def destroy(self) -> None:
        """End every process inside the world and remove all of it. Idempotent.

        A world whose folder was removed by hand is still ended: its processes are
        found by the world's named mounts in their mount namespace. A world made in
        another mount namespace (seen from inside a world) is never touched.
        """
        if self.dir.exists() and self.state() == "elsewhere":
            raise LabError(_elsewhere(self.name))
        self.kill_processes()
        if not self.dir.exists():
            _remove_lock_if_free(self.name)
            return
        self._remove_ghosts()
        points = nsutil.mountpoints()
        for path in self.pins:
            if str(path) in points:
                with contextlib.suppress(OSError):
                    nsutil.umount(path)
        if str(self.dir) in nsutil.mountpoints():
            with contextlib.suppress(OSError):
                nsutil.umount(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        _remove_lock_if_free(self.name)

    def _remove_ghosts(self) -> None:
        """Remove what ``ip netns add`` left in the real /run/netns after the learner
        unmounted every tmpfs from the world's /run/netns.

        Inside the world such a namespace is a bind mount on the host's own
        directory, so the real host sees an empty file of that name (a "ghost"
        in its ``ip netns list``). Only files the world's mount table proves it
        made are removed: empty, not a mount point here.
        """
        if nsutil.mountpoints().get(str(self.mnt)) != "nsfs":
            return
        text = self.in_mount_ns(_read_mountinfo)
        if not isinstance(text, str):
            return
        mounts = {m.id: m for m in nsutil.parse_mountinfo(text)}
        here = nsutil.mountpoints()
        for m in mounts.values():
            if m.fstype != "nsfs" or os.path.dirname(m.point) != "/run/netns":
                continue
            parent = mounts.get(m.parent)
            if parent is not None and parent.source.startswith("cnlab-"):
                continue  # on the world's own tmpfs: invisible outside
            with contextlib.suppress(OSError):
                st = os.lstat(m.point)
                if m.point not in here and st.st_size == 0 and stat.S_ISREG(st.st_mode):
                    os.unlink(m.point)

    def namespace_ids(self) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
        """(net namespace ids, mount namespace ids) of this world, as (dev, inode).

        Never the real machine's own namespaces, whatever the learner links or
        bind-mounts into the world's /run/netns: ending "every process in the
        world" must never reach a process outside it.
        """
        points = nsutil.mountpoints()
        net: set[tuple[int, int]] = set()
        mnt: set[tuple[int, int]] = set()
        for path, bucket in ((self.host, net), (self.inet, net), (self.mnt, mnt)):
            if points.get(str(path)) == "nsfs":
                st = os.stat(path)
                bucket.add((st.st_dev, st.st_ino))
        if mnt:
            net.update(self._learner_netns_ids())
        return net - _outside_ids("net"), mnt - _outside_ids("mnt")

    def _learner_netns_ids(self) -> list[tuple[int, int]]:
        """Ids of the namespaces bind-mounted in the world's /run/netns (not other files)."""
        if nsutil.mountpoints().get(str(self.mnt)) != "nsfs":
            return []
        found = self.in_mount_ns(_netns_mount_ids)
        if not isinstance(found, list):
            return []
        return [(int(dev), int(ino)) for dev, ino in found]

    def in_mount_ns(self, fn: Callable[[int], object], timeout: float = 5.0) -> object:
        """``fn(proc_fd)`` run in a child inside the world's mount namespace; its
        JSON-able result, or None if it failed.

        The world's /proc shows only the world's PIDs, and this child is not one
        of them: ``proc_fd`` is the machine's /proc, opened before entering.
        """
        proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
        try:
            mnt_fd = os.open(self.mnt, os.O_RDONLY)
        except OSError:
            os.close(proc_fd)
            return None
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: enter, answer, _exit
            code = 1
            try:
                os.close(read_fd)
                nsutil.setns(mnt_fd, nsutil.CLONE_NEWNS)
                os.chdir("/")
                data = json.dumps(fn(proc_fd)).encode()
                with os.fdopen(write_fd, "wb") as fh:
                    fh.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        os.close(mnt_fd)
        os.close(proc_fd)
        chunks = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                ready = select.select([read_fd], [], [], max(0.0, left))[0]
                if not ready:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    return None
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(read_fd)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        try:
            result: object = json.loads(b"".join(chunks))
        except ValueError:
            return None
        return result

    def processes(self) -> list[int]:
        """PIDs inside this world, including those in a namespace the learner deleted
        (they are found by the world's named mounts in their mount namespace)."""
        net, mnt = self.namespace_ids()
        found = nsutil.processes_in(net, mnt)
        marks = {f"cnlab-netns-{self.name}", f"cnlab-guard-{self.name}"}
        found += [pid for pid in nsutil.processes_with_mount(marks) if pid not in found]
        return found

    def kill_processes(self) -> list[int]:
        """SIGKILL every process inside this world (its init first); return their PIDs."""
        pids = self.processes()
        init = self.init_pid() if self.dir.exists() else None
        if init is not None:
            pids = [init, *(pid for pid in pids if pid != init)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 2.0
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.002)
        return pids

    # ---------------------------------------------------------------- entering

    def _shell_vars(self) -> dict[str, str]:
        return {
            "CNLAB_WORLD": self.name,
            "CNLAB_DIR": str(self.dir),
            "PROMPT_COMMAND": '. "$CNLAB_DIR/prompt.sh"',
            "PS0": '$(. "$CNLAB_DIR/ps0.sh")',
            "HISTFILE": str(self.dir / "history"),
            "HISTCONTROL": "",
            "ENV": str(self.dir / "etc" / "shrc"),
        }

    def env(self, term: str | None = None) -> dict[str, str]:
        """The environment of a learner's shell inside this world."""
        env = {
            "PATH": f"{self.dir / 'bin'}:{LOCAL_SBIN}:/usr/local/bin:{SYSTEM_PATH}",
            "HOME": str(self.home),
            "USER": "root",
            "LOGNAME": "root",
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "TERM": term or os.environ.get("TERM", "xterm-256color"),
        }
        env.update(self._shell_vars())
        return env

    def learner_namespaces(self) -> list[str]:
        """Names in the world's /run/netns (what `ip netns list` shows inside)."""
        out = subprocess.run(
            ["nsenter", f"--mount={self.mnt}", "--", "ls", "-1", "/run/netns"],
            capture_output=True,
            text=True,
            errors="replace",  # a name is bytes: the learner may make any
            timeout=5,
            check=False,
        ).stdout
        return sorted(line for line in out.splitlines() if line)

    def enter_argv(self, ns: str | None = None) -> list[str]:
        """argv prefix that runs a command inside this world, in namespace ``ns``.

        Everything the lab runs as the learner enters the world's mount, PID and
        UTS namespaces: ``ps``/``pkill`` see only the world, ``hostname`` names
        only the world, and ``netns 1`` is the world's own init.
        """
        net = self.inet if ns == INTERNET_NS else self.host
        argv = [
            "nsenter",
            f"--mount={self.mnt}",
            f"--net={net}",
            f"--pid={self.pidns}",
            f"--uts={self.uts}",
            f"--wd={self.home}",
            "--",
        ]
        if ns in (None, HOST_NS, INTERNET_NS):
            return argv
        assert ns is not None
        if not NAME_RE.match(ns) or ns not in self.learner_namespaces():
            have = ", ".join([HOST_NS, INTERNET_NS, *self.learner_namespaces()])
            raise LabError(f"no namespace {ns!r} in world {self.name!r} (it has: {have})", 2)
        allowed = ",".join(f"{dev}:{ino}" for dev, ino in sorted(self.own_netns_ids()))
        return [*argv, sys.executable, "-I", "-S", str(NSGATE_SCRIPT), ns, allowed, "--"]

    def own_netns_ids(self) -> set[tuple[int, int]]:
        """The network namespaces the world made itself (its host, its internet and
        what ``ip netns add`` made in it): never the real machine's, nor another
        world's, whatever is linked or bind-mounted into the world's /run/netns."""
        net, _ = self.namespace_ids()
        points = nsutil.mountpoints()
        for other in list_worlds():
            for path in (World(other).host, World(other).inet):
                if other != self.name and points.get(str(path)) == "nsfs":
                    net.discard(nsutil.ns_id(path))
        return net

    def run(
        self,
        script: str,
        ns: str | None = None,
        timeout: float = 30.0,
        check: bool = False,
        shims: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run a bash script inside the world (non-interactively) and capture it.

        Output goes through temporary files rather than pipes, so a server the
        script leaves running in the background cannot keep this call waiting.
        ``shims=False`` leaves the learner's helpers (sudo, iptables...) out of
        PATH: lesson start scripts call the real tools, one process fewer each.
        """
        env = self.env()
        if not shims:
            env["PATH"] = SYSTEM_PATH
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.run(
                    [*self.enter_argv(ns), "bash", "-s"],
                    input=script.encode(),
                    stdout=out,
                    stderr=err,
                    env=env,
                    cwd=self.home,
                    timeout=timeout,
                    check=False,
                )
                code = proc.returncode
            except subprocess.TimeoutExpired:
                code = 124
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(
                proc.args if code != 124 else [],
                code,
                out.read().decode(errors="replace"),
                err.read().decode(errors="replace"),
            )
        if check and result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise LabError(
                f"a command failed in world {self.name!r} (exit {result.returncode})"
                + (f": {lines[-1]}" if lines else "")
            )
        return result


def _bound_udp_socket(netns_fd: int, address: str, port: int) -> socket.socket:
    """A UDP socket bound inside the network namespace open at ``netns_fd``.

    A socket belongs to the namespace it was created in, whatever thread later
    uses it; a short-lived thread enters the namespace, so this process stays put.
    """
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            nsutil.setns(netns_fd, nsutil.CLONE_NEWNET)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((address, port))
            made.append(sock)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if failed:
        raise LabError(f"could not start the simulated DNS server: {failed[0]}")
    return made[0]


def _read_mountinfo(proc_fd: int) -> str:
    """In a child inside a world's mount namespace: that namespace's mount table."""
    fd = os.open("self/mountinfo", os.O_RDONLY, dir_fd=proc_fd)
    with os.fdopen(fd, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def _netns_mount_ids(proc_fd: int) -> list[tuple[int, int]]:
    """In a child inside a world's mount namespace: (dev, inode) of each nsfs mount
    directly under /run/netns (the namespaces ``ip netns add`` made)."""
    ids = []
    for m in nsutil.parse_mountinfo(_read_mountinfo(proc_fd)):
        if m.fstype == "nsfs" and os.path.dirname(m.point) == "/run/netns":
            with contextlib.suppress(OSError):
                st = os.stat(m.point)
                ids.append((st.st_dev, st.st_ino))
    return ids


def inside_world() -> str | None:
    """The name of the world this process runs inside, or None on the real machine.

    Either mark is enough: PID 1 of our PID namespace is a world's init (the
    world's /proc is read-only, so its name cannot be changed from inside), or
    our mount table holds a world's named ``/run/netns`` mounts. Faking a mark
    only makes cnlab refuse to run; a process with no /proc at all counts as
    inside (the real machine always has one).
    """
    if not os.path.exists("/proc/self/mountinfo"):
        return "?"
    try:
        with open("/proc/1/comm", encoding="utf-8", errors="replace") as fh:
            comm = fh.read().strip()
        with open("/proc/1/cmdline", "rb") as fh:
            args = [a for a in fh.read().split(b"\0") if a]
    except OSError:
        comm, args = "", []
    if comm == INIT_NAME and args:
        return args[-1].decode(errors="replace")
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
        for m in nsutil.parse_mountinfo(fh.read()):
            for mark in ("cnlab-netns-", "cnlab-guard-"):
                if m.source.startswith(mark) and m.fstype == "tmpfs":
                    return m.source[len(mark) :]
    return None


def _made_here(meta: dict[str, object]) -> bool:
    """True unless the world's meta says it was made in another mount namespace."""
    owner = meta.get("owner_mnt")
    if not isinstance(owner, list) or len(owner) != 2:
        return True
    if tuple(owner) == nsutil.ns_id("/proc/self/ns/mnt"):
        return True
    if inside_world() is not None:
        return False  # from inside a world, the real machine's processes are invisible
    # made in a mount namespace that no process holds any more (a container that
    # was stopped): nobody else can clean it, so it is ours to clean
    return not any(
        nsutil.ns_id(f"/proc/{e.name}/ns/mnt") == tuple(owner)
        for e in os.scandir("/proc")
        if e.name.isdigit()
    )


def _elsewhere(name: str) -> str:
    return (
        f"world {name!r} was made in another mount namespace (are you inside a lab shell?);"
        " run cnlab from the machine's own shell, where the world was made"
    )


def _outside_ids(kind: str) -> set[tuple[int, int]]:
    """The namespaces of this process and of PID 1: the real machine's, never a world's."""
    ids = set()
    for pid in ("self", "1"):
        ident = nsutil.ns_id(f"/proc/{pid}/ns/{kind}")
        if ident is not None:
            ids.add(ident)
    return ids


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _run(argv: list[str], what: str, stdin: str | None = None) -> None:
    result = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise LabError(
            f"could not {what}: {detail[-1] if detail else 'exit ' + str(result.returncode)}"
        )


def list_worlds() -> list[str]:
    if not RUN_ROOT.is_dir():
        return []
    return sorted(p.name for p in RUN_ROOT.iterdir() if p.is_dir() and NAME_RE.match(p.name))


def lock_path(name: str) -> Path:
    return RUN_ROOT / f"{name}.lock"


def _remove_lock_if_free(name: str) -> None:
    """Remove the world's lock file unless someone (this process included) holds it."""
    path = lock_path(name)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink(missing_ok=True)  # a waiter on this inode notices and retries
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(name: str, exclusive: bool = True, wait: float = 30.0) -> Iterator[None]:
    """Hold the world's lock; say who is waiting rather than corrupting it.

    `cnlab down` removes the lock file while holding it; a waiter that then gets
    the lock on the removed file notices (the inode changed) and tries again.
    """
    RUN_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = lock_path(name)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + wait
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if not told:
                print(
                    f"cnlab: world {name!r} is busy with another cnlab command; waiting...",
                    file=sys.stderr,
                )
                told = True
            if time.monotonic() > deadline:
                raise WorldBusy(
                    f"world {name!r} stayed busy for {wait:.0f} s; try again later"
                ) from None
            time.sleep(0.05)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        if exclusive and not (RUN_ROOT / name).exists():
            path.unlink(missing_ok=True)  # no world (a failed build): no lock file either
        os.close(fd)
