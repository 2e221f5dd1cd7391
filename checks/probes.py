"""Real packets, sent and received the way the learner's own programs do.

Each function here runs in a child process that :mod:`lab.inns` has already
moved into the namespace to probe.

A probe must travel the learner's path, so it uses the namespace's socket
layer, never a shortcut around it:

* ``ping`` sends an ICMP echo on a raw ``IPPROTO_ICMP`` socket: the kernel
  picks the route and the source, the packet passes the sender's OUTPUT
  chain, and the reply is read where ``ping`` reads it, after the sender's
  INPUT chain (a packet socket would see the reply before INPUT drops it, and
  pass a network where ``ping`` loses every packet).
* ``tcp_connect`` is a real ``connect()`` and nothing else: the handshake
  proves a listener answered, and no request is sent, so a server such as
  ``python3 -m http.server`` logs nothing in the learner's terminal.

A probe also watches: it opens a packet socket in every namespace of the world
(:func:`open_watches`) and reports its own packets that cross any interface
(each probe carries its own nonce: an ICMP id, a TCP source port), which is how
a check learns *where* a packet went (which address the outside saw, which
namespace a published port really leads to) and, through :mod:`checks.fate`,
where a lost packet ended without waiting for silence.

ARP has no socket layer of its own, so :func:`arp` asks on a packet socket
bound to the interface of the kernel's route: a broadcast frame, an Ethernet
header and the 28-byte who-has of RFC 826 built with ``struct`` (as ``arping``
does), and the first is-at from the address asked about is the answer.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import pickle
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from checks import fate
from checks.netfilter import Flow
from lab import nsutil

if TYPE_CHECKING:
    from lab.state import WorldState

PAYLOAD = b"cnlab-probe"
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ICMP_ECHO_REPLY = 0
ICMP_UNREACHABLE = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11
ICMP_ERRORS = {3: "destination unreachable", 11: "time exceeded", 12: "parameter problem"}
UNREACHABLE_CODES = {
    0: "net unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    9: "net administratively prohibited",
    10: "host administratively prohibited",
    13: "communication administratively prohibited",
}
PACKET_TYPES = {0: "in", 1: "broadcast", 2: "multicast", 3: "other-host", 4: "out"}


def _strerror(exc: OSError) -> str:
    return os.strerror(exc.errno or errno.EIO)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes) -> bytes:
    """An ICMP echo request (header and payload; the kernel adds the IP header)."""
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, seq)
    csum = _checksum(header + payload)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, csum, ident, seq) + payload


def _is_local(dst: str) -> bool:
    """Would this namespace deliver ``dst`` to itself (is it one of its own addresses)?

    Binding a socket to an address succeeds only for a local one: one system
    call, where asking the routing table over netlink costs a library's start.
    (With ``ip_nonlocal_bind`` on, any bind succeeds, so the routing table is asked.)
    """
    try:
        with open("/proc/sys/net/ipv4/ip_nonlocal_bind") as fh:
            nonlocal_bind = fh.read().strip() != "0"
    except OSError:
        nonlocal_bind = True
    if nonlocal_bind:
        from lab.state import route_get_here

        return route_get_here(dst).get("type") == "local"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((dst, 0))
        except OSError:
            return False
    return True


def _icmp_error_text(kind: int, code: int, sender: str) -> str:
    what = ICMP_ERRORS.get(kind, f"ICMP type {kind}")
    if kind == ICMP_UNREACHABLE:
        what = UNREACHABLE_CODES.get(code, f"{what} (code {code})")
    return f"{what} (ICMP type {kind} code {code} from {sender})"


def _echo_answer(data: bytes, ident: int, payload: bytes) -> dict[str, Any] | None:
    """Our echo reply, or an ICMP error about our request, in one datagram (else None)."""
    ihl = (data[0] & 0x0F) * 4
    if len(data) < ihl + 8:
        return None
    sender = socket.inet_ntoa(data[12:16])
    kind, code, _, rid, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
    if kind == ICMP_ECHO_REPLY and rid == ident and data[ihl + 8 :] == payload:
        return {"ok": True, "from": sender, "ttl": data[8]}
    if kind in ICMP_ERRORS and len(data) >= ihl + 8 + 28:
        inner = data[ihl + 8 :]
        inner_ihl = (inner[0] & 0x0F) * 4
        if len(inner) < inner_ihl + 8 or inner[9] != socket.IPPROTO_ICMP:
            return None
        ikind, _, _, iid, _ = struct.unpack("!BBHHH", inner[inner_ihl : inner_ihl + 8])
        if ikind == ICMP_ECHO_REQUEST and iid == ident:
            return {"ok": False, "error": _icmp_error_text(kind, code, sender)}
    return None


def _proxy_arp_here() -> bool:
    """Does any interface of the current namespace answer ARP for others (proxy_arp)?"""
    for path in glob.glob("/proc/sys/net/ipv4/conf/*/proxy_arp"):
        try:
            with open(path) as fh:
                if fh.read().strip() not in ("", "0"):
                    return True
        except OSError:
            continue
    return False


@dataclass(frozen=True)
class Watched:
    """Where a probe watches: each namespace by an open descriptor or a path in the world.

    The host and internet namespaces are pinned by bind mounts the world's own
    mount namespace does not show, so the caller opens them and the forked
    probe inherits the descriptors; the learner's are files in the world's
    ``/run/netns``. ``real`` names the real machine's namespace: never watched.
    """

    fds: tuple[tuple[str, int], ...]
    paths: tuple[tuple[str, str], ...]
    real: tuple[int, int]  # (st_dev, st_ino) of the real machine's network namespace

    @classmethod
    def of(cls, fds: Mapping[str, int], paths: Mapping[str, str]) -> Watched:
        """Made by the caller, in the real machine's namespace, before it forks the probe."""
        here = os.stat("/proc/self/ns/net")
        return cls(tuple(fds.items()), tuple(paths.items()), (here.st_dev, here.st_ino))

    def open(self) -> list[tuple[str, int]]:
        """(name, descriptor) of each namespace, in the probe (descriptors to close after)."""
        found = [(name, os.dup(fd)) for name, fd in self.fds]
        for name, path in self.paths:
            try:
                found.append((name, os.open(path, os.O_RDONLY)))
            except OSError:
                continue
        return found


