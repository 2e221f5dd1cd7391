"""A snapshot of a world's kernel network state, read through netlink.

For each namespace of a world (``host``, ``internet`` and every name in the
world's ``/run/netns``) this reads the links (with their veth peers, bridge
masters and per-interface ``forwarding`` and ``rp_filter`` switches), IPv4
addresses, the main routing table in the kernel's own order (with the routes
that drop: blackhole, unreachable, prohibit), the hand-made entries of the
neighbour (ARP) table, ``net.ipv4.ip_forward``, ``bridge-nf-call-iptables``, the rules of
all three firewalls (iptables-legacy, iptables-nft, native nftables: see
:mod:`lab.rules`) and the TCP sockets that listen. The snapshot is plain data:
the map in the TUI draws it, the diagnoses reason on it, tests build one by
hand or replay one recorded as JSON (:meth:`WorldState.to_json`).

Reading happens inside each namespace (see :mod:`lab.inns`), with pyroute2
for netlink, ``/proc/sys`` for the switches, and ``iptables-save`` and
``nft -j list ruleset`` for the firewall (run only when netlink shows tables
for them to list). A snapshot changes only when the network does: packet
counters and learned ARP entries, which move with every packet, are left out.
"""

from __future__ import annotations

import ipaddress
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.nftables.main import NFTables

from lab import inns, rules
from lab.debug import ignored
from lab.model import Link, Namespace, Neighbour, Route, WorldState
from lab.rules import Chain, Firewall, Match, Rule, parse_iptables_save
from lab.world import HOST_NS, INTERNET_NS, World

__all__ = [
    "Chain",
    "Firewall",
    "Link",
    "Match",
    "Namespace",
    "Neighbour",
    "Route",
    "Rule",
    "WorldState",
    "parse_iptables_save",
    "read_world",
]

T = TypeVar("T")

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000


# ------------------------------------------------------------ reading (in-ns)

