"""A snapshot of a world's kernel network state, read through netlink.

For each namespace of a world (``host``, ``internet`` and every name in the
world's ``/run/netns``) this reads the links (with their veth peers and bridge
masters), IPv4 addresses, the main routing table in the kernel's own order,
``net.ipv4.ip_forward``, the iptables rules of both backends, and the TCP
sockets that listen. The snapshot is plain data: the map in the TUI draws it,
the diagnoses reason on it, and tests can build one by hand.

Reading happens inside each namespace (see :mod:`lab.inns`), with pyroute2
for netlink and ``iptables-save`` for the firewall.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import subprocess
import time
from dataclasses import dataclass, field

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from lab import inns
from lab.world import HOST_NS, INTERNET_NS, World

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str | None  # "veth", "bridge", None for lo and plain devices
    up: bool  # administratively up (ip link set X up)
    carrier: bool  # the other end is up too (LOWER_UP)
    mac: str
    master: str | None = None  # the bridge this link is a port of
    peer_index: int | None = None  # veth: ifindex of the other end
    peer_elsewhere: bool = False  # veth: the other end is in another namespace
    addresses: tuple[str, ...] = ()  # IPv4, CIDR form


@dataclass(frozen=True)
class Route:
    dst: str  # "default" or a CIDR such as "172.18.0.0/16"
    dev: str | None
    gateway: str | None = None
    proto: str = "boot"
    scope: str = "universe"
    prefsrc: str | None = None
    linkdown: bool = False

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network("0.0.0.0/0" if self.dst == "default" else self.dst)

    def text(self) -> str:
        parts = [self.dst]
        if self.gateway:
            parts += ["via", self.gateway]
        if self.dev:
            parts += ["dev", self.dev]
        if self.proto != "boot":
            parts += ["proto", self.proto]
        if self.scope != "universe":
            parts += ["scope", self.scope]
        if self.prefsrc:
            parts += ["src", self.prefsrc]
        if self.linkdown:
            parts.append("linkdown")
        return " ".join(parts)


@dataclass(frozen=True)
class Rule:
    """One iptables rule, from ``iptables-save``, with the fields the lab reasons on."""

    table: str
    chain: str
    text: str  # as iptables-save prints it, without "-A CHAIN"
    target: str | None = None
    source: str | None = None
    source_negated: bool = False
    destination: str | None = None
    destination_negated: bool = False
    in_if: str | None = None
    in_negated: bool = False
    out_if: str | None = None
    out_negated: bool = False
    protocol: str | None = None
    dport: str | None = None
    to_destination: str | None = None
    backend: str = "nft"


@dataclass(frozen=True)
class Firewall:
    policies: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> chain -> policy
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> user chains
    rules: tuple[Rule, ...] = ()

    def in_chain(self, table: str, chain: str) -> list[Rule]:
        return [r for r in self.rules if r.table == table and r.chain == chain]

    def policy(self, table: str, chain: str) -> str:
        return self.policies.get(table, {}).get(chain, "ACCEPT")


@dataclass(frozen=True)
class Namespace:
    name: str
    links: tuple[Link, ...]
    routes: tuple[Route, ...]
    ip_forward: int
    firewall: Firewall
    listening: tuple[tuple[str, int], ...] = ()  # TCP (address, port)
    bridge_nf_call_iptables: int | None = None

    def link(self, name: str) -> Link | None:
        return next((link for link in self.links if link.name == name), None)

    def link_by_index(self, index: int) -> Link | None:
        return next((link for link in self.links if link.index == index), None)

    def addresses(self) -> list[tuple[str, Link]]:
        return [(addr, link) for link in self.links for addr in link.addresses]

    def owns(self, ip: str) -> Link | None:
        """The link carrying address ``ip`` here, if any."""
        for link in self.links:
            for cidr in link.addresses:
                if cidr.split("/")[0] == ip:
                    return link
        return None


@dataclass(frozen=True)
class WorldState:
    world: str
    namespaces: dict[str, Namespace]
    taken_at: float = 0.0

    def ns(self, name: str) -> Namespace | None:
        return self.namespaces.get(name)

    def learner_namespaces(self) -> list[str]:
        return [n for n in self.namespaces if n not in (HOST_NS, INTERNET_NS)]

    def peer(self, ns: str, link: Link) -> tuple[str, Link] | None:
        """The other end of veth ``link`` in namespace ``ns``, wherever it is."""
        if link.kind != "veth" or link.peer_index is None:
            return None
        if not link.peer_elsewhere:
            here = self.namespaces[ns].link_by_index(link.peer_index)
            return (ns, here) if here else None
        for other_name, other in self.namespaces.items():
            if other_name == ns:
                continue
            cand = other.link_by_index(link.peer_index)
            if (
                cand
                and cand.kind == "veth"
                and cand.peer_index == link.index
                and cand.peer_elsewhere
            ):
                return other_name, cand
        return None

    def find_link(self, name: str) -> list[tuple[str, Link]]:
        """Every namespace that has a link called ``name``."""
        return [(n, s.link(name)) for n, s in self.namespaces.items() if s.link(name)]  # type: ignore[misc]


# ------------------------------------------------------------ reading (in-ns)

_PROTOS = {2: "kernel", 3: "boot", 4: "static", 16: "dhcp"}
_SCOPES = {0: "universe", 200: "site", 253: "link", 254: "host", 255: "nowhere"}


def _read_links_and_routes() -> tuple[tuple[Link, ...], tuple[Route, ...]]:
    with IPRoute() as ipr:
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
                )
            )
        routes = []
        for r in ipr.get_routes(family=2, table=254):
            if r["type"] != 1:  # unicast only
                continue
            dst = r.get("RTA_DST")
            routes.append(
                Route(
                    dst=f"{dst}/{r['dst_len']}" if dst else "default",
                    dev=names.get(r.get("RTA_OIF")),
                    gateway=r.get("RTA_GATEWAY"),
                    proto=_PROTOS.get(r["proto"], str(r["proto"])),
                    scope=_SCOPES.get(r["scope"], str(r["scope"])),
                    prefsrc=r.get("RTA_PREFSRC"),
                    linkdown=bool(r["flags"] & 16),
                )
            )
    return tuple(links), tuple(routes)


def parse_iptables_save(text: str, backend: str = "nft") -> Firewall:
    policies: dict[str, dict[str, str]] = {}
    chains: dict[str, list[str]] = {}
    rules: list[Rule] = []
    table = "filter"
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            policies.setdefault(table, {})
            chains.setdefault(table, [])
            continue
        if line.startswith(":"):
            name, policy = line[1:].split()[:2]
            if policy == "-":
                chains.setdefault(table, []).append(name)
            else:
                policies.setdefault(table, {})[name] = policy
            continue
        if line.startswith("-A "):
            rules.append(_parse_rule(table, line, backend))
    return Firewall(
        policies=policies,
        chains={t: tuple(c) for t, c in chains.items()},
        rules=tuple(rules),
    )


def _parse_rule(table: str, line: str, backend: str) -> Rule:
    try:
        tokens = shlex.split(line)
    except ValueError:
        tokens = line.split()
    chain = tokens[1]
    fields: dict[str, object] = {}
    negate = False
    options = {
        "-s": "source",
        "-d": "destination",
        "-i": "in_if",
        "-o": "out_if",
        "-p": "protocol",
        "--dport": "dport",
        "-j": "target",
        "--to-destination": "to_destination",
    }
    i = 2
    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            negate = True
            i += 1
            continue
        key = options.get(tok)
        if key and i + 1 < len(tokens):
            fields[key] = tokens[i + 1]
            if key in ("source", "destination", "in_if", "out_if"):
                fields[key.split("_")[0] + "_negated" if "_" in key else key + "_negated"] = negate
            i += 2
        else:
            i += 1
        negate = False
    return Rule(
        table=table,
        chain=chain,
        text=" ".join(tokens[2:]),
        target=fields.get("target"),  # type: ignore[arg-type]
        source=fields.get("source"),  # type: ignore[arg-type]
        source_negated=bool(fields.get("source_negated")),
        destination=fields.get("destination"),  # type: ignore[arg-type]
        destination_negated=bool(fields.get("destination_negated")),
        in_if=fields.get("in_if"),  # type: ignore[arg-type]
        in_negated=bool(fields.get("in_negated")),
        out_if=fields.get("out_if"),  # type: ignore[arg-type]
        out_negated=bool(fields.get("out_negated")),
        protocol=fields.get("protocol"),  # type: ignore[arg-type]
        dport=fields.get("dport"),  # type: ignore[arg-type]
        to_destination=fields.get("to_destination"),  # type: ignore[arg-type]
        backend=backend,
    )


def _run_save(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _read_firewall() -> Firewall:
    nft = parse_iptables_save(_run_save(["iptables-nft-save"]), "nft")
    legacy_tables = ""
    try:
        with open("/proc/net/ip_tables_names", encoding="ascii") as fh:
            legacy_tables = fh.read().strip()
    except OSError:
        pass
    if not legacy_tables:
        return nft
    legacy = parse_iptables_save(_run_save(["iptables-legacy-save"]), "legacy")
    policies = {t: dict(c) for t, c in nft.policies.items()}
    for t, legacy_policies in legacy.policies.items():
        for c, p in legacy_policies.items():
            if p != "ACCEPT":
                policies.setdefault(t, {})[c] = p
    user_chains = {t: tuple(names) for t, names in nft.chains.items()}
    for t, names in legacy.chains.items():
        user_chains[t] = tuple(dict.fromkeys((*user_chains.get(t, ()), *names)))
    return Firewall(policies=policies, chains=user_chains, rules=nft.rules + legacy.rules)


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


def read_current_namespace(name: str) -> Namespace:
    """Read the namespace the calling process is in (run inside it)."""
    links, routes = _read_links_and_routes()
    return Namespace(
        name=name,
        links=links,
        routes=routes,
        ip_forward=_read_int("/proc/sys/net/ipv4/ip_forward") or 0,
        firewall=_read_firewall(),
        listening=_read_listening(),
        bridge_nf_call_iptables=_read_int("/proc/sys/net/bridge/bridge-nf-call-iptables"),
    )


def _list_learner_namespaces() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except OSError:
        return []


NUD_INCOMPLETE = 0x01
NUD_FAILED = 0x20


def forget_unresolved_neighbours_here() -> int:
    """Drop neighbour entries still resolving or failed; return how many.

    After a probe that got no answer the kernel keeps a FAILED entry for a few
    seconds and answers the next packet only after its next ARP retry (1 s),
    longer than a probe waits. Resolved entries (what `ip neigh` teaches) stay.
    """
    dropped = 0
    with IPRoute() as ipr:
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
    forget_unresolved_neighbours_here()
    return read_current_namespace(name)


def read_world(world: World, forget_unresolved: bool = False) -> WorldState:
    """Snapshot every namespace of ``world`` (in parallel, one child each).

    With ``forget_unresolved`` each child first drops the neighbour entries a
    failed probe left behind (see :func:`forget_unresolved_neighbours_here`), as
    the engine wants before it sends probes.
    """
    names = [HOST_NS, INTERNET_NS, *inns.run(world, HOST_NS, _list_learner_namespaces)]
    reader = _forget_then_read if forget_unresolved else read_current_namespace
    results = inns.run_many(world, [(n, reader, (n,)) for n in names])
    spaces = {n: r for n, r in zip(names, results, strict=True) if isinstance(r, Namespace)}
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