class LateState:
    """The snapshot, for probes started before it is read (see :class:`checks.context.CheckContext`).

    The check reads the world and sends its probes at the same time. A probe needs
    the snapshot only to judge where a lost packet ended (:mod:`checks.fate`), so it
    sends once the readers have dropped stale neighbour entries (:meth:`go`, which
    the probe awaits with :meth:`wait_go` after it has set up its watches), keeps
    what it sees, and judges once the snapshot is published: the parent writes it
    (pickled) to a memory file and one byte to a pipe that the probes only poll. A
    fate still ends the wait a ``grace`` after the sighting that showed it, as if
    the snapshot had been there all along.
    """

    def __init__(self) -> None:
        self.data_fd = os.memfd_create("cnlab-snapshot", os.MFD_CLOEXEC)
        self.ready_fd, self._ready_w = os.pipe()
        self.go_fd, self._go_w = os.pipe()
        self.published = False
        self.gone = False

    def go(self) -> None:
        """In the parent: the probes may send now."""
        if not self.gone:
            os.write(self._go_w, b".")
            self.gone = True

    def wait_go(self, wait: float = 10.0) -> None:
        """In a probe: wait until the parent says packets may go."""
        select.select([self.go_fd], [], [], wait)

    def publish(self, state: WorldState | None) -> None:
        """In the parent: hand every probe the snapshot (None: there is none)."""
        if self.published:
            return
        if state is not None:
            data = pickle.dumps(state)
            os.pwrite(self.data_fd, data, 0)
        os.write(self._ready_w, b".")
        self.published = True

    def is_ready(self) -> bool:
        return bool(select.select([self.ready_fd], [], [], 0)[0])

    def load(self) -> WorldState | None:
        """In a probe, once :attr:`ready_fd` is readable: the snapshot, or None."""
        size = os.fstat(self.data_fd).st_size
        if not size:
            return None
        state: WorldState = pickle.loads(os.pread(self.data_fd, size, 0))
        return state

    def close(self) -> None:
        for fd in (self.data_fd, self.ready_fd, self._ready_w, self.go_fd, self._go_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def wait_go(state: WorldState | LateState | None) -> None:
    """Before a probe sends: wait for the parent's go when the snapshot comes late."""
    if isinstance(state, LateState):
        state.wait_go()


def open_watches(watched: Watched | None) -> tuple[list[tuple[str, socket.socket]], set[str]]:
    """A packet socket in each namespace watched, and the namespaces where proxy ARP is on.

    The calling process hops into each namespace only to open the socket (a
    socket stays in the namespace it was made in), then comes back home. The
    real machine's namespace is never watched.
    """
    socks: list[tuple[str, socket.socket]] = []
    proxy: set[str] = set()
    if watched is None:
        return socks, proxy
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        for name, fd in watched.open():
            try:
                there = os.fstat(fd)
                if (there.st_dev, there.st_ino) == watched.real:
                    continue
                nsutil.setns(fd, nsutil.CLONE_NEWNET)
            except OSError:
                continue
            finally:
                os.close(fd)
            # every protocol: only such sockets see frames leaving, and frames a bridge takes
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            sock.setblocking(False)
            socks.append((name, sock))
            if _proxy_arp_here():
                proxy.add(name)
    finally:
        nsutil.setns(home, nsutil.CLONE_NEWNET)
        os.close(home)
    return socks, proxy


def _sightings(
    name: str, sock: socket.socket, want: Mapping[str, Any]
) -> list[tuple[dict[str, Any], fate.Sighting]]:
    """Drain one watch socket: the probe's packets it saw (requests and replies)."""
    found: list[tuple[dict[str, Any], fate.Sighting]] = []
    while True:
        try:
            data, addr = sock.recvfrom(65535)
        except BlockingIOError:
            return found
        if addr[1] != ETH_P_IP:
            continue
        seen = _summary(data, addr[0], addr[2])
        if seen is None or not matches(seen, want):
            continue
        if seen["proto"] == "icmp":
            if seen["type"] not in (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY):
                continue
            reply = seen["type"] == ICMP_ECHO_REPLY
        else:
            reply = seen["dport"] == want["sport"]
        seen["ns"] = name
        sighting = fate.Sighting(
            name,
            seen["iface"],
            seen["dir"],
            seen["src"],
            seen["dst"],
            reply,
            proto=seen["proto"],
            sport=seen.get("sport"),
            dport=seen.get("dport"),
        )
        found.append((seen, sighting))


class _Watcher:
    """The probe's packets seen in the world, and the fate they point to.

    ``state`` may come late (a :class:`LateState`): until it does, the departure and
    the sightings wait, each with the moment it happened, and are judged on arrival.
    """

    def __init__(
        self,
        socks: list[tuple[str, socket.socket]],
        proxy: set[str],
        state: WorldState | LateState | None,
        sender: str | None,
        want: Mapping[str, Any],
    ) -> None:
        self.by_fd = {s.fileno(): (name, s) for name, s in socks}
        self.proxy = frozenset(proxy)
        self.late = state if isinstance(state, LateState) else None
        self.state: WorldState | None = None
        self.sender = sender or ""
        self.want = want
        self.seen: list[dict[str, Any]] = []
        self.ended: fate.Fate | None = None
        self.ended_at = 0.0
        self._departure: tuple[float, Flow] | None = None
        self._waiting: list[tuple[float, fate.Sighting]] = []
        if self.late is not None and self.late.is_ready():
            self._take(self.late.load())
        elif not isinstance(state, LateState):
            self._take(state)

    def _take(self, state: WorldState | None) -> None:
        """The snapshot is here: judge what waited for it, in the order it happened."""
        self.late = None
        self.state = state if state is not None and self.sender in state.namespaces else None
        departure, self._departure = self._departure, None
        waiting, self._waiting = self._waiting, []
        if self.state is None:
            return
        if departure is not None:
            self._end(
                departure[0], fate.departure(self.state, self.sender, departure[1], self.proxy)
            )
        for at, sighting in waiting:
            if self.ended is None:
                self._end(at, fate.judge(self.state, sighting, self.sender, self.proxy))

    def _end(self, at: float, found: fate.Fate | None) -> None:
        if found is not None and self.ended is None:
            self.ended, self.ended_at = found, at

    def fds(self) -> list[int]:
        """What to wait on: the watches, and the snapshot while it has not come."""
        return [*self.by_fd, *([self.late.ready_fd] if self.late is not None else [])]

    def departed(self, dst: str, dport: int | None = None, sport: int | None = None) -> None:
        """Judge the first hop, as the packet leaves the sender."""
        flow = Flow(self.sender, dst, self.want["proto"], dport, None, sport)
        if self.late is not None:
            self._departure = (time.monotonic(), flow)
        elif self.state is not None:
            self._end(time.monotonic(), fate.departure(self.state, self.sender, flow, self.proxy))

    def deadline(self, deadline: float, grace: float) -> float:
        """The wait left: cut to a grace after the moment a fate showed."""
        if self.ended is None:
            return deadline
        return min(deadline, self.ended_at + grace)

    def read(self, fd: int) -> None:
        if self.late is not None and fd == self.late.ready_fd:
            self._take(self.late.load())
            return
        name, sock = self.by_fd[fd]
        for summary, sighting in _sightings(name, sock, self.want):
            self.seen.append(summary)
            if self.ended is not None:
                continue
            if self.state is not None:
                self._end(
                    time.monotonic(), fate.judge(self.state, sighting, self.sender, self.proxy)
                )
            elif self.late is not None:
                self._waiting.append((time.monotonic(), sighting))

    def settle(self, wait: float = 1.0) -> None:
        """A probe that ends unanswered before the snapshot came: wait for it a little,
        so a lost packet is still told where it ended (the answer's ``fate``)."""
        if self.late is not None and select.select([self.late.ready_fd], [], [], wait)[0]:
            self._take(self.late.load())

    def names(self) -> list[str]:
        """The namespaces actually watched (a sighting can only come from these)."""
        return [name for name, _ in self.by_fd.values()]

    def drain(self) -> None:
        """Read what the watches already hold (the kernel queued it as the packet passed)."""
        for fd in self.by_fd:
            self.read(fd)

    def close(self) -> None:
        close_together([sock for _, sock in self.by_fd.values()])


def close_together(socks: list[socket.socket]) -> None:
    """Close packet sockets side by side rather than one after another.

    Closing a packet socket waits for the kernel's RCU grace period
    (``synchronize_net()`` in ``packet_release``), about 14 ms here; a probe
    watching five namespaces closed its sockets in ~55 ms, longer than the probe
    itself. Closed from one thread each, the waits overlap (a few ms in all).
    """
    if len(socks) < 2:
        for sock in socks:
            sock.close()
        return
    closers = [threading.Thread(target=sock.close) for sock in socks]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()


def ping(
    dst: str,
    timeout: float = 0.4,
    ident: int | None = None,
    watch: Watched | None = None,
    state: WorldState | LateState | None = None,
    sender: str | None = None,
    grace: float = 0.06,
) -> dict[str, Any]:
    """One ICMP echo through this namespace's socket layer; did its reply come back?

    The answer says who replied (``from``, ``ttl``) and whether ``dst`` is one of
    this namespace's own addresses (``local``: the sender answered itself).
    With ``watch`` (the world's namespaces) the probe also watches every
    interface of those namespaces: ``seen`` lists where its packets went, and
    with ``state`` (the snapshot) and ``sender`` (this namespace's name) a
    packet that certainly cannot go on ends the wait at once (``fate``, see
    :mod:`checks.fate`), after a short ``grace`` for a reply that would prove
    it wrong.
    """
    ident = ident if ident is not None else random.randint(1, 0xFFFF)
    payload = PAYLOAD + os.urandom(8)
    try:
        local = _is_local(dst)
        want = {"proto": "icmp", "id": ident}
        watcher = _Watcher(*open_watches(watch), state, sender, want)
    except OSError as exc:
        return {"ok": False, "error": _strerror(exc), "local": False}
    answer: dict[str, Any] | None = None
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        wait_go(state)
        started = time.monotonic()
        deadline = started + timeout
        try:
            sock.sendto(echo_request(ident, 1, payload), (dst, 0))
            watcher.departed(dst)
            while answer is None:
                deadline = watcher.deadline(deadline, grace)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready = select.select([sock.fileno(), *watcher.fds()], [], [], left)[0]
                for fd in ready:
                    if fd == sock.fileno():
                        answer = answer or _echo_answer(sock.recv(65535), ident, payload)
                    else:
                        watcher.read(fd)
            watcher.drain()
            if answer is None:
                watcher.settle()
        finally:
            sock.close()
    except OSError as exc:  # no route, or the sender's own OUTPUT chain refused it
        return {"ok": False, "error": _strerror(exc), "stage": "send", "local": local}
    finally:
        watcher.close()
    if answer is None:
        ended = watcher.ended
        answer = (
            {
                "ok": False,
                "error": f"lost: {ended.reason}",
                "fate": ended.reason,
                "fate_ns": ended.ns,
            }
            if ended is not None
            else {"ok": False, "error": f"no reply within {timeout:.1f} s"}
        )
    answer["local"] = local
    answer["seen"] = watcher.seen
    answer["watched"] = watcher.names()
    if answer["ok"]:
        answer["ms"] = round((time.monotonic() - started) * 1000, 2)
    return answer


def tcp_connect(
    dst: str,
    port: int,
    timeout: float = 1.0,
    sport: int | None = None,
    watch: Watched | None = None,
    state: WorldState | LateState | None = None,
    sender: str | None = None,
    grace: float = 0.06,
) -> dict[str, Any]:
    """A real TCP connect to ``dst:port`` that sends no data, then closes.

    ``outcome`` is ``ok`` (a listener accepted the handshake), ``refused`` or
    ``no-answer``. ``sport`` (our source port) is the probe's nonce: with
    ``watch`` the probe sees its packets in every namespace (``seen``: where the
    connection request arrived, with which addresses) and, like :func:`ping`,
    stops waiting once a packet is seen where it cannot go on.
    """
    sport = sport or random.randint(32768, 60999)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    watcher: _Watcher | None = None
    try:
        local = _is_local(dst)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", sport))
        watcher = _Watcher(*open_watches(watch), state, sender, {"proto": "tcp", "sport": sport})
        wait_go(state)
        deadline = time.monotonic() + timeout
        code = sock.connect_ex((dst, port))
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, os.strerror(code))
        watcher.departed(dst, port, sport)
        done = code == 0
        while not done:
            deadline = watcher.deadline(deadline, grace)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready = select.select(watcher.fds(), [sock.fileno()], [], left)
            for fd in ready[0]:
                watcher.read(fd)
            done = bool(ready[1])
        watcher.drain()
        if not done:
            watcher.settle()
            ended = watcher.ended
            error = f"lost: {ended.reason}" if ended else f"no answer within {timeout:.1f} s"
            return _tcp_failed("no-answer", error, watcher)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == errno.ECONNREFUSED:
            return _tcp_failed("refused", "Connection refused", watcher)
        if code:
            return _tcp_failed("no-answer", os.strerror(code), watcher)
        here, peer = sock.getsockname(), sock.getpeername()
    except OSError as exc:
        return _tcp_failed("no-answer", _strerror(exc), watcher)
    finally:
        sock.close()
        if watcher is not None:
            watcher.close()
    return {
        "ok": True,
        "outcome": "ok",
        "local": local,
        "from": f"{peer[0]}:{peer[1]}",
        "source": f"{here[0]}:{here[1]}",
        "seen": watcher.seen,
        "watched": watcher.names(),
    }