_ROUTE_KINDS = {1: "unicast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}
_PROTOS = {2: "kernel", 3: "boot", 4: "static", 16: "dhcp"}
_SCOPES = {0: "universe", 200: "site", 253: "link", 254: "host", 255: "nowhere"}


NUD_STATIC = 0x80  # PERMANENT: made by hand (NOARP ones are the kernel's multicast entries)
_NUD = {
    0x01: "INCOMPLETE",
    0x02: "REACHABLE",
    0x04: "STALE",
    0x08: "DELAY",
    0x10: "PROBE",
    0x20: "FAILED",
    0x40: "NOARP",
    0x80: "PERMANENT",
}


def _conf(name: str, key: str) -> int | None:
    return _read_int(f"/proc/sys/net/ipv4/conf/{name}/{key}")


def _read_links_and_routes(
    ipr: IPRoute | None = None,
) -> tuple[tuple[Link, ...], tuple[Route, ...], tuple[Neighbour, ...]]:
    if ipr is None:
        with IPRoute() as own:
            return _read_links_and_routes(own)
    raw_links = list(ipr.get_links())
    names = {m["index"]: m.get("ifname") for m in raw_links}
    addrs: dict[int, list[str]] = {}
    for a in ipr.get_addr(family=2):
        addrs.setdefault(a["index"], []).append(f"{a.get('address')}/{a['prefixlen']}")
    links = []
    for m in raw_links:
        info = m.get("IFLA_LINKINFO")
        kind = info.get("IFLA_INFO_KIND") if info else None
        peer = m.get("IFLA_LINK")
        master = m.get("IFLA_MASTER")
        links.append(
            Link(
                index=m["index"],
                name=str(m.get("ifname")),
                kind=kind,
                up=bool(m["flags"] & IFF_UP),
                carrier=bool(m["flags"] & IFF_LOWER_UP),
                mac=str(m.get("IFLA_ADDRESS") or ""),
                master=names.get(master) if master else None,
                peer_index=peer if kind == "veth" and peer else None,
                peer_elsewhere=m.get("IFLA_LINK_NETNSID") is not None,
                addresses=tuple(addrs.get(m["index"], [])),
                forwarding=_switch(_conf(str(m.get("ifname")), "forwarding")),
                rp_filter=_conf(str(m.get("ifname")), "rp_filter"),
            )
        )
    routes = []
    for r in ipr.get_routes(family=2, table=254):
        if r["type"] not in _ROUTE_KINDS:
            continue
        dst = r.get("RTA_DST")
        routes.append(
            Route(
                kind=_ROUTE_KINDS[r["type"]],
                dst=f"{dst}/{r['dst_len']}" if dst else "default",
                dev=names.get(r.get("RTA_OIF")),
                gateway=r.get("RTA_GATEWAY"),
                proto=_PROTOS.get(r["proto"], str(r["proto"])),
                scope=_SCOPES.get(r["scope"], str(r["scope"])),
                prefsrc=r.get("RTA_PREFSRC"),
                linkdown=bool(r["flags"] & 16),
            )
        )
    neighbours = tuple(
        Neighbour(
            ip=str(n.get("NDA_DST")),
            dev=str(names.get(n["ifindex"])),
            mac=n.get("NDA_LLADDR"),
            state=_NUD.get(n["state"], str(n["state"])),
        )
        for n in ipr.get_neighbours(family=2)
        if n["state"] & NUD_STATIC  # learned entries come and go: only hand-made ones
    )
    return tuple(links), tuple(routes), neighbours


def _split_routes(routes: tuple[Route, ...]) -> tuple[tuple[Route, ...], tuple[Route, ...]]:
    """(unicast routes, blackhole/unreachable/prohibit routes)."""
    plain = tuple(r for r in routes if r.kind == "unicast")
    return plain, tuple(r for r in routes if r.kind != "unicast")


def _switch(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _run_save(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def read_firewall(counters: bool = False) -> Firewall:
    """All three rule sets of the calling namespace (see :mod:`lab.rules`).

    Without ``counters`` the packet counts are left out: they change with every
    packet, and a snapshot must only change when the network does (the TUI
    re-checks when it does). :mod:`checks.witness` asks for them.
    """
    parts = []
    count = ["-c"] if counters else []
    tables = _nf_tables()
    iptables_like = tables is None or any(
        family == NFPROTO_IPV4 and name in rules.IPTABLES_PRIORITY for name, family in tables
    )
    shown: set[str] = set()
    if iptables_like:
        saved = _run_save(["iptables-nft-save", *count])
        nft_iptables = rules.parse_iptables_save(saved, rules.IPTABLES_NFT)
        parts.append(nft_iptables)
        shown = set(nft_iptables.policies) - rules.incompatible_tables(saved)
    native = tables is None or any(
        family != NFPROTO_IPV4 or name not in shown for name, family in tables
    )
    if native and _have("nft"):
        ruleset = _run_save(["nft", "-j", "list", "ruleset"])
        parts.append(rules.parse_nft_json(ruleset, shown))
    legacy_tables = ""
    try:
        with open("/proc/net/ip_tables_names", encoding="ascii") as fh:
            legacy_tables = fh.read().strip()
    except OSError:
        pass
    if legacy_tables:
        saved = _run_save(["iptables-legacy-save", *count])
        parts.append(rules.parse_iptables_save(saved, rules.IPTABLES_LEGACY))
    merged = rules.merge(parts)
    return merged if counters else rules.without_counters(merged)


NFPROTO_IPV4 = 2


def _nf_tables() -> list[tuple[str, int]] | None:
    """(name, family) of every nf_tables table here, straight from netlink (no process).

    None when netlink cannot say: then both tools are asked.
    """
    try:
        with NFTables(nfgen_family=0) as nft:
            return [
                (str(t.get_attr("NFTA_TABLE_NAME")), int(t["nfgen_family"]))
                for t in nft.get_tables()
            ]
    except Exception:
        ignored("listing nf_tables tables over netlink (both tools are asked instead)")
        return None


def _have(tool: str) -> bool:
    return shutil.which(tool) is not None


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _read_listening() -> tuple[tuple[str, int], ...]:
    found = []
    try:
        with open("/proc/net/tcp", encoding="ascii") as fh:
            next(fh)
            for line in fh:
                parts = line.split()
                if parts[3] != "0A":  # LISTEN
                    continue
                hexaddr, hexport = parts[1].split(":")
                addr = str(ipaddress.IPv4Address(bytes.fromhex(hexaddr)[::-1]))
                found.append((addr, int(hexport, 16)))
    except (OSError, StopIteration):
        pass
    return tuple(found)


def read_current_namespace(
    name: str, firewall: Firewall | None = None, ipr: IPRoute | None = None
) -> Namespace:
    """Read the namespace the calling process is in (run inside it).

    ``firewall``: its rules, already read by the caller (see :func:`read_firewall`);
    ``ipr``: a netlink client of the caller's to use.
    """
    links, all_routes, neighbours = _read_links_and_routes(ipr)
    routes, special = _split_routes(all_routes)
    return Namespace(
        name=name,
        links=links,
        routes=routes,
        special_routes=special,
        ip_forward=_read_int("/proc/sys/net/ipv4/ip_forward") or 0,
        firewall=read_firewall() if firewall is None else firewall,
        listening=_read_listening(),
        bridge_nf_call_iptables=_read_int("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        rp_filter_all=_conf("all", "rp_filter") or 0,
        neighbours=neighbours,
    )


def _list_learner_namespaces() -> list[str]:
    """The namespace files in the world's /run/netns (symlinks, FIFOs, plain files
    and the like are skipped without being opened for reading; see inns.open_entry)."""
    return inns.namespace_entries()


#: Namespaces read at once (one forked helper each).
READ_PARALLEL = 8


NUD_INCOMPLETE = 0x01
NUD_FAILED = 0x20


def forget_unresolved_neighbours_here(ipr: IPRoute | None = None) -> int:
    """Drop neighbour entries still resolving or failed; return how many.

    After a probe that got no answer the kernel keeps a FAILED entry for a few
    seconds and answers the next packet only after its next ARP retry (1 s),
    longer than a probe waits. Resolved entries (what `ip neigh` teaches) stay.
    """
    if ipr is None:
        with IPRoute() as own:
            return forget_unresolved_neighbours_here(own)
    dropped = 0
    for entry in ipr.get_neighbours(family=2):
        if entry["state"] & (NUD_INCOMPLETE | NUD_FAILED):
            try:
                ipr.neigh(
                    "del",
                    dst=entry.get("NDA_DST"),
                    ifindex=entry["ifindex"],
                )
                dropped += 1
            except NetlinkError:
                continue
    return dropped


def _forget_then_read(name: str) -> Namespace:
    with IPRoute() as ipr:
        forget_unresolved_neighbours_here(ipr)
        return read_current_namespace(name, ipr=ipr)


def read_each_namespace(world: World, reader: Callable[[str], T]) -> dict[str, T]:
    """``reader(name)`` run inside every namespace of ``world`` (in parallel, one child
    each); a namespace that vanished meanwhile is left out."""
    names = [HOST_NS, INTERNET_NS, *inns.run(world, HOST_NS, _list_learner_namespaces)]
    results: list[object] = []
    for at in range(0, len(names), READ_PARALLEL):
        batch = names[at : at + READ_PARALLEL]
        results += inns.run_many(world, [(n, reader, (n,)) for n in batch])
    return {
        n: r  # type: ignore[misc]
        for n, r in zip(names, results, strict=True)
        if not isinstance(r, inns.NamespaceGone)
    }


def _forget_signal_then_read(name: str, forgotten_fd: int) -> Namespace:
    """Drop stale neighbour entries, say so on ``forgotten_fd``, then read the namespace."""
    with IPRoute() as ipr:
        try:
            forget_unresolved_neighbours_here(ipr)
        finally:
            os.write(forgotten_fd, b".")
            os.close(forgotten_fd)
        return read_current_namespace(name, ipr=ipr)


@dataclass
class Reading:
    """A snapshot being read (:func:`start_reading`): one child per namespace."""

    world: World
    names: list[str]  # every namespace being read, host and internet first
    pendings: list[inns.Pending]
    results: dict[str, Any] | None = None  # read already (a world too large to read at once)
    said_fd: int = -1  # the readers' pipe, until :func:`await_said` has heard them all

    def learner_namespaces(self) -> list[str]:
        return [n for n in self.names if n not in (HOST_NS, INTERNET_NS)]


#: A reader for :func:`start_reading`: ``reader(name, fd)`` writes one byte to ``fd``
#: (and closes it) once probes may be sent, then returns what it read.
SignallingReader = Callable[[str, int], Any]


def start_reading(
    world: World,
    reader: SignallingReader = _forget_signal_then_read,
    wait: float | None = 10.0,
) -> Reading:
    """Start reading every namespace of ``world`` and, unless ``wait`` is None, return once
    each reader said probes may go (see :func:`await_said`; by default: once its stale
    neighbour entries are gone, see :func:`forget_unresolved_neighbours_here`).

    From then on probes may be sent while the rest is read: the engine overlaps the
    two, and hands each probe the snapshot when :func:`finish_reading` has it.
    """
    names = [HOST_NS, INTERNET_NS, *inns.run(world, HOST_NS, _list_learner_namespaces)]
    said_r, said_w = os.pipe()
    pendings: list[inns.Pending] = []
    try:
        if len(names) > READ_PARALLEL:  # read in batches, as read_world does, then send
            found = _read_in_batches(world, names, reader, said_w)
            os.close(said_r)
            return Reading(world, names, [], found)
        try:
            for name in names:
                pendings.append(inns.start(world, name, reader, name, said_w))
        except BaseException:
            for pending in pendings:
                inns.discard(pending)
            os.close(said_r)
            raise
    finally:
        os.close(said_w)
    reading = Reading(world, names, pendings, said_fd=said_r)
    if wait is not None:
        await_said(reading, wait)
    return reading


def await_said(reading: Reading, wait: float = 10.0) -> None:
    """Return once every reader of ``reading`` said probes may go (or died, or ``wait`` s)."""
    if reading.said_fd < 0:
        return
    try:
        _await_bytes(reading.said_fd, len(reading.pendings), wait)
    finally:
        os.close(reading.said_fd)
        reading.said_fd = -1


def _read_in_batches(
    world: World, names: list[str], reader: SignallingReader, said_w: int
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for at in range(0, len(names), READ_PARALLEL):
        batch = names[at : at + READ_PARALLEL]
        results = inns.run_many(world, [(n, reader, (n, said_w)) for n in batch])
        found.update(
            (n, r)
            for n, r in zip(batch, results, strict=True)
            if not isinstance(r, inns.NamespaceGone)
        )
    return found


def _await_bytes(fd: int, count: int, wait: float) -> None:
    """Read ``count`` bytes from pipe ``fd``, or until every writer is gone, or ``wait`` s."""
    deadline = time.monotonic() + wait
    got = 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return
        chunk = os.read(fd, 64)
        if not chunk:  # every child said so, or died
            return
        got += len(chunk)


def finish_each(reading: Reading) -> dict[str, Any]:
    """What each reader of :func:`start_reading` returned, by namespace (a namespace gone
    meanwhile is left out; every child is collected, even after an error)."""
    if reading.said_fd >= 0:
        os.close(reading.said_fd)
        reading.said_fd = -1
    if reading.results is not None:
        return reading.results
    found: dict[str, Any] = {}
    failure: BaseException | None = None
    for name, pending in zip(reading.names, reading.pendings, strict=True):
        try:
            found[name] = inns.collect(pending)
        except inns.NamespaceGone:
            continue
        except Exception as exc:  # raised below, once every child is reaped
            failure = failure or exc
    reading.pendings = []
    if failure is not None:
        raise failure
    reading.results = found
    return found


def finish_reading(reading: Reading) -> WorldState:
    """The snapshot :func:`start_reading` began (with the default reader)."""
    spaces = finish_each(reading)
    return WorldState(world=reading.world.name, namespaces=spaces, taken_at=time.time())


def abandon_reading(reading: Reading) -> None:
    """End the children of a reading nobody will finish."""
    if reading.said_fd >= 0:
        os.close(reading.said_fd)
        reading.said_fd = -1
    for pending in reading.pendings:
        inns.discard(pending)
    reading.pendings = []


def read_world(world: World, forget_unresolved: bool = False) -> WorldState:
    """Snapshot every namespace of ``world`` (in parallel, one child each).

    With ``forget_unresolved`` each child first drops the neighbour entries a
    failed probe left behind (see :func:`forget_unresolved_neighbours_here`), as
    the engine wants before it sends probes.
    """
    reader = _forget_then_read if forget_unresolved else read_current_namespace
    spaces = read_each_namespace(world, reader)
    return WorldState(world=world.name, namespaces=spaces, taken_at=time.time())


def route_get_here(dst: str, src: str | None = None) -> dict[str, str | None]:
    """What ``ip route get DST`` answers in the calling namespace."""
    with IPRoute() as ipr:
        try:
            kwargs: dict[str, str] = {"dst": dst}
            if src:
                kwargs["src"] = src
            msg = ipr.route("get", **kwargs)[0]
        except NetlinkError as exc:
            return {"error": os.strerror(exc.code)}
        oif = msg.get("RTA_OIF")
        dev = None
        if oif:
            link = ipr.get_links(oif)
            dev = link[0].get("ifname") if link else None
        kind = {1: "unicast", 2: "local", 7: "unreachable"}.get(msg["type"], str(msg["type"]))
        return {
            "dev": dev,
            "gateway": msg.get("RTA_GATEWAY"),
            "prefsrc": msg.get("RTA_PREFSRC"),
            "type": kind,
            "error": None,
        }


def route_get(world: World, ns: str, dst: str) -> dict[str, str | None]:
    result: dict[str, str | None] = inns.run(world, ns, route_get_here, dst)
    return result


def describe_route_get(dst: str, answer: dict[str, str | None]) -> str:
    """``ip route get``-style text for evidence."""
    if answer.get("error"):
        return f"ip route get {dst}: RTNETLINK answers: {answer['error']}"
    if answer.get("type") == "local":
        return f"ip route get {dst}: local {dst} dev lo"
    text = f"ip route get {dst}: {dst}"
    if answer.get("gateway"):
        text += f" via {answer['gateway']}"
    text += f" dev {answer.get('dev')}"
    if answer.get("prefsrc"):
        text += f" src {answer['prefsrc']}"
    return text
