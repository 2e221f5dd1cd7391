"""Run a Python function inside one of a world's network namespaces.

``setns(2)`` changes the namespace of the calling thread for good, so the work
is done in a forked child: it enters the world's mount namespace (where the
learner's ``/run/netns/NAME`` files live), then the network namespace, runs the
function, and sends the pickled result back through a pipe. A fork of a process
that has already imported pyroute2 costs a few milliseconds, far less
than starting a new interpreter.

Call this from a single-threaded process (the CLI, the check server): forking a
process with running threads is not safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import select
import signal
import stat
import struct
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from lab import nsutil
from lab.world import HOST_NS, INTERNET_NS, World

T = TypeVar("T")


class NamespaceGone(Exception):
    """The namespace asked for does not exist in the world."""


class InNsError(Exception):
    """The function failed inside the namespace (the child's traceback is the message)."""


@dataclass
class Pending:
    """A child started by :func:`start`; collect it with :func:`collect`."""

    pid: int
    read_fd: int
    ns: str


class NotTheWorlds(NamespaceGone):
    """The name leads outside the world (e.g. a symlink to the real host's namespace)."""


NSFS_MAGIC = 0x6E736673
#: ``pid:N`` names the network namespace of the world's process N (as the machine
#: numbers it): an unnamed one, e.g. a rootless namespace only a process holds.
PROCESS_PREFIX = "pid:"
NETNS_DIR = "/run/netns"
#: At most this many learner namespaces are read (a lesson uses a handful).
MAX_LEARNER_NAMESPACES = 64

_libc = ctypes.CDLL(None, use_errno=True)


def fs_type(fd: int) -> int:
    """The file-system magic number of open file ``fd`` (``fstatfs(2)``'s ``f_type``)."""
    buf = ctypes.create_string_buffer(256)  # struct statfs; f_type is its first word
    if _libc.fstatfs(fd, buf) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(struct.unpack_from("l", buf.raw)[0])


def open_entry(dir_fd: int, name: str) -> int:
    """An ``O_PATH`` descriptor of ``/run/netns/NAME`` if it is a namespace file, else -1.

    Only a namespace bind-mounted right there counts: never a symbolic link (the
    final name is not followed), a FIFO or a device (an ``O_PATH`` open does not
    read, so a FIFO cannot block us), nor a plain file. The grader runs this as
    root outside the sandbox, on names a submission chose.
    """
    if "/" in name or name in ("", ".", ".."):
        return -1
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return -1
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode) and fs_type(fd) == NSFS_MAGIC:
            return fd
    except OSError:
        pass
    os.close(fd)
    return -1


def _open_netns_dir() -> int:
    return os.open(NETNS_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def namespace_entries() -> list[str]:
    """Names in this mount namespace's /run/netns that are namespace files (see
    :func:`open_entry`), sorted, at most :data:`MAX_LEARNER_NAMESPACES`."""
    try:
        dir_fd = _open_netns_dir()
    except OSError:
        return []
    found = []
    try:
        for name in sorted(os.listdir(dir_fd)):
            fd = open_entry(dir_fd, name)
            if fd >= 0:
                os.close(fd)
                found.append(name)
                if len(found) >= MAX_LEARNER_NAMESPACES:
                    break
    finally:
        os.close(dir_fd)
    return found


def _foreign_netns_ids(world: World) -> set[tuple[int, int]]:
    """The real machine's network namespaces and every other world's: never entered
    on behalf of ``world``, whatever its /run/netns says."""
    ids = set()
    for path in ("/proc/self/ns/net", "/proc/1/ns/net"):
        with contextlib.suppress(OSError):
            st = os.stat(path)
            ids.add((st.st_dev, st.st_ino))
    with contextlib.suppress(OSError):
        for other in os.scandir(world.dir.parent):
            if other.name == world.name or not other.is_dir(follow_symlinks=False):
                continue
            for kind in ("host", "inet"):
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(other.path, kind))
                    ids.add((st.st_dev, st.st_ino))
    return ids