def _tcp_failed(outcome: str, error: str, watcher: _Watcher | None) -> dict[str, Any]:
    found: dict[str, Any] = {"ok": False, "outcome": outcome, "error": error}
    found["seen"] = watcher.seen if watcher is not None else []
    found["watched"] = watcher.names() if watcher is not None else []
    if watcher is not None and watcher.ended is not None:
        found["fate"], found["fate_ns"] = watcher.ended.reason, watcher.ended.ns
    return found


# ------------------------------------------------------------------- watching


def _summary(data: bytes, ifname: str, pkttype: int) -> dict[str, Any] | None:
    """The fields of an IPv4 packet a check cares about, or None."""
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    proto = data[9]
    seen: dict[str, Any] = {
        "iface": ifname,
        "dir": PACKET_TYPES.get(pkttype, "seen"),
        "src": socket.inet_ntoa(data[12:16]),
        "dst": socket.inet_ntoa(data[16:20]),
    }
    l4 = data[ihl:]
    if proto == socket.IPPROTO_ICMP and len(l4) >= 8:
        seen["proto"] = "icmp"
        seen["type"], _, _, seen["id"], _ = struct.unpack("!BBHHH", l4[:8])
    elif proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP) and len(l4) >= 4:
        seen["proto"] = "tcp" if proto == socket.IPPROTO_TCP else "udp"
        seen["sport"], seen["dport"] = struct.unpack("!HH", l4[:4])
        if proto == socket.IPPROTO_TCP and len(l4) >= 14:
            seen["flags"] = l4[13]
    else:
        return None
    return seen


