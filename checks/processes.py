"""Which network namespace a process lives in: a container is a process and its namespaces.

Every process has a link ``/proc/PID/ns/net`` to its network namespace; two
processes share a network stack exactly when those links lead to the same
``nsfs`` inode. Docker's network modes are choices of that namespace:
``--network host`` keeps the host's own (the process sees ``eth0`` and binds the
host's address), ``--network none`` gives a fresh one with nothing but ``lo``,
and ``--network bridge`` gives a fresh one joined to a bridge by a veth pair (what
lessons 2-8 built by hand).

:func:`find` looks at a world's processes from outside (their ``/proc`` entries),
names each one's namespace (``host``, a name from the world's ``ip netns``, or
``own`` when no name leads to it) and, for one of its own, lists its interfaces
from inside it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from lab import inns, nsutil
from lab.world import HOST_NS, World

#: The name given to a network namespace no name leads to (``unshare --net``'s).
OWN = "own"
#: At most this many matching processes are looked at.
MAX_MATCHES = 16


@dataclass(frozen=True)
class Found:
    """One process whose command line matched."""

    pid: int  # as the learner sees it, inside the world's PID namespace
    command: str
    netns: str  # host, a learner's name, the internet, or OWN
    links: tuple[tuple[str, bool], ...] | None  # (name, up) in an OWN namespace


def _command(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read(4096)
    except OSError:
        return None
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def _pid_inside(pid: int) -> int:
    """The PID as the learner sees it: the world has its own PID namespace (the last
    number of ``NSpid`` is the innermost one's)."""
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return pid


def matches(command: str, wanted: str) -> bool:
    """``command`` starts with the words of ``wanted`` (whole words)."""
    have, want = command.split(), wanted.split()
    return bool(want) and have[: len(want)] == want


def _named_ids() -> dict[tuple[int, int], str]:
    """Inside the world's mount namespace: (dev, inode) -> name of each ``ip netns`` name."""
    ids: dict[tuple[int, int], str] = {}
    try:
        dir_fd = os.open(inns.NETNS_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # no `ip netns add` yet
        dir_fd = -1
    try:
        for name in inns.namespace_entries() if dir_fd >= 0 else []:
            fd = inns.open_entry(dir_fd, name)  # namespace files only, links not followed
            if fd >= 0:
                st = os.fstat(fd)
                os.close(fd)
                ids[(st.st_dev, st.st_ino)] = name
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
    return ids


def _links_of(fd: int) -> list[tuple[str, bool]]:
    """Inside the world: enter the network namespace open on ``fd``; its links and state."""
    from pyroute2 import IPRoute

    nsutil.setns(fd, nsutil.CLONE_NEWNET)
    with IPRoute() as ipr:
        return [(str(m.get("IFLA_IFNAME")), bool(m["flags"] & 1)) for m in ipr.get_links()]


def find(world: World, command: str) -> list[Found]:
    """The world's processes whose command line starts with ``command``, and their namespaces."""
    named = inns.run(world, HOST_NS, _named_ids)
    for path, name in ((world.host, HOST_NS), (world.inet, "internet")):
        ident = nsutil.ns_id(path)
        if ident is not None:
            named[ident] = name
    found = []
    for pid in sorted(world.processes()):
        line = _command(pid)
        ident = nsutil.ns_id(f"/proc/{pid}/ns/net")
        if line is None or ident is None or not matches(line, command):
            continue
        netns = named.get(ident, OWN)
        links = None
        if netns == OWN:
            with contextlib.suppress(OSError, inns.InNsError, inns.NamespaceGone):
                fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
                try:
                    links = tuple(inns.run(world, HOST_NS, _links_of, fd))
                finally:
                    os.close(fd)
        found.append(Found(_pid_inside(pid), line, netns, links))
        if len(found) >= MAX_MATCHES:
            break
    return found