def _open_learner_netns(ns: str) -> int:
    """A readable descriptor of the learner's namespace ``ns`` (in the world's mount
    namespace), or :class:`NamespaceGone`."""
    try:
        dir_fd = _open_netns_dir()
    except OSError:
        raise NamespaceGone(ns) from None
    try:
        path_fd = open_entry(dir_fd, ns)
    finally:
        os.close(dir_fd)
    if path_fd < 0:  # missing, or something the learner left that is not a namespace
        raise NamespaceGone(ns)
    try:
        # setns() wants a real open file; reopening the checked O_PATH descriptor
        # through /proc/self/fd gives exactly that inode, read-only.
        return os.open(f"/proc/self/fd/{path_fd}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        raise NamespaceGone(ns) from None
    finally:
        os.close(path_fd)


def _open_process_netns(world: World, ns: str) -> int:
    """The network namespace of the world's process named by ``pid:N``, or
    :class:`NamespaceGone` (no such process in this world)."""
    pid = ns[len(PROCESS_PREFIX) :]
    if not pid.isdigit() or int(pid) not in world.processes():
        raise NamespaceGone(ns)
    try:
        return os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        raise NamespaceGone(ns) from None


def _enter(world: World, ns: str) -> None:
    # The namespace this process started in is the real machine's: never work there,
    # nor in another world's, whatever a learner links into the world's /run/netns.
    foreign = _foreign_netns_ids(world)
    if ns == HOST_NS:
        net_fd = os.open(world.host, os.O_RDONLY)
    elif ns == INTERNET_NS:
        net_fd = os.open(world.inet, os.O_RDONLY)
    elif ns.startswith(PROCESS_PREFIX):
        net_fd = _open_process_netns(world, ns)
    else:
        net_fd = -1
    mnt_fd = os.open(world.mnt, os.O_RDONLY)
    nsutil.setns(mnt_fd, nsutil.CLONE_NEWNS)
    os.close(mnt_fd)
    os.chdir("/")
    # The world's /proc shows only the world's PIDs, and this helper is not one of
    # them (no /proc/self, no /proc/net): a private copy of the world's mounts,
    # with a /proc of our own on top, that nobody else sees.
    nsutil.unshare(nsutil.CLONE_NEWNS)
    nsutil.mount("proc", "/proc", "proc", nsutil.MS_NOSUID | nsutil.MS_NODEV | nsutil.MS_NOEXEC)
    if net_fd < 0:
        net_fd = _open_learner_netns(ns)
    opened = os.fstat(net_fd)
    if (opened.st_dev, opened.st_ino) in foreign:
        os.close(net_fd)
        raise NotTheWorlds(ns)
    try:
        nsutil.setns(net_fd, nsutil.CLONE_NEWNET)
    except OSError:
        # a namespace of another kind (e.g. a mount namespace): not a network namespace
        raise NamespaceGone(ns) from None
    os.close(net_fd)


def start(world: World, ns: str, fn: Callable[..., Any], *args: Any) -> Pending:
    """Fork a child that runs ``fn(*args)`` inside namespace ``ns`` of ``world``."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = 0
        try:
            try:
                _enter(world, ns)
                payload: tuple[str, Any] = ("ok", fn(*args))
            except NamespaceGone:
                payload = ("gone", ns)
            except BaseException:
                payload = ("error", traceback.format_exc(limit=6))
            data = pickle.dumps(payload)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return Pending(pid, read_fd, ns)


def collect(pending: Pending, timeout: float = 10.0) -> Any:
    """Wait for a child started by :func:`start` and return what its function returned."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pending.pid, signal.SIGKILL)
                raise InNsError(f"timed out after {timeout:.1f} s in namespace {pending.ns}")
            ready, _, _ = select.select([pending.read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(pending.read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(pending.read_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pending.pid, 0)
    if not chunks:
        raise InNsError(f"the helper in namespace {pending.ns} died without an answer")
    status, value = pickle.loads(b"".join(chunks))
    if status == "gone":
        raise NamespaceGone(value)
    if status == "error":
        raise InNsError(value)
    return value


def discard(pending: Pending) -> None:
    """End a child started by :func:`start` whose answer nobody needs, and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pending.pid, signal.SIGKILL)
    os.close(pending.read_fd)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pending.pid, 0)


def run(world: World, ns: str, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
    """Run ``fn(*args)`` inside ``ns`` and return its result."""
    result: T = collect(start(world, ns, fn, *args), timeout)
    return result


def run_many(
    world: World,
    jobs: Iterable[tuple[str, Callable[..., Any], tuple[Any, ...]]],
    timeout: float = 10.0,
) -> list[Any]:
    """Run several functions in parallel, each in its namespace; results in order.

    A namespace that does not exist gives a :class:`NamespaceGone` instance in
    its place rather than failing the whole batch.
    """
    pendings = [start(world, ns, fn, *args) for ns, fn, args in jobs]
    results: list[Any] = []
    for pending in pendings:
        try:
            results.append(collect(pending, timeout))
        except NamespaceGone as exc:
            results.append(exc)
    return results