def matches(seen: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    """Is ``seen`` one of the probe's packets? (``want`` holds proto and its nonce.)"""
    if seen.get("proto") != want["proto"]:
        return False
    if want["proto"] == "icmp":
        return bool(seen.get("id") == want["id"])
    nonce = want["sport"]
    return bool(seen.get("sport") == nonce or seen.get("dport") == nonce)


# ------------------------------------------------------------------------ ARP


def _route_to(target: str) -> tuple[str | None, str | None]:
    """(interface, source address) of the kernel's route to ``target``."""
    from lab.state import route_get_here

    answer = route_get_here(target)
    if answer.get("error") or answer.get("type") == "local":
        return None, None
    return answer.get("dev"), answer.get("prefsrc")


#: ARP over Ethernet for IPv4 (RFC 826): hardware type 1, IPv4, 6- and 4-byte addresses.
_ARP_HEAD = struct.pack("!HHBB", 1, ETH_P_IP, 6, 4)
ARP_REQUEST = 1
ARP_REPLY = 2
PACKET_OUTGOING = 4


def who_has(mac: bytes, src: str, target: str) -> bytes:
    """A broadcast ARP request from ``mac``/``src`` for ``target`` (Ethernet frame)."""
    ether = b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP)
    body = struct.pack(
        "!H6s4s6s4s",
        ARP_REQUEST,
        mac,
        socket.inet_aton(src),
        bytes(6),
        socket.inet_aton(target),
    )
    return ether + _ARP_HEAD + body


