"""Why can't A reach B? Follow the packet through a snapshot of the world.

The tracer walks the path a packet would take, hop by hop, the way the kernel
decides it, and stops at the first thing that breaks it::

    netns0 ──ceth0══veth0──┐                  eth0 ═══ eth0 ── internet
                           br0 (host) ── forwarding? ── FORWARD? ── MASQUERADE? ── reply?
    netns1 ──ceth1══veth1──┘

Leaving a namespace: is the destination local? which route wins (longest
prefix; among equal prefixes the first one, which is how a route clash hides a
container)? the OUTPUT hook (NAT may change the destination), the outgoing
link and its veth peer, the POSTROUTING hook (masquerade), and who answers ARP
for the next hop at layer 2 (a peer, or a bridge and all of its ports).

Crossing a bridge: frames between two ports are switched, not routed, but when
``net.bridge.bridge-nf-call-iptables`` is 1 (br_netfilter, Docker's default)
they still pass the bridge owner's PREROUTING, FORWARD and POSTROUTING hooks.

Arriving in a namespace: reverse-path filtering (``rp_filter``), PREROUTING
(DNAT), then either INPUT (a local address) or forwarding, which the kernel
allows only when the *arriving interface's* ``forwarding`` switch is on
(``ip_forward`` sets them all), then FORWARD and on as above.

Every hook runs the chains of all three firewalls (:mod:`checks.netfilter`).
The reply then travels back with conntrack state ESTABLISHED: NAT is undone,
not re-applied, and the sender's own INPUT chain must let it in.

It is pure logic on :class:`lab.state.WorldState`, so tests feed it snapshots
built by hand or recorded as JSON; the probes tell *whether* a packet got
through, the tracer tells *why not*. Diagnoses are typed (:class:`Diagnosis`
with a :class:`checks.causes.Cause`), and a loss the model cannot explain is
:attr:`Cause.UNEXPLAINED` with its evidence, never a blank.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from checks.causes import Cause
from checks.netfilter import Flow, Packet, Verdict, run_hook, translate
from lab.i18n import _
from lab.model import Diagnosis
from lab.rules import Rule
from lab.state import Link, Namespace, Route, WorldState

if TYPE_CHECKING:
    from checks.witness import Counted

UPLINK = "eth0"
OUTSIDE = ("host", "internet")

__all__ = ["Diagnosis", "Flow", "Tracer", "lookup", "unexplained"]


@dataclass
class _Trail:
    """What the walk has seen so far: the hops (evidence), NAT done, rules it could not judge."""

    origin: str
    hops: list[str] = field(default_factory=list)
    nat: list[tuple[str, Flow, Flow]] = field(default_factory=list)  # (ns, before, after)
    uncertain: list[tuple[str, Rule]] = field(default_factory=list)
    depth: int = 0
    #: namespaces the packet (or its reply) passed through, in order
    visited: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Arrival:
    ns: str
    flow: Flow  # as the receiver sees it (after any NAT)
    in_if: str | None


@dataclass(frozen=True)
class Crossing:
    """A frame switched by a bridge on its way: where, and between which ports."""

    ns: str
    bridge: str
    in_port: str
    out_port: str


def _ip(value: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value)


def lookup(ns: Namespace, dst: str) -> tuple[Route | None, list[Route]]:
    """The route the kernel would pick for ``dst`` and any clashing twins."""
    best: Route | None = None
    for route in (*ns.routes, *ns.special_routes):
        if _ip(dst) in route.network and (
            best is None or route.network.prefixlen > best.network.prefixlen
        ):
            best = route
    if best is None:
        return None, []
    twins = [r for r in ns.routes if r.dst == best.dst and r is not best]
    return best, twins


def _with_source(
    ns_name: str, ns: Namespace, flow: Flow, route: Route, trail: _Trail
) -> Flow | Diagnosis:
    """The flow with the source address the kernel would pick, unless it has one."""
    if flow.src is not None:
        return flow
    src = _source_for(ns, route)
    if src is None:
        return Diagnosis(
            Cause.ADDRESS_MISSING,
            _(
                "{ns_name} has no IPv4 address to send from. Give its interface an address "
                "with `ip addr add`."
            ).format(ns_name=ns_name),
            [
                *trail.hops,
                _("{ns_name}: no IPv4 address on any interface").format(ns_name=ns_name),
            ],
        )
    return replace(flow, src=src)


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


def unexplained(
    src_ns: str, dst: str, proto: str, port: int | None, evidence: list[str]
) -> Diagnosis:
    """The explicit cause for a loss the model cannot explain, with where to look next."""
    target = f"{dst}:{port}" if port else dst
    return Diagnosis(
        Cause.UNEXPLAINED,
        _(
            "The packets from {src_ns} to {target} ({proto}) were lost, but the lab's "
            "model of the network sees nothing that stops them. The evidence below is what "
            "it checked; the commands show what the kernel really does."
        ).format(src_ns=src_ns, target=target, proto=proto),
        tuple(evidence),
        look_further=(
            f"ip netns exec {src_ns} ip route get {dst}",
            f"ip netns exec {src_ns} ip neigh",
            "iptables-save -c; iptables-legacy-save -c  (in each namespace on the path)",
            "nft list ruleset  (in each namespace on the path)",
        ),
    )


#: Asks the kernel what happened to one packet of a flow (see :mod:`checks.witness`).
KernelWitness = Callable[[Flow], "list[Counted]"]


class Tracer:
    def __init__(self, state: WorldState, kernel: KernelWitness | None = None) -> None:
        self.state = state
        #: when given, a loss the model cannot explain is asked of the kernel's counters
        self.kernel = kernel
        #: the walk of the last :meth:`trace_flow` (its hops are evidence for the unexplained)
        self.last_trail: _Trail | None = None

    # -------------------------------------------------------------- public

    def trace(
        self, src_ns: str, dst: str, proto: str = "icmp", port: int | None = None
    ) -> Diagnosis | None:
        """The primary cause why ``src_ns`` cannot reach ``dst``, or None if the path is fine."""
        sport = 40000 if proto in ("tcp", "udp") else None
        return self.trace_flow(Flow(src_ns, dst, proto, port, sport=sport))

    def explain(
        self, src_ns: str, dst: str, proto: str = "icmp", port: int | None = None
    ) -> Diagnosis:
        """Why ``src_ns`` could not reach ``dst``, after a probe showed it cannot: never None.

        When the model sees nothing wrong the answer is :attr:`Cause.UNEXPLAINED`, with
        the path the model followed, the rules it could not judge, and the commands
        that show what the kernel did.
        """
        found = self.trace(src_ns, dst, proto, port)
        if found is not None:
            return found
        trail = self.last_trail
        counted: list[Counted] = []
        if self.kernel is not None and self.state.ns(src_ns) is not None:
            sport = 40000 if proto in ("tcp", "udp") else None
            counted = self.kernel(Flow(src_ns, dst, proto, port, sport=sport))
            if trail is not None:  # other probes may be in flight: keep to the packet's path
                counted = [c for c in counted if c.ns in trail.visited]
            certain = self._from_counters(src_ns, dst, counted, trail)
            if certain is not None:
                return certain
        evidence = list(trail.hops) if trail else []
        if trail:
            evidence += [
                _("{ns}: not modelled, could decide: {rule_listing} ({rule_backend})").format(
                    ns=ns, rule_listing=rule.listing(), rule_backend=rule.backend
                )
                for ns, rule in trail.uncertain
            ]
        evidence += [c.evidence() for c in counted]
        return unexplained(src_ns, dst, proto, port, evidence)

    def _from_counters(
        self, src_ns: str, dst: str, counted: list[Counted], trail: _Trail | None
    ) -> Diagnosis | None:
        """A DROP the kernel counted during the probe: where the packet died, for certain."""
        drops = [c for c in counted if c.drops]
        if not drops:
            return None
        first = drops[0]
        forward = first.hook == "forward"
        return Diagnosis(
            Cause.FORWARD_BLOCKED if forward else Cause.FIREWALL_BLOCKED,
            _(
                "The kernel's own counters show where the packet from {src_ns} to {dst} died: "
                "in {first_ns}, {first_listing} ({first_backend}, chain {first_chain}) counted "
                "it while the probe travelled. (The lab's model could not judge that rule by "
                "itself; the kernel could.)"
            ).format(
                src_ns=src_ns,
                dst=dst,
                first_ns=first.ns,
                first_listing=first.listing,
                first_backend=first.backend,
                first_chain=first.chain,
            ),
            [*(trail.hops if trail else []), *(c.evidence() for c in counted)],
        )

    def trace_flow(self, flow: Flow) -> Diagnosis | None:
        """Follow ``flow`` from its namespace there and back; None if nothing stops it."""
        trail = _Trail(flow.src_ns)
        self.last_trail = trail
        if self.state.ns(flow.src_ns) is None:
            return Diagnosis(
                Cause.NETNS_MISSING,
                _(
                    "There is no network namespace called {flow_src_ns} (yet), so nothing can run "
                    "in it."
                ).format(flow_src_ns=flow.src_ns),
                [f"ip netns list: {', '.join(self.state.learner_namespaces()) or '(empty)'}"],
            )
        before = self._before_sending(flow)
        if before is not None:
            return before
        got = self._originate(flow.src_ns, flow, trail)
        if isinstance(got, Diagnosis):
            return got
        return self._answer(got, flow, trail)

    # --------------------------------------------------- leaving a namespace

    def _originate(self, ns_name: str, flow: Flow, trail: _Trail) -> _Arrival | Diagnosis:
        """A packet made in ``ns_name`` (a request, or a reply to one)."""
        ns = self.state.namespaces[ns_name]
        trail.visited.append(ns_name)
        if self._is_local(ns, flow.dst):
            return self._loopback(ns_name, ns, flow, trail)
        route, twins = lookup(ns, flow.dst)
        wrong = self._prefix_problem(ns_name, ns, flow.dst, route, trail)
        if wrong is not None:
            return wrong
        if route is None:
            return self._no_route(ns_name, ns, flow.dst, trail, routed=False)
        if route.kind != "unicast":
            return self._dropping_route(ns_name, route, flow, trail)
        trail.hops.append(
            _("{ns_name}: ip route get {flow_dst} -> {route_text}").format(
                ns_name=ns_name, flow_dst=flow.dst, route_text=route.text()
            )
        )
        out = ns.link(route.dev) if route.dev else None
        if out is None:
            return Diagnosis(
                Cause.LINK_MISSING,
                _("{ns_name} routes {flow_dst} to a missing device.").format(
                    ns_name=ns_name, flow_dst=flow.dst
                ),
                trail.hops,
            )
        sourced = _with_source(ns_name, ns, flow, route, trail)
        if isinstance(sourced, Diagnosis):
            return sourced
        flow = sourced
        verdict = self._hook(ns_name, ns, "output", Packet(flow, None, out.name), trail)
        if not verdict.accepted:
            return self._blocked(ns_name, "OUTPUT", verdict, flow, trail)
        if verdict.nat is not None:
            changed = translate(flow, verdict.nat, ns, out.name)
            trail.hops.append(
                _(
                    "{ns_name}: OUTPUT DNAT {flow_dst} -> {verdict_nat_to_destination} "
                    "({verdict_nat_backend})"
                ).format(
                    ns_name=ns_name,
                    flow_dst=flow.dst,
                    verdict_nat_to_destination=verdict.nat.to_destination,
                    verdict_nat_backend=verdict.nat.backend,
                )
            )
            trail.nat.append((ns_name, flow, changed))
            flow = changed
            if self._is_local(ns, flow.dst):
                return self._loopback(ns_name, ns, flow, trail, nat_done=True)
            route, twins = lookup(ns, flow.dst)
            if route is None:
                return self._no_route(ns_name, ns, flow.dst, trail, routed=False)
            out = ns.link(route.dev) if route.dev else None
            if out is None:
                return Diagnosis(
                    Cause.LINK_MISSING,
                    _("{ns_name}: no device").format(ns_name=ns_name),
                    trail.hops,
                )
        return self._transmit(ns_name, ns, flow, route, twins, out, None, trail)

    def _loopback(
        self, ns_name: str, ns: Namespace, flow: Flow, trail: _Trail, nat_done: bool = False
    ) -> _Arrival | Diagnosis:
        """A packet for one of the namespace's own addresses: out and in again through lo."""
        lo = ns.link("lo")
        if lo is not None and not lo.up:
            return Diagnosis(
                Cause.LINK_DOWN,
                _(
                    "In {ns_name} the loopback interface lo is down, so even its own address "
                    "{flow_dst} does not answer. Bring lo up."
                ).format(ns_name=ns_name, flow_dst=flow.dst),
                [_("{ns_name}: lo is DOWN").format(ns_name=ns_name)],
            )
        if flow.src is None:
            flow = replace(flow, src=flow.dst)
        if not nat_done:
            verdict = self._hook(ns_name, ns, "output", Packet(flow, None, "lo"), trail)
            if not verdict.accepted:
                return self._blocked(ns_name, "OUTPUT", verdict, flow, trail)
            if verdict.nat is not None:
                changed = translate(flow, verdict.nat, ns, "lo")
                trail.hops.append(
                    _(
                        "{ns_name}: OUTPUT DNAT {flow_dst} -> {verdict_nat_to_destination} "
                        "({verdict_nat_backend})"
                    ).format(
                        ns_name=ns_name,
                        flow_dst=flow.dst,
                        verdict_nat_to_destination=verdict.nat.to_destination,
                        verdict_nat_backend=verdict.nat.backend,
                    )
                )
                trail.nat.append((ns_name, flow, changed))
                if not self._is_local(ns, changed.dst):
                    return self._originate(ns_name, replace(changed, reply=changed.reply), trail)
                flow = changed
        verdict = self._hook(ns_name, ns, "input", Packet(flow, "lo", None), trail)
        if not verdict.accepted:
            return self._blocked(ns_name, "INPUT", verdict, flow, trail)
        trail.hops.append(
            _("{ns_name}: {flow_dst} is a local address").format(ns_name=ns_name, flow_dst=flow.dst)
        )
        return _Arrival(ns_name, flow, "lo")

    def _transmit(
        self,
        ns_name: str,
        ns: Namespace,
        flow: Flow,
        route: Route,
        twins: list[Route],
        out: Link,
        in_if: str | None,
        trail: _Trail,
    ) -> _Arrival | Diagnosis:
        """Out of ``out``: the link, POSTROUTING (SNAT), then ARP for the next hop."""
        down = self._link_problem(ns_name, out)
        if down:
            return Diagnosis(Cause.LINK_DOWN, down, [*trail.hops, down])
        verdict = self._hook(ns_name, ns, "postrouting", Packet(flow, in_if, out.name), trail)
        if not verdict.accepted:
            return self._blocked(ns_name, "POSTROUTING", verdict, flow, trail)
        if verdict.nat is not None:
            changed = translate(flow, verdict.nat, ns, out.name)
            if changed.src != flow.src:
                trail.hops.append(
                    _(
                        "{ns_name}: {verdict_nat_target} rewrites the source {flow_src} -> "
                        "{changed_src} ({verdict_nat_backend})"
                    ).format(
                        ns_name=ns_name,
                        verdict_nat_target=verdict.nat.target,
                        flow_src=flow.src,
                        changed_src=changed.src,
                        verdict_nat_backend=verdict.nat.backend,
                    )
                )
                trail.nat.append((ns_name, flow, changed))
                flow = changed
        if flow.reply:
            flow = self._undo_dnat(ns_name, flow, trail)
        next_hop = route.gateway or flow.dst
        found = self._neighbour(ns_name, out, next_hop)
        if found is None:
            return self._nobody_answers(ns_name, out, route, twins, next_hop, flow, trail)
        there, there_if, crossing = found
        stale = self._static_neighbour(ns_name, ns, out, next_hop, there, there_if, trail)
        if stale is not None:
            return stale
        if crossing is not None:
            blocked = self._bridged(crossing, flow, trail)
            if blocked is not None:
                return blocked
        trail.hops.append(
            _("{ns_name} -> {there} (arrives on {there_if})").format(
                ns_name=ns_name, there=there, there_if=there_if
            )
        )
        trail.depth += 1
        if trail.depth > 8:
            return Diagnosis(Cause.ROUTE_MISSING, _("The packet goes round in a loop."), trail.hops)
        return self._arrive(there, flow, there_if, trail, gateway=route.gateway)

    # ------------------------------------------------- arriving in a namespace

    def _arrive(
        self, ns_name: str, flow: Flow, in_if: str, trail: _Trail, gateway: str | None
    ) -> _Arrival | Diagnosis:
        ns = self.state.namespaces[ns_name]
        link = ns.link(in_if)
        trail.visited.append(ns_name)
        if ns_name == "internet" and not ns.owns(flow.dst):
            return self._lost_outside(flow.dst, trail)
        if flow.src is not None and ns.owns(flow.src) and not _ip(flow.src).is_loopback:
            return self._martian(ns_name, flow, in_if, trail)
        refused = self._rp_filter(ns_name, ns, link, flow, trail)
        if refused is not None:
            return refused
        if flow.reply:
            flow = self._undo_snat(ns_name, flow, trail)
        verdict = self._hook(ns_name, ns, "prerouting", Packet(flow, in_if, None), trail)
        if not verdict.accepted:
            return self._blocked(ns_name, "PREROUTING", verdict, flow, trail)
        if verdict.nat is not None:
            changed = translate(flow, verdict.nat, ns, None)
            trail.hops.append(
                _(
                    "{ns_name}: PREROUTING DNAT {flow_dst} -> {verdict_nat_to_destination} "
                    "({verdict_nat_backend})"
                ).format(
                    ns_name=ns_name,
                    flow_dst=flow.dst,
                    verdict_nat_to_destination=verdict.nat.to_destination,
                    verdict_nat_backend=verdict.nat.backend,
                )
            )
            trail.nat.append((ns_name, flow, changed))
            flow = changed
        return self._take_in(ns_name, ns, flow, in_if, trail, gateway)

    def _take_in(
        self,
        ns_name: str,
        ns: Namespace,
        flow: Flow,
        in_if: str,
        trail: _Trail,
        gateway: str | None,
    ) -> _Arrival | Diagnosis:
        """After PREROUTING: delivered here through INPUT, or routed on through FORWARD."""
        link = ns.link(in_if)
        if self._is_local(ns, flow.dst):
            verdict = self._hook(ns_name, ns, "input", Packet(flow, in_if, None), trail)
            if not verdict.accepted:
                return self._blocked(ns_name, "INPUT", verdict, flow, trail)
            trail.hops.append(
                _("{ns_name}: {flow_dst} is a local address").format(
                    ns_name=ns_name, flow_dst=flow.dst
                )
            )
            return _Arrival(ns_name, flow, in_if)
        if link is not None and not ns.forwards_from(link):
            return self._not_forwarding(ns_name, ns, link, flow, trail, gateway)
        route, twins = lookup(ns, flow.dst)
        if route is None:
            return self._no_route(ns_name, ns, flow.dst, trail, routed=True)
        if route.kind != "unicast":
            return self._dropping_route(ns_name, route, flow, trail)
        trail.hops.append(
            _("{ns_name}: ip route get {flow_dst} -> {route_text}").format(
                ns_name=ns_name, flow_dst=flow.dst, route_text=route.text()
            )
        )
        out = ns.link(route.dev) if route.dev else None
        if out is None:
            return Diagnosis(
                Cause.LINK_MISSING,
                _("{ns_name} routes {flow_dst} to a missing device.").format(
                    ns_name=ns_name, flow_dst=flow.dst
                ),
                trail.hops,
            )
        verdict = self._hook(ns_name, ns, "forward", Packet(flow, in_if, out.name), trail)
        if not verdict.accepted:
            return self._forward_blocked(ns_name, verdict, flow, in_if, out.name, trail)
        return self._transmit(ns_name, ns, flow, route, twins, out, in_if, trail)

    def _bridged(self, crossing: Crossing, flow: Flow, trail: _Trail) -> Diagnosis | None:
        """A frame switched by a bridge: br_netfilter sends it through the owner's hooks."""
        bns_name, bridge = crossing.ns, crossing.bridge
        in_port, out_port = crossing.in_port, crossing.out_port
        trail.visited.append(bns_name)
        bns = self.state.namespaces[bns_name]
        layer2 = self._bridge_layer(crossing, flow, trail)
        if layer2 is not None:
            return layer2
        if bns.bridge_nf_call_iptables != 1:
            return None
        packet = Packet(flow, bridge, bridge)
        for hook in ("prerouting", "forward", "postrouting"):
            verdict = self._hook(bns_name, bns, hook, packet, trail)
            if verdict.accepted:
                continue
            return Diagnosis(
                Cause.FORWARD_BLOCKED if hook == "forward" else Cause.FIREWALL_BLOCKED,
                _(
                    "The frame from {in_port} to {out_port} is switched by the bridge {bridge} in "
                    "{bns_name}, not routed; but net.bridge.bridge-nf-call-iptables is 1 there "
                    "(br_netfilter: Docker's default), so bridged IPv4 frames also pass "
                    "{bns_name}'s {hook_upper} hook, where {verdict_what} drops them. Accept them "
                    "(e.g. `iptables -A FORWARD -i {bridge} -o {bridge} -j ACCEPT`) or set "
                    "bridge-nf-call-iptables to 0."
                ).format(
                    in_port=in_port,
                    out_port=out_port,
                    bridge=bridge,
                    bns_name=bns_name,
                    hook_upper=hook.upper(),
                    verdict_what=verdict.what(),
                ),
                [
                    *trail.hops,
                    f"{bns_name}: {bridge} bridges {in_port} -> {out_port}",
                    f"{bns_name}: net.bridge.bridge-nf-call-iptables = 1",
                    verdict.evidence(bns_name),
                ],
            )
        trail.hops.append(
            _(
                "{bns_name}: {bridge} bridges {in_port} -> {out_port} (br_netfilter: its "
                "FORWARD hook accepts)"
            ).format(bns_name=bns_name, bridge=bridge, in_port=in_port, out_port=out_port)
        )
        return None

    def _bridge_layer(self, crossing: Crossing, flow: Flow, trail: _Trail) -> Diagnosis | None:
        """The bridge's own hooks (nft ``bridge`` family, ebtables-nft), between ports."""
        bns = self.state.namespaces[crossing.ns]
        packet = Packet(flow, crossing.in_port, crossing.out_port)
        for hook in ("prerouting", "forward", "postrouting"):
            verdict = run_hook(bns, hook, packet, nat=False, bridge=True)
            trail.uncertain.extend((crossing.ns, rule) for rule in verdict.uncertain)
            if verdict.accepted:
                continue
            return Diagnosis(
                Cause.FORWARD_BLOCKED,
                _(
                    "The bridge {crossing_bridge} in {crossing_ns} would switch the frame from "
                    "{crossing_in_port} to {crossing_out_port}, but its bridge-layer firewall "
                    "({hook} hook) drops it: {verdict_what}."
                ).format(
                    crossing_bridge=crossing.bridge,
                    crossing_ns=crossing.ns,
                    crossing_in_port=crossing.in_port,
                    crossing_out_port=crossing.out_port,
                    hook=hook,
                    verdict_what=verdict.what(),
                ),
                [
                    *trail.hops,
                    f"{crossing.ns}: {crossing.bridge} bridges {crossing.in_port} -> "
                    f"{crossing.out_port}",
                    verdict.evidence(crossing.ns),
                ],
            )
        return None

    def _hook(
        self, ns_name: str, ns: Namespace, hook: str, packet: Packet, trail: _Trail
    ) -> Verdict:
        verdict = run_hook(ns, hook, packet, nat=not packet.flow.reply)
        trail.uncertain.extend((ns_name, rule) for rule in verdict.uncertain)
        return verdict

    def _undo_snat(self, ns_name: str, flow: Flow, trail: _Trail) -> Flow:
        """Conntrack gives a reply to a masqueraded request its original destination back."""
        for where, before, after in trail.nat:
            if where == ns_name and before.src != after.src and flow.dst == after.src:
                trail.hops.append(
                    _("{ns_name}: conntrack sends the reply on to {before_src}").format(
                        ns_name=ns_name, before_src=before.src
                    )
                )
                return replace(flow, dst=before.src or flow.dst, dport=before.sport)
        return flow

    def _undo_dnat(self, ns_name: str, flow: Flow, trail: _Trail) -> Flow:
        """Conntrack gives a reply from a DNAT target the address the client asked for."""
        for where, before, after in trail.nat:
            if where == ns_name and before.dst != after.dst and flow.src == after.dst:
                return replace(flow, src=before.dst, sport=before.dport)
        return flow

    def _is_local(self, ns: Namespace, ip: str) -> bool:
        return ns.owns(ip) is not None or _ip(ip).is_loopback

    # --------------------------------------------------------------- reply

    def _answer(self, there: _Arrival, request: Flow, trail: _Trail) -> Diagnosis | None:
        receiver = self.state.namespaces[there.ns]
        if request.proto == "tcp" and request.dport is not None:
            port = there.flow.dport
            listening = any(
                p == port and a in ("0.0.0.0", there.flow.dst) for a, p in receiver.listening
            )
            if not listening:
                return self._service_down(there, request, trail)
        wrong = self._wrong_owner(there, request, trail)
        if wrong is not None:
            return wrong
        if there.ns == request.src_ns and not trail.nat:
            return None
        reply = there.flow.answer(there.ns)
        trail.hops.append(
            _("reply from {there_ns} to {reply_dst}").format(there_ns=there.ns, reply_dst=reply.dst)
        )
        back = self._originate(there.ns, reply, trail)
        if isinstance(back, Diagnosis):
            return self._explain_reply_failure(back, there, request.src_ns, trail)
        if back.ns != request.src_ns:
            return Diagnosis(
                Cause.ROUTE_MISSING,
                _(
                    "Replies from {there_ns} end up in {back_ns} instead of {request_src_ns}."
                ).format(there_ns=there.ns, back_ns=back.ns, request_src_ns=request.src_ns),
                trail.hops,
            )
        return None

    # ------------------------------------------------------ firewall verdicts

    def _blocked(
        self, ns_name: str, chain: str, verdict: Verdict, flow: Flow, trail: _Trail
    ) -> Diagnosis:
        what = {
            "OUTPUT": _("packets it sends"),
            "INPUT": _("packets addressed to it"),
            "PREROUTING": _("packets arriving"),
            "POSTROUTING": _("packets leaving"),
        }[chain]
        reply = _(" (the replies: conntrack state ESTABLISHED)") if flow.reply else ""
        return Diagnosis(
            Cause.FIREWALL_BLOCKED,
            f"In {ns_name}, {verdict.what()} drops {what}{reply}: {flow.text()}.",
            [*trail.hops, verdict.evidence(ns_name)],
        )

    def _forward_blocked(
        self,
        ns_name: str,
        verdict: Verdict,
        flow: Flow,
        in_if: str,
        out_if: str,
        trail: _Trail,
    ) -> Diagnosis:
        reply = (
            _(
                " These are the replies (conntrack state ESTABLISHED): a rule must let them "
                "back in, e.g. `-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`."
            )
            if flow.reply
            else ""
        )
        return Diagnosis(
            Cause.FORWARD_BLOCKED,
            _(
                "{ns_name} would forward the packet from {in_if} to {out_if}, but "
                "{verdict_what} drops it.{reply}"
            ).format(
                ns_name=ns_name,
                in_if=in_if,
                out_if=out_if,
                verdict_what=verdict.what(),
                reply=reply,
            ),
            [*trail.hops, verdict.evidence(ns_name)],
        )

    # ------------------------------------------------------------- routing

    def _not_forwarding(
        self,
        ns_name: str,
        ns: Namespace,
        link: Link,
        flow: Flow,
        trail: _Trail,
        gateway: str | None,
    ) -> Diagnosis:
        if ns_name not in OUTSIDE and gateway is not None:
            return Diagnosis(
                Cause.GATEWAY_WRONG,
                _(
                    "{trail_origin}'s route sends packets for {flow_dst} to the gateway {gateway}, "
                    "which is {ns_name}: a container, which does not route. The gateway is the "
                    "host's address on the bridge."
                ).format(
                    trail_origin=trail.origin, flow_dst=flow.dst, gateway=gateway, ns_name=ns_name
                ),
                [
                    *trail.hops,
                    _("{ns_name}: net.ipv4.ip_forward = {ns_ip_forward} (dropped here)").format(
                        ns_name=ns_name, ns_ip_forward=ns.ip_forward
                    ),
                ],
            )
        if ns.ip_forward == 0:
            evidence = [
                *trail.hops,
                _("{ns_name}: net.ipv4.ip_forward = 0 (dropped here)").format(ns_name=ns_name),
            ]
            text = _(
                "The packet reached {ns_name}, which would have to pass it on to {flow_dst}, "
                "but {ns_name} does not forward packets: net.ipv4.ip_forward is 0 there."
            ).format(ns_name=ns_name, flow_dst=flow.dst)
            elsewhere = [
                n
                for n in self.state.learner_namespaces()
                if n != ns_name and self.state.namespaces[n].ip_forward == 1
            ]
            if elsewhere:
                text += _(
                    " It is 1 in {elsewhere_0}: the command ran in the wrong namespace (inside "
                    "{elsewhere_0}, not in {ns_name})."
                ).format(elsewhere_0=elsewhere[0], ns_name=ns_name)
                evidence.append(f"{elsewhere[0]}: net.ipv4.ip_forward = 1")
            return Diagnosis(Cause.IP_FORWARD_OFF, text, evidence)
        return Diagnosis(
            Cause.IP_FORWARD_OFF,
            _(
                "{ns_name} forwards packets in general (net.ipv4.ip_forward is 1), but not "
                "those arriving on {link_name}: net.ipv4.conf.{link_name}.forwarding is 0, and "
                "the kernel asks the arriving interface. Turn it back on with `sysctl -w "
                "net.ipv4.conf.{link_name}.forwarding=1`."
            ).format(ns_name=ns_name, link_name=link.name),
            [
                *trail.hops,
                _(
                    "{ns_name}: net.ipv4.conf.{link_name}.forwarding = 0 (ip_forward = 1; dropped "
                    "here)"
                ).format(ns_name=ns_name, link_name=link.name),
            ],
        )

    def _rp_filter(
        self, ns_name: str, ns: Namespace, link: Link | None, flow: Flow, trail: _Trail
    ) -> Diagnosis | None:
        """Reverse-path filter: would the reply to this source leave by the arriving link?"""
        if link is None or flow.src is None or link.name == "lo":
            return None
        mode = ns.rp_filter(link)
        if mode == 0:
            return None
        back, _twins = lookup(ns, flow.src)
        if back is not None and (mode == 2 or back.dev == link.name):
            return None
        leaves = f"by {back.dev}" if back is not None else _("nowhere (no route)")
        return Diagnosis(
            Cause.RP_FILTER,
            _(
                "{ns_name} drops packets from {flow_src} arriving on {link_name}: reverse-path "
                "filtering (rp_filter = {mode}, {value1}) wants a route back to the source "
                "through the same interface, but a reply would leave {leaves}."
            ).format(
                ns_name=ns_name,
                flow_src=flow.src,
                link_name=link.name,
                mode=mode,
                value1="strict" if mode == 1 else "loose",
                leaves=leaves,
            ),
            [
                *trail.hops,
                f"{ns_name}: net.ipv4.conf.{link.name}.rp_filter = {link.rp_filter}, "
                f"all.rp_filter = {ns.rp_filter_all}",
                _("{ns_name}: ip route get {flow_src} -> {value1}").format(
                    ns_name=ns_name,
                    flow_src=flow.src,
                    value1=back.text() if back else "unreachable",
                ),
            ],
        )

    def _martian(self, ns_name: str, flow: Flow, in_if: str, trail: _Trail) -> Diagnosis:
        owners = [n for n, _ in self._owners(flow.src or "") if n != ns_name]
        if not owners and trail.nat:
            return Diagnosis(
                Cause.MASQUERADE_MISSING,
                _(
                    "{ns_name}'s own packet comes back to it: a DNAT rule sent the connection back "
                    "into {ns_name}, still with {ns_name}'s address {flow_src} as its source, so "
                    "the kernel drops it as a 'martian' (hairpin NAT). Such traffic must also be "
                    "masqueraded on the way back in."
                ).format(ns_name=ns_name, flow_src=flow.src),
                [
                    *trail.hops,
                    _(
                        "{ns_name}: a packet from its own address {flow_src} arrives on {in_if}"
                    ).format(ns_name=ns_name, flow_src=flow.src, in_if=in_if),
                ],
            )
        return Diagnosis(
            Cause.ADDRESS_DUPLICATE,
            _(
                "Packets from {flow_src} arrive in {ns_name} on {in_if}, but {flow_src} is "
                "{ns_name}'s own address too, so the kernel drops them (a 'martian'): two "
                "namespaces ({value1}) have the same address. Give each one its own."
            ).format(
                flow_src=flow.src,
                ns_name=ns_name,
                in_if=in_if,
                value1=", ".join([ns_name, *owners]),
            ),
            [
                *trail.hops,
                _("{ns_name} and {value1} both have {flow_src}").format(
                    ns_name=ns_name, value1=", ".join(owners) or "another", flow_src=flow.src
                ),
            ],
        )

    def _before_sending(self, flow: Flow) -> Diagnosis | None:
        """Mistakes visible before any packet moves: a duplicated destination."""
        owners = [(n, link) for n, link in self._owners(flow.dst) if link.name != "lo"]
        if len(owners) >= 2:
            where = ", ".join(f"{link.name} in {n}" for n, link in owners)
            return Diagnosis(
                Cause.ADDRESS_DUPLICATE,
                _(
                    "{flow_dst} is on more than one interface ({where}): which one answers depends "
                    "on who asks and who answers ARP first. Give each its own address."
                ).format(flow_dst=flow.dst, where=where),
                [f"{n}: {link.name} has {flow.dst}" for n, link in owners],
            )
        return None

    def _wrong_owner(self, there: _Arrival, request: Flow, trail: _Trail) -> Diagnosis | None:
        """Delivered, but to a veth end that never left for its namespace."""
        ns = self.state.namespaces[there.ns]
        link = ns.owns(there.flow.dst)
        if link is None or link.kind != "veth" or link.peer_elsewhere:
            return None
        peer = self.state.peer(there.ns, link)
        if peer is None:
            return None
        return Diagnosis(
            Cause.LINK_WRONG_NETNS,
            _(
                "{there_flow_dst} is on {link_name}, which is still in {there_ns} together "
                "with its other end {peer_1_name}: the veth end was never moved into its "
                "namespace, so {there_ns} answers for itself. Move it with `ip link set "
                "{link_name} netns NAME` and give it the address there."
            ).format(
                there_flow_dst=there.flow.dst,
                link_name=link.name,
                there_ns=there.ns,
                peer_1_name=peer[1].name,
            ),
            [
                *trail.hops,
                _("{there_ns}: has both {link_name} and {peer_1_name}").format(
                    there_ns=there.ns, link_name=link.name, peer_1_name=peer[1].name
                ),
            ],
        )

    def _prefix_problem(
        self, ns_name: str, ns: Namespace, dst: str, route: Route | None, trail: _Trail
    ) -> Diagnosis | None:
        """No on-link route because an address's prefix is narrower than its network's."""
        if route is not None and route.dst != "default":
            return None
        for link in ns.links:
            if link.name == "lo" or not link.up:
                continue
            for cidr in link.addresses:
                mine = ipaddress.IPv4Interface(cidr)
                for there, other, _bridge in self._segment(ns_name, link):
                    for theirs in other.addresses:
                        net = ipaddress.IPv4Interface(theirs).network
                        if (
                            net.prefixlen < mine.network.prefixlen
                            and mine.ip in net
                            and _ip(dst) in net
                        ):
                            return self._wrong_prefix(
                                ns_name, link, mine, there, other, theirs, dst, trail
                            )
        return None

    def _wrong_prefix(
        self,
        ns_name: str,
        link: Link,
        mine: ipaddress.IPv4Interface,
        there: str,
        other: Link,
        theirs: str,
        dst: str,
        trail: _Trail,
    ) -> Diagnosis:
        want = ipaddress.IPv4Interface(theirs).network.prefixlen
        return Diagnosis(
            Cause.PREFIX_WRONG,
            _(
                "{link_name} in {ns_name} has {mine_with_prefixlen}, but the network on that "
                "cable is {ipaddress_IPv4Interface_network} ({other_name} in {there} has "
                "{theirs}). A /{mine_network_prefixlen} covers only itself, so {ns_name} gets "
                "no route to {dst} next door. The fix is the prefix, /{want}: `ip addr del "
                "{mine_with_prefixlen} dev {link_name}; ip addr add {mine_ip}/{want} dev "
                "{link_name}`."
            ).format(
                link_name=link.name,
                ns_name=ns_name,
                mine_with_prefixlen=mine.with_prefixlen,
                ipaddress_IPv4Interface_network=ipaddress.IPv4Interface(theirs).network,
                other_name=other.name,
                there=there,
                theirs=theirs,
                mine_network_prefixlen=mine.network.prefixlen,
                dst=dst,
                want=want,
                mine_ip=mine.ip,
            ),
            [
                *trail.hops,
                f"{ns_name}: {link.name} has {mine.with_prefixlen}; /{want} expected",
                f"{there}: {other.name} has {theirs}",
            ],
        )

    def _lost_outside(self, dst: str, trail: _Trail) -> Diagnosis:
        """A packet for a lab address went out of eth0: the sender had no better route."""
        origin = trail.hops[0].split(":", 1)[0] if trail.hops else trail.origin
        owners = self._owners(dst)
        for name, ns in self.state.namespaces.items():
            for link in ns.links:
                if link.kind == "bridge" and not link.addresses and owners:
                    return Diagnosis(
                        Cause.ADDRESS_MISSING,
                        _(
                            "{origin} has no route into {dst}'s network, so it sends the packet to its "
                            "default gateway, out of eth0, where it is lost. The bridge {link_name} in "
                            "{name} has no address yet; with one, {name} gets a route to the containers."
                        ).format(origin=origin, dst=dst, link_name=link.name, name=name),
                        [
                            *trail.hops,
                            _("{name}: {link_name} has no IPv4 address").format(
                                name=name, link_name=link.name
                            ),
                        ],
                    )
        return Diagnosis(
            Cause.ROUTE_MISSING,
            _(
                "{origin} has no route to {dst}, so the packet follows the default route out "
                "of eth0 to the internet, which knows nothing about private lab addresses."
            ).format(origin=origin, dst=dst),
            [*trail.hops, _("internet: no route to {dst} (lost here)").format(dst=dst)],
        )

    # ------------------------------------------------------------- layer 2

    def _link_problem(self, ns_name: str, link: Link) -> str | None:
        if not link.up:
            return _(
                "{link_name} in {ns_name} is down: bring it up with `ip link set {link_name} up`."
            ).format(link_name=link.name, ns_name=ns_name)
        if link.kind == "veth":
            peer = self.state.peer(ns_name, link)
            if peer is None:
                return _(
                    "{link_name} in {ns_name} has no live peer (its other end was deleted?)."
                ).format(link_name=link.name, ns_name=ns_name)
            pns, plink = peer
            if not plink.up:
                return _(
                    "The other end of {link_name}, {plink_name} in {pns}, is down: a veth pair "
                    "only carries packets when both ends are up."
                ).format(link_name=link.name, plink_name=plink.name, pns=pns)
            if plink.master:
                bridge = self.state.namespaces[pns].link(plink.master)
                if bridge is not None and not bridge.up:
                    return _("The bridge {bridge_name} in {pns} is down.").format(
                        bridge_name=bridge.name, pns=pns
                    )
        if link.kind == "bridge" and not any(
            lk.master == link.name for lk in self.state.namespaces[ns_name].links
        ):
            return _("The bridge {link_name} in {ns_name} has no ports yet.").format(
                link_name=link.name, ns_name=ns_name
            )
        return None

    def _segment(self, ns_name: str, link: Link) -> list[tuple[str, Link, Crossing | None]]:
        """Everything on the other side of ``link`` at layer 2, and the bridge crossed to it."""
        ns = self.state.namespaces[ns_name]
        if link.kind == "bridge":
            out: list[tuple[str, Link, Crossing | None]] = []
            for port in ns.links:
                if port.master == link.name and port.up:
                    peer = self.state.peer(ns_name, port)
                    if peer and peer[1].up:
                        out.append((peer[0], peer[1], None))
            return out
        if link.kind != "veth":
            return []
        peer = self.state.peer(ns_name, link)
        if peer is None:
            return []
        pns, plink = peer
        if not plink.master:
            return [(pns, plink, None)]
        bridge = self.state.namespaces[pns].link(plink.master)
        if bridge is None or not bridge.up:
            return []
        found: list[tuple[str, Link, Crossing | None]] = [(pns, bridge, None)]
        for port in self.state.namespaces[pns].links:
            if port.master != bridge.name or port.name == plink.name or not port.up:
                continue
            far = self.state.peer(pns, port)
            if far and far[1].up:
                found.append((far[0], far[1], Crossing(pns, bridge.name, plink.name, port.name)))
        return found

    def _neighbour(
        self, ns_name: str, out: Link, ip: str
    ) -> tuple[str, str, Crossing | None] | None:
        """Who answers ARP for ``ip`` behind ``out``: (namespace, arrival interface, bridge)."""
        for there, link, crossing in self._segment(ns_name, out):
            if self.state.namespaces[there].owns(ip):
                return there, link.name, crossing
        return None

    def _static_neighbour(
        self,
        ns_name: str,
        ns: Namespace,
        out: Link,
        next_hop: str,
        there: str,
        there_if: str,
        trail: _Trail,
    ) -> Diagnosis | None:
        """A hand-made ARP entry (``nud permanent``) that names a MAC nobody there has."""
        owner = self.state.namespaces[there].link(there_if)
        if owner is None or not owner.mac:
            return None
        for entry in ns.neighbours:
            if entry.ip != next_hop or entry.dev != out.name or not entry.mac:
                continue
            if entry.state in ("PERMANENT", "NOARP") and entry.mac.lower() != owner.mac.lower():
                return Diagnosis(
                    Cause.NEIGHBOUR_WRONG,
                    _(
                        "{ns_name} has a static ARP entry for {next_hop} on {out_name} with the MAC "
                        "{entry_mac}, but {next_hop} is {there_if} in {there}, whose MAC is "
                        "{owner_mac}: frames go to a MAC nobody has. Delete the entry with `ip neigh "
                        "del {next_hop} dev {out_name}`."
                    ).format(
                        ns_name=ns_name,
                        next_hop=next_hop,
                        out_name=out.name,
                        entry_mac=entry.mac,
                        there_if=there_if,
                        there=there,
                        owner_mac=owner.mac,
                    ),
                    [
                        *trail.hops,
                        _(
                            "{ns_name}: ip neigh: {next_hop} dev {out_name} lladdr {entry_mac} "
                            "{entry_state}"
                        ).format(
                            ns_name=ns_name,
                            next_hop=next_hop,
                            out_name=out.name,
                            entry_mac=entry.mac,
                            entry_state=entry.state,
                        ),
                        f"{there}: {there_if} link/ether {owner.mac}",
                    ],
                )
        return None

    def _owners(self, ip: str) -> list[tuple[str, Link]]:
        return [
            (name, link)
            for name, ns in self.state.namespaces.items()
            for link in [ns.owns(ip)]
            if link is not None
        ]

    def _dropping_route(self, ns_name: str, route: Route, flow: Flow, trail: _Trail) -> Diagnosis:
        return Diagnosis(
            Cause.ROUTE_MISSING,
            _(
                "{ns_name} has a {route_kind} route for {route_dst}: the kernel drops packets "
                "for {flow_dst} there on purpose instead of sending them anywhere. Delete it "
                "with `ip route del {route_kind} {route_dst}`."
            ).format(
                ns_name=ns_name, route_kind=route.kind, route_dst=route.dst, flow_dst=flow.dst
            ),
            [
                *trail.hops,
                _("{ns_name}: ip route get {flow_dst} -> {route_text}").format(
                    ns_name=ns_name, flow_dst=flow.dst, route_text=route.text()
                ),
            ],
        )

    def _no_route(
        self, ns_name: str, ns: Namespace, dst: str, trail: _Trail, routed: bool
    ) -> Diagnosis:
        evidence = [
            *trail.hops,
            _("{ns_name}: ip route get {dst} -> Network is unreachable").format(
                ns_name=ns_name, dst=dst
            ),
        ]
        if all(link.name == "lo" for link in ns.links):
            return Diagnosis(
                Cause.LINK_MISSING,
                _(
                    "{ns_name} has nothing but its loopback interface: no cable leads out of it "
                    "yet. A veth pair is that cable."
                ).format(ns_name=ns_name),
                [*evidence, _("{ns_name}: links are lo").format(ns_name=ns_name)],
            )
        down = [lk for lk in ns.links if lk.name != "lo" and lk.addresses and not lk.up]
        if down:
            return Diagnosis(
                Cause.LINK_DOWN,
                _(
                    "{down_0_name} in {ns_name} is down, and a link that is down takes its routes "
                    "with it: {ns_name} has no route to {dst} any more. Bring {down_0_name} up "
                    "(and add back the routes that went with it)."
                ).format(down_0_name=down[0].name, ns_name=ns_name, dst=dst),
                [
                    *evidence,
                    _("{ns_name}: {down_0_name} is DOWN").format(
                        ns_name=ns_name, down_0_name=down[0].name
                    ),
                ],
            )
        has_addr = any(owner.name != "lo" for _, owner in ns.addresses())
        if not has_addr:
            return Diagnosis(
                Cause.ADDRESS_MISSING,
                _(
                    "{ns_name} has no IPv4 address besides loopback, so it has no route anywhere. "
                    "Give its interface an address."
                ).format(ns_name=ns_name),
                evidence,
            )
        if ns_name not in OUTSIDE and not any(r.dst == "default" for r in ns.routes):
            return Diagnosis(
                Cause.GATEWAY_MISSING,
                _(
                    "{ns_name} only knows its own subnet; {dst} is outside it and there is no "
                    "default route, so the kernel answers 'Network is unreachable'. A container "
                    "needs a default route via a gateway."
                ).format(ns_name=ns_name, dst=dst),
                evidence,
            )
        return Diagnosis(
            Cause.ROUTE_MISSING,
            _("{ns_name} has no route that covers {dst}.").format(ns_name=ns_name, dst=dst),
            evidence,
        )

    def _nobody_answers(
        self,
        ns_name: str,
        out: Link,
        route: Route,
        twins: list[Route],
        next_hop: str,
        flow: Flow,
        trail: _Trail,
    ) -> Diagnosis:
        hops = trail.hops
        owners = self._owners(next_hop)
        if twins:
            winner = route.text()
            losers = ", ".join(t.text() for t in twins)
            lost = ", ".join(name for name, _ in owners) or _("the other side")
            return Diagnosis(
                Cause.ROUTE_CLASH,
                _(
                    "{ns_name} has {value1} routes for {route_dst}. The kernel uses the first one "
                    "({winner}), so packets for {next_hop} leave through {out_name} and never "
                    "reach {lost}: that namespace is in limbo."
                ).format(
                    ns_name=ns_name,
                    value1=len(twins) + 1,
                    route_dst=route.dst,
                    winner=winner,
                    next_hop=next_hop,
                    out_name=out.name,
                    lost=lost,
                ),
                [
                    *hops,
                    _("{ns_name}: competing route ignored: {losers}").format(
                        ns_name=ns_name, losers=losers
                    ),
                ],
            )
        if route.gateway:
            if owners:
                cause = self._why_not_on_segment(ns_name, out, owners)
                if cause:
                    return Diagnosis(cause[0], cause[1], [*hops, *cause[2]])
            return Diagnosis(
                Cause.GATEWAY_UNREACHABLE,
                _(
                    "{ns_name} sends {flow_dst} to its gateway {route_gateway}, but nothing "
                    "reachable through {out_name} has that address."
                ).format(
                    ns_name=ns_name,
                    flow_dst=flow.dst,
                    route_gateway=route.gateway,
                    out_name=out.name,
                ),
                [
                    *hops,
                    _("{ns_name}: no neighbour answers ARP for {route_gateway}").format(
                        ns_name=ns_name, route_gateway=route.gateway
                    ),
                ],
            )
        if owners:
            cause = self._why_not_on_segment(ns_name, out, owners)
            if cause:
                return Diagnosis(cause[0], cause[1], [*hops, *cause[2]])
            where = ", ".join(f"{link.name} in {name}" for name, link in owners)
            return Diagnosis(
                Cause.ROUTE_MISSING,
                _(
                    "{next_hop} belongs to {where}, but {ns_name}'s route sends it out of "
                    "{out_name}, which does not lead there."
                ).format(next_hop=next_hop, where=where, ns_name=ns_name, out_name=out.name),
                hops,
            )
        twin = self._twin_of_sender(ns_name, out, flow)
        if twin is not None:
            return twin
        return Diagnosis(
            Cause.ADDRESS_MISSING,
            _(
                "Nothing in the world has the address {next_hop}; check the addresses you gave."
            ).format(next_hop=next_hop),
            [*hops, _("no interface in any namespace has {next_hop}").format(next_hop=next_hop)],
        )

    def _twin_of_sender(self, ns_name: str, out: Link, flow: Flow) -> Diagnosis | None:
        """Nobody has the destination, but someone next door has the *sender's* address."""
        for there, link, _bridge in self._segment(ns_name, out):
            for cidr in link.addresses:
                if flow.src and cidr.split("/")[0] == flow.src:
                    return Diagnosis(
                        Cause.ADDRESS_DUPLICATE,
                        _(
                            "Nothing has {flow_dst}, and {link_name} in {there} has {flow_src}, the same "
                            "address as {ns_name}: it was probably meant to get {flow_dst}. Two interfaces "
                            "on one segment must not share an address."
                        ).format(
                            flow_dst=flow.dst,
                            link_name=link.name,
                            there=there,
                            flow_src=flow.src,
                            ns_name=ns_name,
                        ),
                        [
                            _("{ns_name} and {there} ({link_name}) both have {flow_src}").format(
                                ns_name=ns_name, there=there, link_name=link.name, flow_src=flow.src
                            )
                        ],
                    )
        return None

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
                    _(
                        "{out_name} in {ns_name} and {owner_link_name} in {owner_ns} hang off separate "
                        "veth pairs ({out_peer_1_name} and {peer_1_name} in {peer_0}), and nothing "
                        "joins those ends at layer 2: make them ports of one bridge."
                    ).format(
                        out_name=out.name,
                        ns_name=ns_name,
                        owner_link_name=owner_link.name,
                        owner_ns=owner_ns,
                        out_peer_1_name=out_peer[1].name,
                        peer_1_name=peer[1].name,
                        peer_0=peer[0],
                    ),
                    [
                        _(
                            "{peer_0}: no bridge; {out_peer_1_name} and {peer_1_name} are unconnected"
                        ).format(
                            peer_0=peer[0],
                            out_peer_1_name=out_peer[1].name,
                            peer_1_name=peer[1].name,
                        )
                    ],
                )
            if peer and bridges and not peer[1].master and peer[1].kind == "veth":
                bname = bridges[0][1].name
                return (
                    Cause.NOT_BRIDGED,
                    _(
                        "{owner_link_name} in {owner_ns} hangs off {peer_1_name} in {peer_0}, which is "
                        "not a port of {bname}; attach it with `ip link set {peer_1_name} master "
                        "{bname}`."
                    ).format(
                        owner_link_name=owner_link.name,
                        owner_ns=owner_ns,
                        peer_1_name=peer[1].name,
                        peer_0=peer[0],
                        bname=bname,
                    ),
                    [
                        _("{peer_0}: {peer_1_name} has no master").format(
                            peer_0=peer[0], peer_1_name=peer[1].name
                        )
                    ],
                )
            if owner_link.kind == "bridge" or (peer and peer[1].master):
                continue
        for owner_ns, owner_link in owners:
            if not owner_link.up:
                return (
                    Cause.LINK_DOWN,
                    _("{owner_link_name} in {owner_ns} carries that address but is down.").format(
                        owner_link_name=owner_link.name, owner_ns=owner_ns
                    ),
                    [
                        _("{owner_ns}: {owner_link_name} is DOWN").format(
                            owner_ns=owner_ns, owner_link_name=owner_link.name
                        )
                    ],
                )
        return None

    def _explain_reply_failure(
        self, back: Diagnosis, there: _Arrival, src_ns: str, trail: _Trail
    ) -> Diagnosis:
        if back.cause in (Cause.ROUTE_MISSING, Cause.GATEWAY_MISSING) and there.ns == "internet":
            text = _(
                "The request reaches {there_ns}, but its source is the private address "
                "{there_flow_src}, and the outside world has no route back to it, so the reply "
                "never comes. The host must masquerade (SNAT) outgoing traffic."
            ).format(there_ns=there.ns, there_flow_src=there.flow.src)
            evidence = list(back.evidence)
            misplaced = self._nat_elsewhere(("MASQUERADE", "SNAT"))
            if misplaced:
                text += _(
                    " {misplaced_0} has such a rule: the command ran in the wrong namespace (it "
                    "belongs on the host)."
                ).format(misplaced_0=misplaced[0])
                evidence.append(misplaced[1])
            return Diagnosis(Cause.MASQUERADE_MISSING, text, evidence)
        if back.cause == Cause.ROUTE_CLASH:
            return replace(
                back,
                explanation=_("The request from {src_ns} arrives, but the reply does not: ").format(
                    src_ns=src_ns
                )
                + back.explanation,
            )
        return back

    def _nat_elsewhere(self, targets: tuple[str, ...]) -> tuple[str, str] | None:
        """A learner namespace holding a NAT rule that belongs on the host."""
        for name in self.state.learner_namespaces():
            for rule in self.state.namespaces[name].firewall.rules:
                if rule.target in targets:
                    return name, f"{name}: {rule.listing()} ({rule.backend})"
        return None

    def _service_down(self, there: _Arrival, request: Flow, trail: _Trail) -> Diagnosis:
        port = there.flow.dport or 0
        dst = request.dst
        published = [
            (name, addr)
            for name, ns in self.state.namespaces.items()
            for addr, p in ns.listening
            if p == port and name != there.ns
        ]
        dnatted = any(where == "host" and b.dst != a.dst for where, b, a in trail.nat)
        if published and there.ns == "host" and not dnatted:
            server = f"{published[0][1]}:{port} in {published[0][0]}"
            if request.src_ns == "host":
                return Diagnosis(
                    Cause.DNAT_LOCAL_MISSING,
                    _(
                        "A server listens on {server}, but a client on the host itself connecting to "
                        "{dst}:{port} never passes PREROUTING; local traffic needs a DNAT rule in the "
                        "nat OUTPUT chain."
                    ).format(server=server, dst=dst, port=port),
                    [
                        *trail.hops,
                        _("host: nothing listens on {dst}:{port}").format(dst=dst, port=port),
                    ],
                )
            return Diagnosis(
                Cause.DNAT_MISSING,
                _(
                    "A server listens on {server}, but nothing forwards {dst}:{port} to it: "
                    "traffic from outside needs a DNAT rule in the nat PREROUTING chain."
                ).format(server=server, dst=dst, port=port),
                [
                    *trail.hops,
                    _("host: nothing listens on {dst}:{port}").format(dst=dst, port=port),
                ],
            )
        if trail.nat and published:
            return Diagnosis(
                Cause.DNAT_WRONG,
                _(
                    "A DNAT rule sends the connection to {there_flow_dst}:{port} in {there_ns}, "
                    "but the server listens on {published_0_1}:{port} in {published_0_0}."
                ).format(
                    there_flow_dst=there.flow.dst,
                    port=port,
                    there_ns=there.ns,
                    published_0_1=published[0][1],
                    published_0_0=published[0][0],
                ),
                trail.hops,
            )
        return Diagnosis(
            Cause.SERVICE_DOWN,
            _(
                "Nothing listens on TCP port {port} in {there_ns}: start the server first (and "
                "keep it running)."
            ).format(port=port, there_ns=there.ns),
            [
                *trail.hops,
                _("{there_ns}: no socket listening on port {port}").format(
                    there_ns=there.ns, port=port
                ),
            ],
        )
