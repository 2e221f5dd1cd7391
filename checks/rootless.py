"""Rootless networking: a network namespace an unprivileged user made, and slirp4netns.

An unprivileged user may create a *user* namespace (in which it is root, uid 0
mapped to its own uid outside) and, owned by it, a *network* namespace. Inside,
that root may configure the namespace's own links, but it has no power over the
host: it cannot create a veth pair with one end on the host, nor attach anything
to the host's bridge. slirp4netns connects such a namespace anyway, without any
privilege: it opens a TAP device *inside* the namespace (``tap0``, 10.0.2.100/24,
gateway 10.0.2.2) and runs a small TCP/IP stack in user space on the host side.
Every TCP connection the namespace makes is re-made by slirp4netns as an
ordinary socket of the user on the host, so the outside sees the host's address
(10.0.2.15) and no veth or bridge ever appears on the host.

ICMP is the exception: slirp4netns, an unprivileged process on the host, has no
``CAP_NET_RAW``, so it can only send echoes through the kernel's unprivileged
"ping sockets", which ``net.ipv4.ping_group_range`` allows to no group by
default (``1 0``). The same knob decides, inside the namespace, whether a
process without ``CAP_NET_RAW`` may ping at all; podman sets it there.

:func:`find` looks at a world's processes from outside: a network namespace
whose owning user namespace is not the machine's and was made by a uid other
than 0 is a rootless one. The probes here run inside it (``pid:N`` in
:mod:`lab.inns`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from checks import probes
from lab import inns, nsutil
from lab.world import World

#: ioctl(2) requests on namespace files (linux/nsfs.h)
NS_GET_USERNS = 0xB701
NS_GET_OWNER_UID = 0xB704
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
SLIRP = "slirp4netns"


@dataclass(frozen=True)
class Rootless:
    """One rootless network namespace of the world, seen through one of its processes."""

    pid: int  # the machine's number of a process in it (probes enter through it)
    inside_pid: int  # that process's PID as the learner sees it
    command: str
    owner_uid: int  # who made the user namespace that owns the network namespace
    ident: tuple[int, int]  # (dev, inode) of the network namespace
    links: tuple[tuple[str, bool, tuple[str, ...]], ...]  # (name, up, addresses)
    default_dev: str | None  # the device of its default route
    slirp_pids: tuple[int, ...]  # the world's slirp4netns processes serving it (learner's PIDs)

    def link(self, name: str) -> tuple[str, bool, tuple[str, ...]] | None:
        return next((lk for lk in self.links if lk[0] == name), None)

    def describe(self) -> str:
        links = ", ".join(
            f"{n} {'UP' if up else 'DOWN'}" + (f" {' '.join(a)}" if a else "")
            for n, up, a in self.links
        )
        route = f"default dev {self.default_dev}" if self.default_dev else "no default route"
        return (
            f"PID {self.inside_pid} ({self.command}) in a namespace of uid {self.owner_uid}: "
            f"{links or 'no links'}; {route}"
        )


def _owner_uid(net_fd: int) -> tuple[int, int] | None:
    """(owner uid, user namespace inode) of the user namespace owning a network namespace."""
    try:
        user_fd = fcntl.ioctl(net_fd, NS_GET_USERNS)
    except OSError:
        return None
    try:
        buf = bytearray(4)
        fcntl.ioctl(user_fd, NS_GET_OWNER_UID, buf)
        return struct.unpack("I", buf)[0], os.fstat(user_fd).st_ino
    except OSError:
        return None
    finally:
        os.close(user_fd)


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read(4096)
    except OSError:
        return ""
    return " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)


def _inside(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return pid


def _links_here() -> tuple[list[tuple[str, bool, tuple[str, ...]]], str | None]:
    """Inside a namespace: its links (name, up, addresses) and its default route's device."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        names = {m["index"]: str(m.get("IFLA_IFNAME")) for m in ipr.get_links()}
        ups = {m["index"]: bool(m["flags"] & 1) for m in ipr.get_links()}
        addrs: dict[int, list[str]] = {}
        for a in ipr.get_addr(family=socket.AF_INET):
            addrs.setdefault(a["index"], []).append(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}")
        default = None
        for r in ipr.get_routes(family=socket.AF_INET, table=254):
            if r["dst_len"] == 0 and r.get("RTA_OIF") in names:
                default = names[r.get("RTA_OIF")]
                break
    links = [(names[i], ups[i], tuple(addrs.get(i, ()))) for i in sorted(names)]
    return links, default


def _slirp_targets(world: World, pids: list[int]) -> dict[tuple[int, int], list[int]]:
    """netns id -> the learner's PIDs of the slirp4netns processes that serve it.

    slirp4netns names its namespace by the PID of a process in it (as the world
    numbers it), or by a path with ``--netns-type=path``.
    """
    by_inside = {_inside(pid): pid for pid in pids}
    served: dict[tuple[int, int], list[int]] = {}
    for pid in pids:
        words = _command(pid).split()
        if not words or os.path.basename(words[0]) != SLIRP:
            continue
        plain = [w for w in words[1:] if not w.startswith("-")]
        target = None
        if "--netns-type=path" in words and plain:
            target = plain[0]  # a path in the world: resolved through the process's root
            path = f"/proc/{pid}/root{target}" if target.startswith("/") else None
        elif plain and plain[0].isdigit() and int(plain[0]) in by_inside:
            path = f"/proc/{by_inside[int(plain[0])]}/ns/net"
        else:
            path = None
        ident = nsutil.ns_id(path) if path else None
        if ident is not None:
            served.setdefault(ident, []).append(_inside(pid))
    return served