def is_at(frame: bytes, target: str) -> str | None:
    """The MAC address in ``frame`` if it is an ARP reply from ``target``, else None."""
    if len(frame) < 42 or frame[12:14] != struct.pack("!H", ETH_P_ARP):
        return None
    if frame[14:20] != _ARP_HEAD:
        return None
    op, sha, spa = struct.unpack("!H6s4s", frame[20:32])
    if op != ARP_REPLY or spa != socket.inet_aton(target):
        return None
    return ":".join(f"{b:02x}" for b in sha)


def _ask(
    sock: socket.socket,
    frame: bytes,
    target: str,
    timeout: float,
    late: LateState | None = None,
    hopeless: Callable[[WorldState | None], bool] | None = None,
    grace: float = 0.06,
) -> str | None:
    """Send ``frame`` and wait up to ``timeout`` for ``target``'s is-at (its MAC).

    ``late``: the snapshot, still to come; once it does, a question ``hopeless``
    says nobody can answer waits only ``grace`` after it was sent.
    """
    sock.send(frame)
    sent = time.monotonic()
    deadline = sent + timeout
    while (left := deadline - time.monotonic()) > 0:
        waiting = [sock.fileno(), *([late.ready_fd] if late is not None else [])]
        ready = select.select(waiting, [], [], left)[0]
        if not ready:
            break
        if late is not None and late.ready_fd in ready:
            arrived, late = late.load(), None
            if hopeless is not None and hopeless(arrived):
                deadline = min(deadline, sent + grace)
        if sock.fileno() not in ready:
            continue
        data, addr = sock.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:  # our own question, as it left
            continue
        mac = is_at(data, target)
        if mac is not None:
            return mac
    return None


