"""Why can't A reach B? Follow the packet through a snapshot of the world.

The tracer walks the path a packet would take, hop by hop, the way the kernel
decides it, and stops at the first thing that breaks it::

    netns0 ──ceth0══veth0──┐                  eth0 ═══ eth0 ── internet
                           br0 (host) ── ip_forward? ── MASQUERADE? ── reply?
    netns1 ──ceth1══veth1──┘

At each namespace: is the destination local? which route wins (longest prefix;
among equal prefixes the first one, which is how a route clash hides a
container)? is the outgoing link up, and its veth peer? who is on the other
side at layer 2 (a peer, or a bridge and all of its ports)? does someone there
own the next-hop address? If the packet must be routed on: is ``ip_forward``
on, does the FORWARD chain let it through, is it masqueraded on its way out?
Finally the reply must find its way back to the (possibly translated) source.

It is pure logic on :class:`lab.state.WorldState`, so tests can feed it
snapshots built by hand; the probes tell *whether* a packet got through, the
tracer tells *why not*.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from checks.causes import Cause
from lab.state import Link, Namespace, Route, Rule, WorldState

UPLINK = "eth0"


@dataclass(frozen=True)
class Diagnosis:
    """Why a packet does not get through: one cause, a sentence, the facts behind it."""

    cause: Cause
    explanation: str
    evidence: Sequence[str] = ()  # kept as a tuple
    #: commands that show more (always given for an unexplained failure)
    look_further: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cause", Cause(self.cause))
        object.__setattr__(self, "evidence", tuple(self.evidence))


@dataclass
class _Delivered:
    ns: str
    src_ip: str  # the source address as the receiver sees it
    nat: list[tuple[str, str]]  # (namespace that translated, original source)
    hops: list[str]


def _ip(value: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value)


def lookup(ns: Namespace, dst: str) -> tuple[Route | None, list[Route]]:
    """The route the kernel would pick for ``dst`` and any clashing twins."""
    best: Route | None = None
    for route in ns.routes:
        if _ip(dst) in route.network and (
            best is None or route.network.prefixlen > best.network.prefixlen
        ):
            best = route
    if best is None:
        return None, []
    twins = [r for r in ns.routes if r.dst == best.dst and r is not best]
    return best, twins


def _source_for(ns: Namespace, route: Route) -> str | None:
    if route.prefsrc:
        return route.prefsrc
    link = ns.link(route.dev) if route.dev else None
    if link and link.addresses:
        return link.addresses[0].split("/")[0]
    for addr, owner in ns.addresses():
        if owner.name != "lo":
            return addr.split("/")[0]
    return None


def _matches_addr(spec: str | None, negated: bool, ip: str) -> bool:
    if spec is None:
        return True
    inside = _ip(ip) in ipaddress.IPv4Network(spec, strict=False)
    return inside != negated


def _matches_if(spec: str | None, negated: bool, name: str | None) -> bool:
    if spec is None:
        return True
    if name is None:
        return negated
    hit = spec == name or (spec.endswith("+") and name.startswith(spec[:-1]))
    return hit != negated


def _rule_matches(
    rule: Rule,
    src: str,
    dst: str,
    in_if: str | None,
    out_if: str | None,
    proto: str,
    port: int | None,
) -> bool:
    if not _matches_addr(rule.source, rule.source_negated, src):
        return False
    if not _matches_addr(rule.destination, rule.destination_negated, dst):
        return False
    if not _matches_if(rule.in_if, rule.in_negated, in_if):
        return False
    if not _matches_if(rule.out_if, rule.out_negated, out_if):
        return False
    if rule.protocol and rule.protocol not in (proto, "all"):
        return False
    return not (rule.dport and (port is None or str(port) != rule.dport))


def _chain_verdict(
    ns: Namespace,
    table: str,
    chain: str,
    flow: tuple[str, str, str | None, str | None, str, int | None],
) -> tuple[str, Rule | None]:
    """First terminal verdict in a built-in chain (user chains are not followed)."""
    for rule in ns.firewall.in_chain(table, chain):
        if rule.target in ("ACCEPT", "DROP", "REJECT") and _rule_matches(rule, *flow):
            return rule.target, rule
    return ns.firewall.policy(table, chain), None


def unexplained(
    src_ns: str, dst: str, proto: str, port: int | None, evidence: list[str]
) -> Diagnosis:
    """The explicit cause for a loss the model cannot explain, with where to look next."""
    target = f"{dst}:{port}" if port else dst
    return Diagnosis(
        Cause.UNEXPLAINED,
        f"The packets from {src_ns} to {target} ({proto}) were lost, but the lab's model of "
        "the network sees nothing that stops them. The evidence below is what it checked; "
        "the commands show what the kernel really does.",
        tuple(evidence),
        look_further=(
            f"ip netns exec {src_ns} ip route get {dst}",
            f"ip netns exec {src_ns} ip neigh",
            "iptables-save -c; iptables-legacy-save -c  (in each namespace on the path)",
            "nft list ruleset  (in each namespace on the path)",
        ),
    )


class Tracer:
    def __init__(self, state: WorldState) -> None:
        self.state = state

    # -------------------------------------------------------------- public

    def trace(
        self, src_ns: str, dst: str, proto: str = "icmp", port: int | None = None
    ) -> Diagnosis | None:
        """The primary cause why ``src_ns`` cannot reach ``dst``, or None if the path is fine."""
        if self.state.ns(src_ns) is None:
            return Diagnosis(
                Cause.NETNS_MISSING,
                f"There is no network namespace called {src_ns} (yet), so nothing can run in it.",
                [f"ip netns list: {', '.join(self.state.learner_namespaces()) or '(empty)'}"],
            )
        outcome = self._forward(src_ns, None, dst, proto, port, depth=0, hops=[], nat=[])
        if isinstance(outcome, Diagnosis):
            return outcome
        return self._reply(outcome, src_ns, dst, proto, port)

    def explain(
        self, src_ns: str, dst: str, proto: str = "icmp", port: int | None = None
    ) -> Diagnosis:
        """Why ``src_ns`` could not reach ``dst``, after a probe showed it cannot: never None.

        When the model sees nothing wrong the answer is :attr:`Cause.UNEXPLAINED`, with
        the path the model followed and the commands that show what the kernel did.
        """
        found = self.trace(src_ns, dst, proto, port)
        if found is not None:
            return found
        return unexplained(src_ns, dst, proto, port, self._path_evidence(src_ns, dst))

    def _path_evidence(self, src_ns: str, dst: str) -> list[str]:
        route, _ = lookup(self.state.namespaces[src_ns], dst)
        return [f"{src_ns}: ip route get {dst} -> {route.text() if route else 'unreachable'}"]

    # ------------------------------------------------------------- forward

    def _forward(
        self,
        ns_name: str,
        src_ip: str | None,
        dst: str,
        proto: str,
        port: int | None,
        depth: int,
        hops: list[str],
        nat: list[tuple[str, str]],
        in_if: str | None = None,
    ) -> _Delivered | Diagnosis:
        ns = self.state.namespaces[ns_name]
        if depth > 6:
            return Diagnosis(Cause.ROUTE_MISSING, "The packet goes round in a loop.", hops)
        dst = self._dnat(ns_name, ns, src_ip, dst, proto, port, in_if, hops)
        if isinstance(dst, Diagnosis):
            return dst
        if ns.owns(dst):
            if src_ip is not None:
                blocked = self._firewall(
                    ns_name, ns, "INPUT", src_ip, dst, in_if, None, proto, port
                )
                if blocked:
                    return Diagnosis(blocked[0], blocked[1], [*hops, blocked[2]])
            if src_ip is None:
                lo = ns.link("lo")
                if lo is not None and not lo.up:
                    return Diagnosis(
                        Cause.LINK_DOWN,
                        f"In {ns_name} the loopback interface lo is down, so even its own "
                        f"address {dst} does not answer. Bring lo up.",
                        [f"{ns_name}: lo is DOWN"],
                    )
                src_ip = dst
            hops.append(f"{ns_name}: {dst} is a local address")
            return _Delivered(ns_name, src_ip, nat, hops)
        if ns_name == "internet" and src_ip is not None:
            return self._lost_outside(dst, hops)
        if src_ip is not None and ns.ip_forward == 0:
            return Diagnosis(
                Cause.IP_FORWARD_OFF,
                f"The packet reached {ns_name}, which would have to pass it on to {dst}, "
                f"but {ns_name} does not forward packets: net.ipv4.ip_forward is 0 there.",
                [*hops, f"{ns_name}: net.ipv4.ip_forward = 0 (dropped here)"],
            )
        route, twins = lookup(ns, dst)
        if route is None:
            return self._no_route(ns_name, ns, dst, hops, routed=src_ip is not None)
        hops.append(f"{ns_name}: ip route get {dst} -> {route.text()}")
        out = ns.link(route.dev) if route.dev else None
        if out is None:
            return Diagnosis(
                Cause.LINK_MISSING, f"{ns_name} routes {dst} to a missing device.", hops
            )
        if src_ip is None:
            src_ip = _source_for(ns, route)
            if src_ip is None:
                return Diagnosis(
                    Cause.ADDRESS_MISSING,
                    f"{ns_name} has no IPv4 address to send from. Give its interface an "
                    "address with `ip addr add`.",
                    [*hops, f"{ns_name}: no IPv4 address on any interface"],
                )
            blocked = self._firewall(
                ns_name, ns, "OUTPUT", src_ip, dst, None, out.name, proto, port
            )
            if blocked:
                return Diagnosis(blocked[0], blocked[1], [*hops, blocked[2]])
        elif in_if is not None:
            verdict, rule = _chain_verdict(
                ns, "filter", "FORWARD", (src_ip, dst, in_if, out.name, proto, port)
            )
            if verdict != "ACCEPT":
                return Diagnosis(
                    Cause.FORWARD_BLOCKED,
                    f"{ns_name} would forward the packet from {in_if} to {out.name}, but "
                    "its iptables FORWARD chain drops it.",
                    [
                        *hops,
                        f"{ns_name}: " + (f"-A FORWARD {rule.text}" if rule else "-P FORWARD DROP"),
                    ],
                )
        down = self._link_problem(ns_name, out)
        if down:
            return Diagnosis(Cause.LINK_DOWN, down, [*hops, down])
        translated = self._snat(ns_name, ns, src_ip, dst, out.name, proto, port, in_if)
        if translated != src_ip:
            hops.append(f"{ns_name}: MASQUERADE rewrites the source {src_ip} -> {translated}")
            nat = [*nat, (ns_name, src_ip)]
            src_ip = translated
        next_hop = route.gateway or dst
        found = self._neighbour(ns_name, out, next_hop)
        if found is None:
            return self._nobody_answers(ns_name, out, route, twins, next_hop, dst, hops)
        there, there_if = found
        hops.append(f"{ns_name} -> {there} (arrives on {there_if})")
        return self._forward(there, src_ip, dst, proto, port, depth + 1, hops, nat, in_if=there_if)

    def _firewall(
        self,
        ns_name: str,
        ns: Namespace,
        chain: str,
        src: str,
        dst: str,
        in_if: str | None,
        out_if: str | None,
        proto: str,
        port: int | None,
    ) -> tuple[Cause, str, str] | None:
        """(cause, explanation, evidence) if the filter ``chain`` drops this packet."""
        verdict, rule = _chain_verdict(ns, "filter", chain, (src, dst, in_if, out_if, proto, port))
        if verdict == "ACCEPT":
            return None
        what = "packets it sends" if chain == "OUTPUT" else "packets addressed to it"
        return (
            Cause.FIREWALL_BLOCKED,
            f"The iptables {chain} chain of {ns_name} drops {what} ({src} -> {dst}).",
            f"{ns_name}: " + (f"-A {chain} {rule.text}" if rule else f"-P {chain} {verdict}"),
        )

    def _lost_outside(self, dst: str, hops: list[str]) -> Diagnosis:
        """A packet for a lab address went out of eth0: the sender had no better route."""
        origin = hops[0].split(":", 1)[0] if hops else "host"
        owners = self._owners(dst)
        for name, ns in self.state.namespaces.items():
            for link in ns.links:
                if link.kind == "bridge" and not link.addresses and owners:
                    return Diagnosis(
                        Cause.ADDRESS_MISSING,
                        f"{origin} has no route into {dst}'s network, so it sends the packet to "
                        f"its default gateway, out of eth0, where it is lost. The bridge "
                        f"{link.name} in {name} has no address yet; with one, {name} gets a "
                        "route to the containers.",
                        [*hops, f"{name}: {link.name} has no IPv4 address"],
                    )
        return Diagnosis(
            Cause.ROUTE_MISSING,
            f"{origin} has no route to {dst}, so the packet follows the default route out of "
            "eth0 to the internet, which knows nothing about private lab addresses.",
            [*hops, f"internet: no route to {dst} (lost here)"],
        )

    def _dnat(
        self,
        ns_name: str,
        ns: Namespace,
        src_ip: str | None,
        dst: str,
        proto: str,
        port: int | None,
        in_if: str | None,
        hops: list[str],
    ) -> str:
        chain = "OUTPUT" if src_ip is None else "PREROUTING"
        for rule in ns.firewall.in_chain("nat", chain):
            if rule.target != "DNAT" or not rule.to_destination:
                continue
            if _rule_matches(rule, src_ip or dst, dst, in_if, None, proto, port):
                new = rule.to_destination.split(":")[0]
                hops.append(f"{ns_name}: {chain} DNAT {dst} -> {rule.to_destination}")
                return new
        return dst

    def _snat(
        self,
        ns_name: str,
        ns: Namespace,
        src_ip: str,
        dst: str,
        out_if: str,
        proto: str,
        port: int | None,
        in_if: str | None,
    ) -> str:
        for rule in ns.firewall.in_chain("nat", "POSTROUTING"):
            if rule.target not in ("MASQUERADE", "SNAT"):
                continue
            if _rule_matches(rule, src_ip, dst, None, out_if, proto, port):
                link = ns.link(out_if)
                if link and link.addresses:
                    return link.addresses[0].split("/")[0]
        return src_ip

    def _link_problem(self, ns_name: str, link: Link) -> str | None:
        if not link.up:
            return (
                f"{link.name} in {ns_name} is down: bring it up with `ip link set {link.name} up`."
            )
        if link.kind == "veth":
            peer = self.state.peer(ns_name, link)
            if peer is None:
                return f"{link.name} in {ns_name} has no live peer (its other end was deleted?)."
            pns, plink = peer
            if not plink.up:
                return (
                    f"The other end of {link.name}, {plink.name} in {pns}, is down: a veth "
                    f"pair only carries packets when both ends are up."
                )
            if plink.master:
                bridge = self.state.namespaces[pns].link(plink.master)
                if bridge is not None and not bridge.up:
                    return f"The bridge {bridge.name} in {pns} is down."
        if link.kind == "bridge" and not any(
            lk.master == link.name for lk in self.state.namespaces[ns_name].links
        ):
            return f"The bridge {link.name} in {ns_name} has no ports yet."
        return None

    def _segment(self, ns_name: str, link: Link) -> list[tuple[str, Link]]:
        """Everything on the other side of ``link`` at layer 2: (namespace, interface)."""
        ns = self.state.namespaces[ns_name]
        if link.kind == "bridge":
            out = []
            for port in ns.links:
                if port.master == link.name and port.up:
                    peer = self.state.peer(ns_name, port)
                    if peer and peer[1].up:
                        out.append(peer)
            return out
        if link.kind == "veth":
            peer = self.state.peer(ns_name, link)
            if peer is None:
                return []
            pns, plink = peer
            if plink.master:
                bridge = self.state.namespaces[pns].link(plink.master)
                if bridge is None or not bridge.up:
                    return []
                others = [
                    p
                    for port in self.state.namespaces[pns].links
                    if port.master == bridge.name and port.name != plink.name and port.up
                    for p in [self.state.peer(pns, port)]
                    if p and p[1].up
                ]
                return [(pns, bridge), *others]
            return [peer]
        return []

    def _neighbour(self, ns_name: str, out: Link, ip: str) -> tuple[str, str] | None:
        """Who answers ARP for ``ip`` behind ``out``: (namespace, arrival interface)."""
        for there, link in self._segment(ns_name, out):
            if self.state.namespaces[there].owns(ip):
                return there, link.name
        return None

    def _owners(self, ip: str) -> list[tuple[str, Link]]:
        return [
            (name, link)
            for name, ns in self.state.namespaces.items()
            for link in [ns.owns(ip)]
            if link is not None
        ]

    def _no_route(
        self, ns_name: str, ns: Namespace, dst: str, hops: list[str], routed: bool
    ) -> Diagnosis:
        evidence = [*hops, f"{ns_name}: ip route get {dst} -> Network is unreachable"]
        if all(link.name == "lo" for link in ns.links):
            return Diagnosis(
                Cause.LINK_MISSING,
                f"{ns_name} has nothing but its loopback interface: no cable leads out of it "
                "yet. A veth pair is that cable.",
                [*evidence, f"{ns_name}: links are lo"],
            )
        down = [lk for lk in ns.links if lk.name != "lo" and lk.addresses and not lk.up]
        if down:
            return Diagnosis(
                Cause.LINK_DOWN,
                f"{down[0].name} in {ns_name} is down, and a link that is down takes its "
                f"routes with it: {ns_name} has no route to {dst} any more. Bring "
                f"{down[0].name} up (and add back the routes that went with it).",
                [*evidence, f"{ns_name}: {down[0].name} is DOWN"],
            )
        has_addr = any(owner.name != "lo" for _, owner in ns.addresses())
        if not has_addr:
            return Diagnosis(
                Cause.ADDRESS_MISSING,
                f"{ns_name} has no IPv4 address besides loopback, so it has no route "
                f"anywhere. Give its interface an address.",
                evidence,
            )
        learner = ns_name not in ("host", "internet")
        if learner and not any(r.dst == "default" for r in ns.routes):
            return Diagnosis(
                Cause.GATEWAY_MISSING,
                f"{ns_name} only knows its own subnet; {dst} is outside it and there is no "
                "default route, so the kernel answers 'Network is unreachable'. A "
                "container needs a default route via a gateway.",
                evidence,
            )
        return Diagnosis(
            Cause.ROUTE_MISSING,
            f"{ns_name} has no route that covers {dst}.",
            evidence,
        )

    def _nobody_answers(
        self,
        ns_name: str,
        out: Link,
        route: Route,
        twins: list[Route],
        next_hop: str,
        dst: str,
        hops: list[str],
    ) -> Diagnosis:
        owners = self._owners(next_hop)
        if twins:
            winner = route.text()
            losers = ", ".join(t.text() for t in twins)
            lost = ", ".join(name for name, _ in owners) or "the other side"
            return Diagnosis(
                Cause.ROUTE_CLASH,
                f"{ns_name} has {len(twins) + 1} routes for {route.dst}. The kernel uses the "
                f"first one ({winner}), so packets for {next_hop} leave through {out.name} "
                f"and never reach {lost}: that namespace is in limbo.",
                [*hops, f"{ns_name}: competing route ignored: {losers}"],
            )
        if route.gateway:
            if owners:
                cause = self._why_not_on_segment(ns_name, out, owners)
                if cause:
                    return Diagnosis(cause[0], cause[1], [*hops, *cause[2]])
            return Diagnosis(
                Cause.GATEWAY_UNREACHABLE,
                f"{ns_name} sends {dst} to its gateway {route.gateway}, but nothing reachable "
                f"through {out.name} has that address.",
                [*hops, f"{ns_name}: no neighbour answers ARP for {route.gateway}"],
            )
        if owners:
            cause = self._why_not_on_segment(ns_name, out, owners)
            if cause:
                return Diagnosis(cause[0], cause[1], [*hops, *cause[2]])
            where = ", ".join(f"{link.name} in {name}" for name, link in owners)
            return Diagnosis(
                Cause.ROUTE_MISSING,
                f"{next_hop} belongs to {where}, but {ns_name}'s route sends it out of "
                f"{out.name}, which does not lead there.",
                hops,
            )
        return Diagnosis(
            Cause.ADDRESS_MISSING,
            f"Nothing in the world has the address {next_hop}; check the addresses you gave.",
            [*hops, f"no interface in any namespace has {next_hop}"],
        )

    def _why_not_on_segment(
        self, ns_name: str, out: Link, owners: list[tuple[str, Link]]
    ) -> tuple[Cause, str, list[str]] | None:
        """The owner exists elsewhere: is a veth end missing from the bridge?"""
        bridges = [
            (name, link)
            for name, ns in self.state.namespaces.items()
            for link in ns.links
            if link.kind == "bridge"
        ]
        out_peer = self.state.peer(ns_name, out)
        for owner_ns, owner_link in owners:
            peer = self.state.peer(owner_ns, owner_link)
            if peer and not bridges and out_peer and not out_peer[1].master:
                return (
                    Cause.NOT_BRIDGED,
                    f"{out.name} in {ns_name} and {owner_link.name} in {owner_ns} hang off "
                    f"separate veth pairs ({out_peer[1].name} and {peer[1].name} in "
                    f"{peer[0]}), and nothing joins those ends at layer 2: make them ports "
                    "of one bridge.",
                    [
                        f"{peer[0]}: no bridge; {out_peer[1].name} and {peer[1].name} are unconnected"
                    ],
                )
            if peer and bridges and not peer[1].master and peer[1].kind == "veth":
                bname = bridges[0][1].name
                return (
                    Cause.NOT_BRIDGED,
                    f"{owner_link.name} in {owner_ns} hangs off {peer[1].name} in {peer[0]}, "
                    f"which is not a port of {bname}; attach it with "
                    f"`ip link set {peer[1].name} master {bname}`.",
                    [f"{peer[0]}: {peer[1].name} has no master"],
                )
            if owner_link.kind == "bridge" or (peer and peer[1].master):
                continue
        for owner_ns, owner_link in owners:
            if not owner_link.up:
                return (
                    Cause.LINK_DOWN,
                    f"{owner_link.name} in {owner_ns} carries that address but is down.",
                    [f"{owner_ns}: {owner_link.name} is DOWN"],
                )
        return None

    # --------------------------------------------------------------- reply

    def _reply(
        self, there: _Delivered, src_ns: str, dst: str, proto: str, port: int | None
    ) -> Diagnosis | None:
        receiver = self.state.namespaces[there.ns]
        if proto == "tcp" and port is not None:
            final_dst = self._final_dst(there)
            listening = any(
                p == port and a in ("0.0.0.0", final_dst) for a, p in receiver.listening
            )
            if not listening:
                return self._service_down(there, src_ns, dst, port)
        if there.ns == src_ns and not there.nat:
            return None
        hops: list[str] = [*there.hops, f"reply from {there.ns} to {there.src_ip}"]
        back = self._forward(there.ns, None, there.src_ip, proto, None, 0, hops, [])
        if isinstance(back, Diagnosis):
            return self._explain_reply_failure(back, there, src_ns)
        for nat_ns, original in reversed(there.nat):
            if back.ns != nat_ns:
                break
            back = self._forward(nat_ns, None, original, proto, None, 0, back.hops, [])
            if isinstance(back, Diagnosis):
                return self._explain_reply_failure(back, there, src_ns)
        if back.ns != src_ns:
            return Diagnosis(
                Cause.ROUTE_MISSING,
                f"Replies from {there.ns} end up in {back.ns} instead of {src_ns}.",
                back.hops,
            )
        return None

    def _final_dst(self, there: _Delivered) -> str:
        for hop in reversed(there.hops):
            if hop.endswith("is a local address"):
                return hop.split(": ", 1)[1].split(" ", 1)[0]
        return ""

    def _explain_reply_failure(self, back: Diagnosis, there: _Delivered, src_ns: str) -> Diagnosis:
        if back.cause in ("route-missing", "gateway-missing") and there.ns == "internet":
            return Diagnosis(
                Cause.MASQUERADE_MISSING,
                f"The request reaches {there.ns}, but its source is the private address "
                f"{there.src_ip}, and the outside world has no route back to it, so the "
                "reply never comes. The host must masquerade (SNAT) outgoing traffic.",
                back.evidence,
            )
        if back.cause == "route-clash":
            return replace(
                back,
                explanation=f"The request from {src_ns} arrives, but the reply does not: "
                + back.explanation,
            )
        return back

    def _service_down(self, there: _Delivered, src_ns: str, dst: str, port: int) -> Diagnosis:
        published = [
            (name, addr)
            for name, ns in self.state.namespaces.items()
            for addr, p in ns.listening
            if p == port and name != there.ns
        ]
        if published and there.ns == "host" and dst == self._final_dst(there):
            server = f"{published[0][1]}:{port} in {published[0][0]}"
            if src_ns == "host":
                return Diagnosis(
                    Cause.DNAT_LOCAL_MISSING,
                    f"A server listens on {server}, but a client on the host itself "
                    f"connecting to {dst}:{port} never passes PREROUTING; local traffic "
                    "needs a DNAT rule in the nat OUTPUT chain.",
                    [*there.hops, f"host: nothing listens on {dst}:{port}"],
                )
            return Diagnosis(
                Cause.DNAT_MISSING,
                f"A server listens on {server}, but nothing forwards {dst}:{port} to it: "
                "traffic from outside needs a DNAT rule in the nat PREROUTING chain.",
                [*there.hops, f"host: nothing listens on {dst}:{port}"],
            )
        if any("DNAT" in hop for hop in there.hops) and published:
            return Diagnosis(
                Cause.DNAT_WRONG,
                f"A DNAT rule sends the connection to {there.ns}, but the server listens on "
                f"{published[0][1]}:{port} in {published[0][0]}.",
                there.hops,
            )
        return Diagnosis(
            Cause.SERVICE_DOWN,
            f"Nothing listens on TCP port {port} in {there.ns}: start the server first "
            "(and keep it running).",
            [*there.hops, f"{there.ns}: no socket listening on port {port}"],
        )
