"""Finding what belongs to a world, and removing all of it.

A world is more than its folder: processes the learner started (a server left in
the background, a shell in ``ip netns exec``) keep its namespaces alive after every
file is gone. So a world's processes are found the way the kernel knows them, by the
identity (device, inode) of the namespaces in ``/proc/PID/ns/net`` and ``ns/mnt``::

    world's pins  host, inet, mnt  ──┐
    world's /run/netns (learner's)  ─┼─> (dev, inode) ids ─> every /proc/PID whose
                                     │                        ns/net or ns/mnt matches
    world's named tmpfs mounts  ─────┘   (``cnlab-netns-<world>``: found even after the
                                          learner deleted the namespace it was in)

Never the real machine's own namespaces (this process's and PID 1's are taken out of
every set), whatever the learner links or bind-mounts into the world: ending "every
process in the world" must never reach a process outside it.

:func:`state` says what is left of a world (``absent``, ``ready``, ``broken``,
``elsewhere``); :func:`destroy` ends the processes, removes what ``ip netns add``
left on the real host, unmounts the pins and removes the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import stat
import time
from collections.abc import Callable

from lab import nsutil
from lab.errors import LabError
from lab.i18n import _
from lab.world.lock import remove_lock_if_free
from lab.world.paths import INIT_NAME, WorldPaths


def state(w: WorldPaths) -> str:
    """``absent``, ``ready``, ``broken`` (left half-made or half-removed, or its
    init died), or ``elsewhere`` (made in another mount namespace, e.g. seen from
    inside a world: its namespaces cannot be seen from here, so never touch it).

    A world is ``ready`` only once its lesson's start state is complete too
    (see :func:`lab.world.build.create`'s ``status``): a build killed half-way is
    ``broken``.
    """
    if not w.dir.exists():
        return "absent"
    points = nsutil.mountpoints()
    ns_ok = all(points.get(str(p)) == "nsfs" for p in w.pins)
    meta = w.read_meta()
    if not ns_ok and not made_here(meta):
        return "elsewhere"
    if ns_ok and meta.get("status") == "ready" and init_pid(w) is not None:
        return "ready"
    return "broken"


def init_pid(w: WorldPaths) -> int | None:
    """PID (as the real machine numbers it) of the world's init, if it is alive.

    The PID in the world's meta is trusted only if that process is PID 1 of the
    PID namespace pinned in the world's folder: a reused PID is never the init.
    """
    pid = w.read_meta().get("init_pid")
    if not isinstance(pid, int) or pid <= 1:
        return None
    ns = nsutil.ns_id(w.pidns)
    if ns is None or nsutil.ns_id(f"/proc/{pid}/ns/pid") != ns or not alive(pid):
        return None
    return pid


def destroy(w: WorldPaths) -> None:
    """End every process inside the world and remove all of it. Idempotent.

    A world whose folder was removed by hand is still ended: its processes are
    found by the world's named mounts in their mount namespace. A world made in
    another mount namespace (seen from inside a world) is never touched.
    """
    if w.dir.exists() and state(w) == "elsewhere":
        raise LabError(elsewhere(w.name))
    kill_processes(w)
    if not w.dir.exists():
        remove_lock_if_free(w.name)
        return
    _remove_ghosts(w)
    points = nsutil.mountpoints()
    for path in w.pins:
        if str(path) in points:
            with contextlib.suppress(OSError):
                nsutil.umount(path)
    if str(w.dir) in nsutil.mountpoints():
        with contextlib.suppress(OSError):
            nsutil.umount(w.dir)
    shutil.rmtree(w.dir, ignore_errors=True)
    remove_lock_if_free(w.name)


def _remove_ghosts(w: WorldPaths) -> None:
    """Remove what ``ip netns add`` left in the real /run/netns after the learner
    unmounted every tmpfs from the world's /run/netns.

    Inside the world such a namespace is a bind mount on the host's own
    directory, so the real host sees an empty file of that name (a "ghost"
    in its ``ip netns list``). Only files the world's mount table proves it
    made are removed: empty, not a mount point here.
    """
    if nsutil.mountpoints().get(str(w.mnt)) != "nsfs":
        return
    text = in_mount_ns(w, _read_mountinfo)
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


def namespace_ids(w: WorldPaths) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(net namespace ids, mount namespace ids) of this world, as (dev, inode).

    Never the real machine's own namespaces, whatever the learner links or
    bind-mounts into the world's /run/netns: ending "every process in the
    world" must never reach a process outside it.
    """
    points = nsutil.mountpoints()
    net: set[tuple[int, int]] = set()
    mnt: set[tuple[int, int]] = set()
    for path, bucket in ((w.host, net), (w.inet, net), (w.mnt, mnt)):
        if points.get(str(path)) == "nsfs":
            st = os.stat(path)
            bucket.add((st.st_dev, st.st_ino))
    if mnt:
        net.update(_learner_netns_ids(w))
    return net - _outside_ids("net"), mnt - _outside_ids("mnt")


def _learner_netns_ids(w: WorldPaths) -> list[tuple[int, int]]:
    """Ids of the namespaces bind-mounted in the world's /run/netns (not other files)."""
    if nsutil.mountpoints().get(str(w.mnt)) != "nsfs":
        return []
    found = in_mount_ns(w, _netns_mount_ids)
    if not isinstance(found, list):
        return []
    return [(int(dev), int(ino)) for dev, ino in found]


def in_mount_ns(w: WorldPaths, fn: Callable[[int], object], timeout: float = 5.0) -> object:
    """``fn(proc_fd)`` run in a child inside the world's mount namespace; its
    JSON-able result, or None if it failed.

    The world's /proc shows only the world's PIDs, and this child is not one
    of them: ``proc_fd`` is the machine's /proc, opened before entering.
    """
    proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    try:
        mnt_fd = os.open(w.mnt, os.O_RDONLY)
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


def processes(w: WorldPaths) -> list[int]:
    """PIDs inside this world, including those in a namespace the learner deleted
    (they are found by the world's named mounts in their mount namespace)."""
    net, mnt = namespace_ids(w)
    found = nsutil.processes_in(net, mnt)
    marks = {f"cnlab-netns-{w.name}", f"cnlab-guard-{w.name}"}
    found += [pid for pid in nsutil.processes_with_mount(marks) if pid not in found]
    return found


def kill_processes(w: WorldPaths) -> list[int]:
    """SIGKILL every process inside this world (its init first); return their PIDs."""
    pids = processes(w)
    init = init_pid(w) if w.dir.exists() else None
    if init is not None:
        pids = [init, *(pid for pid in pids if pid != init)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    for pid in pids:
        while alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.002)
    return pids


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


def made_here(meta: dict[str, object]) -> bool:
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


def elsewhere(name: str) -> str:
    """Why a world made in another mount namespace is not touched from here."""
    return _(
        "world {name!r} was made in another mount namespace (are you inside a lab "
        "shell?); run cnlab from the machine's own shell, where the world was made"
    ).format(name=name)


def _outside_ids(kind: str) -> set[tuple[int, int]]:
    """The namespaces of this process and of PID 1: the real machine's, never a world's."""
    ids = set()
    for pid in ("self", "1"):
        ident = nsutil.ns_id(f"/proc/{pid}/ns/{kind}")
        if ident is not None:
            ids.add(ident)
    return ids


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