def arp(
    target: str,
    timeout: float = 0.4,
    state: WorldState | LateState | None = None,
    sender: str | None = None,
    grace: float = 0.06,
) -> dict[str, Any]:
    """An ARP who-has for ``target`` on the interface the route to it uses.

    With the snapshot (``state``, perhaps coming late, and ``sender``: this
    namespace's name), a question nobody on that link can answer (no namespace
    there owns ``target``) waits only a short grace instead of the whole timeout.
    """
    iface, src = _route_to(target)
    if not iface or iface == "lo":
        return {"ok": False, "error": f"no interface leads to {target}"}
    late = state if isinstance(state, LateState) else None

    def hopeless(known: WorldState | None) -> bool:
        return fate.nobody_owns(known, sender, iface, target)

    if not isinstance(state, LateState) and hopeless(state):
        timeout = min(timeout, grace)
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    except OSError as exc:
        return {"ok": False, "error": _strerror(exc)}
    try:
        sock.bind((iface, ETH_P_ARP))
        mac = sock.getsockname()[4][:6]
        frame = who_has(mac, src or "0.0.0.0", target)
        wait_go(state)
        answer = _ask(sock, frame, target, timeout, late, hopeless, grace)
    except OSError as exc:
        return {"ok": False, "error": _strerror(exc)}
    finally:
        sock.close()
    if answer is None:
        return {"ok": False, "error": f"nobody answered who-has {target} on {iface}"}
    return {"ok": True, "mac": answer, "iface": iface}