def find(world: World) -> list[Rootless]:
    """The world's rootless network namespaces (one entry each, its lowest PID first)."""
    me = nsutil.ns_id("/proc/self/ns/user")
    pids = sorted(world.processes())
    seen: dict[tuple[int, int], tuple[int, int]] = {}
    for pid in pids:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            ident = (st.st_dev, st.st_ino)
            if ident in seen:
                continue
            owner = _owner_uid(fd)
        finally:
            os.close(fd)
        if owner is None or (me is not None and owner[1] == me[1]) or owner[0] == 0:
            continue
        seen[ident] = (pid, owner[0])
    served = _slirp_targets(world, pids) if seen else {}
    found = []
    for ident, (pid, uid) in seen.items():
        try:
            links, default = inns.run(world, f"{inns.PROCESS_PREFIX}{pid}", _links_here)
        except (inns.NamespaceGone, inns.InNsError):
            continue
        found.append(
            Rootless(
                pid,
                _inside(pid),
                _command(pid),
                uid,
                ident,
                tuple(links),
                default,
                tuple(served.get(ident, ())),
            )
        )
    return found


def best(found: list[Rootless]) -> Rootless | None:
    """The namespace a milestone is about: one with a default route if any, else the first."""
    routed = [r for r in found if r.default_dev]
    chosen = routed or found
    return chosen[0] if chosen else None


# ------------------------------------------------------------------ probes
# Each runs inside the rootless namespace (``pid:N``), forked by lab.inns.


def _internet_socket(inet_fd: int) -> socket.socket:
    """A packet socket in the internet's namespace: what arrives there, and from whom."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        nsutil.setns(inet_fd, nsutil.CLONE_NEWNET)
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        sock.setblocking(False)
        return sock
    finally:
        nsutil.setns(home, nsutil.CLONE_NEWNET)
        os.close(home)


def _arrivals(sock: socket.socket, dst: str, port: int) -> list[str]:
    """Sources of the connection requests (SYN) for ``dst:port`` the socket has seen."""
    sources: list[str] = []
    while True:
        try:
            data, addr = sock.recvfrom(65535)
        except BlockingIOError:
            return sources
        if addr[1] != ETH_P_IP:
            continue
        seen = probes._summary(data, addr[0], addr[2])
        if (
            seen is not None
            and seen.get("proto") == "tcp"
            and seen["dst"] == dst
            and seen["dport"] == port
            and seen["dir"] == "in"
            and seen.get("flags", 0) & 0x12 == 0x02
        ):
            sources.append(seen["src"])


def tcp_seen(dst: str, port: int, timeout: float, inet_fd: int) -> dict[str, Any]:
    """A TCP handshake with ``dst:port`` from here, and the sources of the connection
    requests that arrived in the internet meanwhile (slirp4netns makes a connection
    of its own, so its source port is not ours: every SYN for ``dst:port`` counts)."""
    watch = _internet_socket(inet_fd)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    result: dict[str, Any]
    try:
        code = sock.connect_ex((dst, port))
        if code not in (0, 115):  # EINPROGRESS
            raise OSError(code, os.strerror(code))
        done = code == 0
        deadline = time.monotonic() + timeout
        while not done and time.monotonic() < deadline:
            left = deadline - time.monotonic()
            done = bool(select.select([], [sock.fileno()], [], max(left, 0))[1])
        if not done:
            result = {"ok": False, "error": f"no answer within {timeout:.1f} s"}
        else:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            result = {"ok": not err, "error": os.strerror(err) if err else ""}
    except OSError as exc:
        result = {"ok": False, "error": exc.strerror or str(exc)}
    finally:
        sock.close()
    # slirp4netns connects on the host before it answers us: its SYN is there already
    result["sources"] = _arrivals(watch, dst, port)
    watch.close()
    return result


def _group_range() -> str:
    with contextlib.suppress(OSError), open("/proc/sys/net/ipv4/ping_group_range") as fh:
        return " ".join(fh.read().split())
    return "?"


def ping_unprivileged(dst: str, timeout: float, uid: int, gid: int) -> dict[str, Any]:
    """An echo sent as the learner would without ``CAP_NET_RAW``: through an ICMP
    datagram ("ping") socket, which only ``net.ipv4.ping_group_range`` allows.

    ``stage`` says where it ended: ``socket`` (refused), ``reply``, or ``lost``.
    """
    group_range = _group_range()  # as root sees it: the learner's gid outside
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # no capability left at all
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except OSError as exc:
        return {"ok": False, "stage": "socket", "error": exc.strerror, "range": group_range}
    try:
        ident_payload = b"cnlab-rootless" + os.urandom(6)
        sock.sendto(struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, 0, 1) + ident_payload, (dst, 0))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                return {"ok": False, "stage": "lost", "error": "no reply", "range": group_range}
            data = sock.recv(65535)
            if data[:1] == bytes([ICMP_ECHO_REPLY]) and data.endswith(ident_payload):
                return {"ok": True, "stage": "reply", "error": "", "range": group_range}
    except OSError as exc:
        return {"ok": False, "stage": "lost", "error": exc.strerror, "range": group_range}
    finally:
        sock.close()
