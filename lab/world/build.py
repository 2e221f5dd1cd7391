"""Building a world: namespaces, mounts, an init, a simulated internet, a DNS server.

::

    create(w)
      folder /run/cnlab/<w> (private mount point), meta.json status "building"
      home seeded, the world's /etc/profile and bash.bashrc written
      a forked builder:  unshare(mnt, net, uts)
                         mounts: /run/netns tmpfs over read-only guards, a sysfs of
                         the new netns, resolv.conf, helpers over /usr/local/sbin
                         unshare(pid) -> fork: the world's init (PID 1), own /proc
      pins: bind /proc/INIT/ns/{mnt,net,pid,uts} under the folder
      internet netns: unshare --net=W/inet; eth0 10.0.2.2/24 <-veth-> host eth0
                      10.0.2.15/24, 8.8.8.8 on lo, default route via 10.0.2.2
      DNS on 8.8.8.8:53, a web server on 8.8.8.8:80 (sockets bound here, before we
      return); /etc/passwd and /etc/group of its own, with the unprivileged learner
      meta.json status "ready" (or the caller's word; it writes "ready" later)

A build that fails half-way is destroyed; one killed half-way leaves a world whose
status is not ``ready``, which the next command cleans up.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from lab import childwait, nsutil, preflight
from lab.errors import LabError
from lab.i18n import _
from lab.names import validate_name
from lab.world.paths import (
    ASSETS,
    DNSD_SCRIPT,
    GRADED_HELPERS,
    HELPERS,
    HOST_ADDR,
    INIT_SCRIPT,
    INTERNET_ADDR,
    LEARNER,
    LEARNER_FIRST_ID,
    LOCAL_SBIN,
    ROUTER_ADDR,
    RUN_ROOT,
    STAND_INS,
    SYSTEM_PATH,
    WEB_PORT,
    WorldPaths,
)
from lab.world.shell import nsenter_argv, sh_quote, shell_vars
from lab.world.teardown import destroy

#: (asset, name in the learner's home, mode): added when missing, never replaced.
HOME_FILES = (
    ("home.bashrc", ".bashrc", 0o644),
    ("home.profile", ".profile", 0o644),
    ("inspect-net-stack.sh", "inspect-net-stack.sh", 0o755),
)

#: The world's UTS name: the article's VM is ``vagrant@localhost``.
VM_HOSTNAME = "localhost"
VM_DOMAINNAME = "(none)"
#: Global knobs under /proc/sys/net: one write changes the whole machine.
GLOBAL_NET_KNOBS = ("/proc/sys/net/netfilter/nf_hooks_lwtunnel",)

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


def create(w: WorldPaths, status: str = "ready", graded: bool = False) -> None:
    """Build a fresh world (any old one of this name is removed first).

    ``status`` is what the world's meta says once it is built: a caller that
    goes on to build more (a lesson's start state) passes another word and
    writes ``status="ready"`` when done, so that a crash in between leaves a
    world that :func:`lab.world.teardown.state` calls ``broken``, never a
    half-built ``ready`` one.

    ``graded``: a world that replays a submission for ``cnlab grade``; it also
    has :data:`GRADED_HELPERS` first on its PATH.
    """
    validate_name(w.name)
    destroy(w)  # also what is left of one whose folder was removed by hand
    RUN_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    w.dir.mkdir(mode=0o700)
    try:
        _build(w, status, graded)
    except BaseException as exc:
        destroy(w)
        if isinstance(exc, MountsRefused) or (
            isinstance(exc, OSError) and exc.errno in (errno.EPERM, errno.EACCES)
        ):
            detail = exc.message if isinstance(exc, LabError) else str(exc)
            raise LabError(
                _("could not create world {w_name!r} ({detail}): ").format(
                    w_name=w.name, detail=detail
                )
                + preflight.why_mounts_fail(),
            ) from exc
        raise


def _build(w: WorldPaths, status: str, graded: bool) -> None:
    nsutil.make_private_mountpoint(w.dir)
    for path in w.pins:
        path.touch()
    (w.dir / "bin").mkdir()  # the helpers' tmpfs goes here, inside the world only
    for name in ("prompt.sh", "ps0.sh", "record.sh", "resolv.conf"):
        shutil.copy2(ASSETS / name, w.dir / name)
    home = w.home
    w.write_meta(
        name=w.name,
        status="building",
        created=time.time(),
        home=str(home),
        owner_mnt=list(nsutil.ns_id("/proc/self/ns/mnt") or ()),
    )
    seed_home(home)
    _write_rc_files(w)
    _write_users(w, home)
    w.events_path.touch()
    # the learner's shells record their commands too (the folder itself is root's, 0700)
    w.events_path.chmod(0o666)

    _make_namespaces(w, graded)
    # what `readlink /proc/self/ns/net` prints in the host's namespace: the prompt tells
    # it from a namespace no name leads to (unshare --net, a rootless one: [unnamed])
    (w.dir / "hostnet").write_text(f"net:[{os.stat(w.host).st_ino}]\n", encoding="ascii")
    _run(
        ["unshare", f"--net={w.inet}", "--", "ip", "-batch", "-"],
        "build the simulated internet",
        stdin=_INTERNET_BATCH.format(internet=INTERNET_ADDR, router=ROUTER_ADDR, host_file=w.host),
    )
    _run(
        [*nsenter_argv(net=w.host), "ip", "-batch", "-"],
        "configure the world's eth0",
        stdin=_HOST_BATCH.format(host_addr=HOST_ADDR, router=ROUTER_ADDR),
    )
    dns = _start_dns(w)
    w.write_meta(status=status, dns_pid=dns.pid)


def seed_home(home: Path) -> None:
    """Give the home what the lessons expect, never replacing what is there:
    the learner's own files and edits survive every rebuild."""
    home.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.mkdir(mode=0o755, exist_ok=True)
    for asset, name, mode in HOME_FILES:
        target = home / name
        if not target.exists() and not target.is_symlink():
            shutil.copyfile(ASSETS / asset, target)
            target.chmod(mode)


def _write_users(w: WorldPaths, home: Path) -> None:
    """The world's /etc/passwd and /etc/group: the machine's plus :data:`LEARNER`.

    Bound over the machine's inside the world only (see _world_mounts). The
    learner's home is kept beside the world's home (it outlives resets too);
    inside the world it is /home/learner (see the ``aslearner`` helper).
    """
    etc = w.dir / "etc"
    passwd = _read_text("/etc/passwd")
    group = _read_text("/etc/group")
    ident = free_id(passwd, group)
    (etc / "passwd").write_text(
        passwd + f"{LEARNER}:x:{ident}:{ident}:cnlab learner:/home/{LEARNER}:/bin/bash\n",
        encoding="utf-8",
    )
    (etc / "group").write_text(group + f"{LEARNER}:x:{ident}:\n", encoding="utf-8")
    learner_home = home.parent / LEARNER
    learner_home.mkdir(mode=0o755, exist_ok=True)
    try:
        os.chown(learner_home, ident, ident)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        # The root of a user namespace that maps only itself (a rootless container) has
        # no uid to give: the same refusal as its mounts, said the same way by create().
        raise PermissionError(
            errno.EPERM, f"uid {ident} for the learner is not mapped in this user namespace"
        ) from exc
    w.write_meta(learner_uid=ident, learner_home=str(learner_home))


def _read_text(path: str) -> str:
    """A text file of the machine ("" if missing), ending with a newline if not empty."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text if not text or text.endswith("\n") else text + "\n"


def free_id(passwd: str, group: str, first: int = LEARNER_FIRST_ID) -> int:
    """The first number from ``first`` up that is neither a uid in ``passwd`` nor a gid
    in ``group`` (both in /etc/passwd and /etc/group format)."""
    used = set()
    for text, column in ((passwd, 2), (group, 2), (passwd, 3)):
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) > column and fields[column].isdigit():
                used.add(int(fields[column]))
    ident = first
    while ident in used:
        ident += 1
    return ident


def _write_rc_files(w: WorldPaths) -> None:
    """The world's own /etc/profile, /etc/bash.bashrc and sh's $ENV file.

    They are bound over the machine's inside the world (see _world_mounts), so
    every shell the learner starts there (login or not, bash or sh, through
    sudo or su) keeps the helpers first in PATH and the lab's prompt, even
    when its environment was reset. ``bashrc`` is what the lab's own shells
    read (``bash --rcfile``): the world's bashrc, then the learner's.
    """
    etc = w.dir / "etc"
    etc.mkdir()
    exports = "".join(f"export {k}={sh_quote(v)}\n" for k, v in shell_vars(w).items())
    exports += f'[ "${{HOME:-/root}}" = /root ] && export HOME={sh_quote(str(w.home))}\n'
    profile_path = f"{w.dir / 'bin'}:{LOCAL_SBIN}:/usr/local/bin:{SYSTEM_PATH}"
    bashrc_path = (
        f'case ":$PATH:" in *":{LOCAL_SBIN}:"*) ;; '
        f'*) export PATH="{w.dir / "bin"}:{LOCAL_SBIN}:$PATH" ;; esac\n'
    )
    for name, extra in (
        ("profile", f"export PATH={profile_path}\n"),
        ("bash.bashrc", bashrc_path),
    ):
        text = (ASSETS / name).read_text(encoding="utf-8")
        (etc / name).write_text(text.replace("@EXPORTS@\n", exports + extra), encoding="utf-8")
    shutil.copy2(ASSETS / "shrc", etc / "shrc")
    (w.dir / "bashrc").write_text(
        f". {sh_quote(str(etc / 'bash.bashrc'))}\n[ -f ~/.bashrc ] && . ~/.bashrc\n",
        encoding="utf-8",
    )


def _make_namespaces(w: WorldPaths, graded: bool = False) -> None:
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
    tools = HELPERS + (GRADED_HELPERS if graded else ())
    helpers = {tool: (ASSETS / tool).read_bytes() for tool in tools}
    meta = w.read_meta()
    for key, value in (
        ("@LEARNER@", LEARNER),
        ("@UID@", str(meta["learner_uid"])),
        ("@GID@", str(meta["learner_uid"])),
        ("@HOME@", sh_quote(str(meta["learner_home"]))),
    ):
        helpers["aslearner"] = helpers["aslearner"].replace(key.encode(), value.encode())
    cpus = sorted(os.sched_getaffinity(0))
    tries: list[int | None] = [None, *cpus, *cpus]
    for cpu in tries:
        if _pin_fresh_namespaces(w, cpu, helpers):
            return
    raise LabError(
        _(
            "could not create world {w_name!r}: the kernel refused {count} times to keep a "
            "new mount namespace (EINVAL from its namespace-loop check, seen inside "
            "containers); run cnlab in the machine's initial mount namespace"
        ).format(w_name=w.name, count=len(tries))
    )


def _pin_fresh_namespaces(w: WorldPaths, cpu: int | None, helpers: dict[str, bytes]) -> bool:
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
            os.write(ready_w, _build_in_child(w, helpers))
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
    w.write_meta(init_pid=init)  # before anything can fail: destroy() ends it
    try:
        nsutil.mount(f"/proc/{init}/ns/mnt", w.mnt, None, nsutil.MS_BIND)
    except OSError as exc:
        with contextlib.suppress(ProcessLookupError):
            os.kill(init, signal.SIGKILL)  # its namespaces go with it
        if exc.errno == errno.EINVAL:
            return False
        raise
    for kind, path in (("net", w.host), ("pid", w.pidns), ("uts", w.uts)):
        nsutil.mount(f"/proc/{init}/ns/{kind}", path, None, nsutil.MS_BIND)
    return True


def _build_in_child(w: WorldPaths, helpers: dict[str, bytes]) -> bytes:
    """In the builder: the world's namespaces and mounts, then its init; b"k<PID>"."""
    _world_mounts(w, helpers)
    nsutil.unshare(nsutil.CLONE_NEWPID)  # for our children: the first is PID 1
    init_r, init_w = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(init_r)
        _become_init(w, init_w)  # never returns
    os.close(init_w)
    answer = os.read(init_r, 512)
    os.close(init_r)
    if answer != b"k":
        raise LabError((answer[1:] or b"the world's init died").decode(errors="replace"))
    return b"k%d" % init


def _become_init(w: WorldPaths, ready_w: int) -> None:
    """PID 1 of the world: mount the world's /proc, then exec the reaper."""
    try:
        os.setsid()
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # never hold the creator's terminal or pipes
            os.dup2(null, fd)
        _proc_mounts()
        os.write(ready_w, b"k")
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.write(ready_w, b"E" + str(exc).encode(errors="replace")[:300])
        os._exit(1)
    try:
        os.closerange(3, 1 << 16)
        os.execv(sys.executable, [sys.executable, "-I", "-S", str(INIT_SCRIPT), w.name])
    finally:
        os._exit(1)


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


def _world_mounts(w: WorldPaths, helpers: dict[str, bytes]) -> None:
    """In a fresh process: new namespaces and the world's own mounts (see GUARD_LAYERS)."""
    nsutil.unshare(nsutil.CLONE_NEWNS | nsutil.CLONE_NEWNET | nsutil.CLONE_NEWUTS)
    nsutil.set_names(VM_HOSTNAME, VM_DOMAINNAME)
    nsutil.mount("none", "/", None, nsutil.MS_REC | nsutil.MS_PRIVATE)
    _forget_other_worlds(w)
    _mount_helpers(w, helpers)
    os.makedirs("/run/netns", mode=0o755, exist_ok=True)
    for _layer in range(GUARD_LAYERS):
        nsutil.mount(
            f"cnlab-guard-{w.name}",
            "/run/netns",
            "tmpfs",
            nsutil.MS_RDONLY,
            "mode=0755,size=4k",
        )
    nsutil.mount(f"cnlab-netns-{w.name}", "/run/netns", "tmpfs", 0, "mode=0755,size=1m")
    # a sysfs of this network namespace, as `ip netns exec` makes one; read-only
    # (/sys/power, /sys/block... are the machine's) but for the world's own links
    nsutil.umount("/sys")
    nsutil.mount("sysfs", "/sys", "sysfs", nsutil.MS_NOSUID | nsutil.MS_NODEV | nsutil.MS_NOEXEC)
    for path in ("/sys/class/net", "/sys/devices/virtual/net"):
        nsutil.set_view(path, readonly=False, bind=True)
    nsutil.set_view("/sys", readonly=True)
    with contextlib.suppress(OSError):  # e.g. a dangling systemd-resolved link
        nsutil.mount(str(w.dir / "resolv.conf"), "/etc/resolv.conf", None, nsutil.MS_BIND)
    with contextlib.suppress(OSError):  # scripts in the home run, even from a noexec /run
        home = str(w.home)
        nsutil.mount(home, home, None, nsutil.MS_BIND)
        nsutil.mount(
            "none",
            home,
            None,
            nsutil.MS_REMOUNT | nsutil.MS_BIND | nsutil.MS_NOSUID | nsutil.MS_NODEV,
        )
    for name in ("passwd", "group"):  # the machine's users, and the learner
        if os.path.isfile(f"/etc/{name}"):
            nsutil.mount(str(w.dir / "etc" / name), f"/etc/{name}", None, nsutil.MS_BIND)
    for name in ("profile", "bash.bashrc"):  # the world's own, where the machine has one
        if os.path.isfile(f"/etc/{name}"):
            nsutil.mount(str(w.dir / "etc" / name), f"/etc/{name}", None, nsutil.MS_BIND)


def _mount_helpers(w: WorldPaths, helpers: dict[str, bytes]) -> None:
    """Put the learner's helpers first on every PATH a shell of the world may use.

    They live on a tmpfs of the world's own, mounted exec: a stock Debian
    mounts /run ``noexec``, so nothing could run from the world's folder.
    That tmpfs then covers /usr/local/sbin, first in every PATH that a login
    profile, ``su`` or the real sudo's ``secure_path`` sets (what the
    machine had there stays reachable through symlinks), and the helper
    ``sudo`` covers the real one, wherever it is installed. Inside the world
    only: the real machine's files are never changed.
    """
    bin_dir = w.dir / "bin"
    nsutil.mount(
        f"cnlab-bin-{w.name}",
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


def _forget_other_worlds(w: WorldPaths) -> None:
    """Detach every other world's folder (and the namespace files pinned in it)
    from this new mount namespace: nothing in one world can reach another's."""
    mine = str(w.dir)
    for point in sorted(nsutil.mountpoints(), key=len, reverse=True):
        if point.startswith(f"{RUN_ROOT}/") and not (point == mine or point.startswith(mine + "/")):
            for _layer in range(4):  # stacked mounts: one layer at a time
                try:
                    nsutil.umount(point)
                except OSError:  # none left, or gone with its parent already
                    break


def _start_dns(w: WorldPaths) -> subprocess.Popen[bytes]:
    """Start the internet's services (DNS on 8.8.8.8:53, a web server on 8.8.8.8:80)
    on sockets bound before we return.

    Binding here (rather than in the new process, which needs ~40 ms to start
    Python) means a query sent right after creation waits in the socket's
    queue instead of being refused.
    """
    inet_fd = os.open(w.inet, os.O_RDONLY)
    mnt_fd = os.open(w.mnt, os.O_RDONLY)

    def enter() -> None:
        # the internet's network, and the world's mount namespace: found by the
        # world's named mounts even if the world's folder is removed by hand
        nsutil.setns(inet_fd, nsutil.CLONE_NEWNET)
        nsutil.setns(mnt_fd, nsutil.CLONE_NEWNS)

    try:
        sock = _bound_socket(inet_fd, INTERNET_ADDR, 53, socket.SOCK_DGRAM)
        web = _bound_socket(inet_fd, INTERNET_ADDR, WEB_PORT, socket.SOCK_STREAM)
        try:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    str(DNSD_SCRIPT),
                    "--fd",
                    str(sock.fileno()),
                    "--http-fd",
                    str(web.fileno()),
                    w.name,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(sock.fileno(), web.fileno()),
                start_new_session=True,
                preexec_fn=enter,
            )
        finally:
            sock.close()
            web.close()
    finally:
        os.close(inet_fd)
        os.close(mnt_fd)


def _bound_socket(netns_fd: int, address: str, port: int, kind: int) -> socket.socket:
    """A socket bound (and, for TCP, listening) inside the network namespace open at
    ``netns_fd``.

    A socket belongs to the namespace it was created in, whatever thread later
    uses it; a short-lived thread enters the namespace, so this process stays put.
    """
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            nsutil.setns(netns_fd, nsutil.CLONE_NEWNET)
            sock = socket.socket(socket.AF_INET, kind)
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            if kind == socket.SOCK_STREAM:
                sock.listen(64)
            made.append(sock)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if failed:
        raise LabError(
            _("could not start the simulated internet's services: {failed_0}").format(
                failed_0=failed[0]
            )
        )
    return made[0]


def _run(argv: list[str], what: str, stdin: str | None = None) -> None:
    """Run a building tool (its output in a file), seen to end on a pidfd (lab.childwait)."""
    with childwait.scratch_file() as out:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
        try:
            code = childwait.communicate(proc, (stdin or "").encode(), 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = 124
        if code != 0:
            out.seek(0)
            detail = out.read().decode(errors="replace").strip().splitlines()
            raise LabError(f"could not {what}: {detail[-1] if detail else 'exit ' + str(code)}")
