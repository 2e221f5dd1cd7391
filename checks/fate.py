"""Where did the packet end? Decide a probe's fate from where it was seen, at once.

A failing probe used to wait out its timeout: silence was the only sign of a
loss. But the lab can *see* its packets: a probe watches every interface of
every namespace of the world (packet sockets, one per namespace) and each time
one of its packets shows up somewhere, it asks: can it go on from here?

* it arrived in a namespace that owns its destination: does that namespace's
  INPUT hook let it in, and (for a request) can the reply leave again: is there
  a route back, and does anyone on that route's link own the next hop? (This is
  how the route clash is seen: the reply to netns1 leaves through veth0, where
  nobody has netns1's address.)
* it arrived in a namespace that does not own it: does that namespace forward
  from the interface it came in on, does it have a route on, does its FORWARD
  hook accept it, and is the next hop there?
* it left the sender: is the first hop there at all?

The answer "it cannot" is a *fate*: the namespace where the packet ends and
why. A fate is only given when it is certain from what was seen and the
kernel's state (a NAT rule on the way, a match the model does not know, a link
kind it does not know: no fate, the probe waits as before). The probe still
waits a short grace for a reply that would prove the fate wrong.

Pure logic on :class:`lab.state.WorldState`: tests feed it snapshots by hand.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from checks.netfilter import Flow, Packet, run_hook, translate
from lab.i18n import _
from lab.rules import Rule
from lab.state import Link, Namespace, WorldState


@dataclass(frozen=True)
class Sighting:
    """One of the probe's packets, seen by a watch: where, which way, what."""

    ns: str
    iface: str
    dir: str  # "in" (arriving, for this host) or "out" (leaving)
    src: str
    dst: str
    reply: bool  # the answer (echo reply, or the server's side of TCP), else the request
    proto: str = "icmp"
    sport: int | None = None
    dport: int | None = None


@dataclass(frozen=True)
class Fate:
    """Where a packet ends, and why (a sentence for the evidence)."""

    ns: str
    reason: str


def _lookup(ns: Namespace, dst: str) -> tuple[str | None, str | None] | None:
    """(device, next hop) of the route the kernel picks for ``dst``; None: no route."""
    addr = ipaddress.IPv4Address(dst)
    best = None
    for route in ns.routes:
        if addr in route.network and (
            best is None or route.network.prefixlen > best.network.prefixlen
        ):
            best = route
    if best is None:
        return None
    return best.dev, best.gateway or dst


def _owner_ns(state: WorldState, name: str, ip: str) -> bool:
    ns = state.ns(name)
    return ns is not None and ns.owns(ip) is not None


def segment(state: WorldState, ns_name: str, link: Link) -> list[str] | None:
    """Namespaces reachable at layer 2 through ``link`` (None: a link the model cannot follow)."""
    if not link.up or not link.carrier:
        return []
    if link.name == "lo":
        return [ns_name]
    if link.kind == "bridge":
        return _bridge_members(state, ns_name, link.name, exclude=None)
    if link.kind != "veth":
        return None
    peer = state.peer(ns_name, link)
    if peer is None:
        return None
    peer_ns, peer_link = peer
    if not peer_link.up:
        return []
    if peer_link.master is None:
        return [peer_ns]
    bridge = state.namespaces[peer_ns].link(peer_link.master)
    if bridge is None or bridge.kind != "bridge" or not bridge.up:
        return None if bridge is None or bridge.kind != "bridge" else []
    members = _bridge_members(state, peer_ns, bridge.name, exclude=peer_link.name)
    return None if members is None else [peer_ns, *members]


def _bridge_members(
    state: WorldState, ns_name: str, bridge: str, exclude: str | None
) -> list[str] | None:
    """The namespaces at the far end of the bridge's ports (veth ports only)."""
    found = []
    for port in state.namespaces[ns_name].links:
        if port.master != bridge or port.name == exclude or not port.up:
            continue
        if port.kind != "veth":
            return None
        peer = state.peer(ns_name, port)
        if peer is None or peer[1].master is not None:
            return None
        if peer[1].up:
            found.append(peer[0])
    return found


def nobody_owns(state: WorldState | None, ns_name: str | None, dev: str, ip: str) -> bool:
    """Is it certain that nobody on ``dev``'s link in ``ns_name`` has ``ip``?"""
    ns = state.ns(ns_name) if state is not None and ns_name else None
    link = ns.link(dev) if ns is not None else None
    if state is None or link is None:
        return False
    members = segment(state, ns.name, link) if ns is not None else None
    return members is not None and not any(_owner_ns(state, m, ip) for m in members)


def next_hop_missing(
    state: WorldState, ns_name: str, dst: str, proxy_arp: frozenset[str] = frozenset()
) -> Fate | None:
    """A fate if the packet for ``dst`` leaving ``ns_name`` finds nobody on its link."""
    ns = state.namespaces[ns_name]
    if ns.owns(dst) is not None:
        return None
    found = _lookup(ns, dst)
    if found is None:
        return Fate(ns_name, _("{ns_name} has no route to {dst}").format(ns_name=ns_name, dst=dst))
    dev, hop = found
    link = ns.link(dev) if dev else None
    if link is None or hop is None:
        return None
    members = segment(state, ns_name, link)
    if members is None or any(m in proxy_arp for m in members):
        return None
    if any(_owner_ns(state, m, hop) for m in members):
        return None
    via = _("next hop {hop}").format(hop=hop) if hop != dst else dst
    return Fate(
        ns_name,
        _("{ns_name} sends the packet for {dst} out of {dev}, where nobody has {via}").format(
            ns_name=ns_name, dst=dst, dev=dev, via=via
        ),
    )


def _blocked(ns: Namespace, hook: str, packet: Packet) -> str | None:
    """The rule or policy that certainly drops ``packet`` at ``hook``, or None."""
    verdict = run_hook(ns, hook, packet, nat=not packet.flow.reply)
    if verdict.accepted or verdict.uncertain or verdict.chain is None:
        return None
    return verdict.evidence(ns.name)


def _translated(flow: Flow, rule: Rule, ns: Namespace, out_if: str | None) -> Flow | None:
    """The flow after a DNAT, or None when the model cannot tell where it goes."""
    if rule.target not in ("DNAT", "REDIRECT"):
        return flow
    moved = translate(flow, rule, ns, out_if)
    return None if moved == flow else moved


def departure(
    state: WorldState,
    sender: str,
    flow: Flow,
    proxy_arp: frozenset[str] = frozenset(),
) -> Fate | None:
    """A fate for a packet as it leaves ``sender`` (its OUTPUT hook may DNAT it first)."""
    ns = state.namespaces[sender]
    found = ("lo", flow.dst) if ns.owns(flow.dst) is not None else _lookup(ns, flow.dst)
    if found is None:
        return None  # the socket itself says "Network is unreachable"
    verdict = run_hook(ns, "output", Packet(flow, out_if=found[0]))
    if verdict.uncertain or not verdict.accepted:
        return None  # a drop in OUTPUT: the socket itself says "Operation not permitted"
    if verdict.nat is not None:
        moved = _translated(flow, verdict.nat, ns, found[0])
        if moved is None:
            return None
        flow = moved
    return next_hop_missing(state, sender, flow.dst, proxy_arp)


def judge(
    state: WorldState,
    seen: Sighting,
    sender: str,
    proxy_arp: frozenset[str] = frozenset(),
) -> Fate | None:
    """Can the packet seen go on? A :class:`Fate` when it certainly cannot."""
    ns = state.ns(seen.ns)
    link = ns.link(seen.iface) if ns is not None else None
    if ns is None or link is None:
        return None
    if seen.dir == "other-host" and link.master is not None:
        return _bridged(state, ns, seen, sender, link.master)
    if seen.dir != "in" or link.master is not None or link.name == "lo":
        return None  # a bridge port (the bridge device sees it next), or loopback
    if seen.reply and seen.ns != sender:
        return None  # replies may be un-NATed by conntrack on the way: judged at the sender
    flow = _flow_of(seen, sender)
    if not seen.reply:
        after = _prerouting(ns, seen.ns, flow, link.name)
        if not isinstance(after, Flow):
            return after  # dropped there (a Fate), or not certain (None)
        flow = after
    if ns.owns(flow.dst) is not None:
        return _delivered(state, ns, seen.ns, Packet(flow, in_if=link.name), proxy_arp)
    if seen.reply:
        return None
    return _forwarded(state, ns, seen.ns, flow, link, proxy_arp)


def _prerouting(ns: Namespace, here: str, flow: Flow, in_if: str) -> Flow | Fate | None:
    """A request through ``here``'s PREROUTING hook: the flow it goes on as (after any
    DNAT), a :class:`Fate` if the hook drops it, None when that is not certain."""
    before = run_hook(ns, "prerouting", Packet(flow, in_if=in_if))
    if before.uncertain:
        return None
    if not before.accepted and before.chain is not None:
        return Fate(
            here,
            _("{seen_ns}'s PREROUTING hook drops it: {before_evidence}").format(
                seen_ns=here, before_evidence=before.evidence(here)
            ),
        )
    if before.nat is not None:  # DNAT: judge where it is sent on to
        return _translated(flow, before.nat, ns, None)
    return flow


def _forwarded(
    state: WorldState,
    ns: Namespace,
    here: str,
    flow: Flow,
    link: Link,
    proxy_arp: frozenset[str],
) -> Fate | None:
    """A request ``here`` received on ``link`` for another host: forwarded, routed,
    through FORWARD, to a next hop that answers?"""
    if not ns.forwards_from(link):
        return Fate(
            here,
            _(
                "{seen_ns} got the packet for {flow_dst} on {link_name} but does not forward "
                "from it (net.ipv4.conf.{link_name}.forwarding = 0)"
            ).format(seen_ns=here, flow_dst=flow.dst, link_name=link.name),
        )
    found = _lookup(ns, flow.dst)
    if found is None:
        return Fate(
            here,
            _("{seen_ns} has no route on to {flow_dst}").format(seen_ns=here, flow_dst=flow.dst),
        )
    dropped = _blocked(ns, "forward", Packet(flow, in_if=link.name, out_if=found[0]))
    if dropped:
        return Fate(
            here,
            _("{seen_ns}'s FORWARD hook drops it: {dropped}").format(seen_ns=here, dropped=dropped),
        )
    return next_hop_missing(state, here, flow.dst, proxy_arp)


def _bridged(
    state: WorldState, ns: Namespace, seen: Sighting, sender: str, bridge: str
) -> Fate | None:
    """A frame switched across ``bridge``: with br_netfilter its FORWARD hook applies.

    Only a packet for a namespace behind another port of the bridge is switched;
    one for anywhere else goes to the bridge itself, to be routed (judged on it).
    """
    if seen.reply or ns.bridge_nf_call_iptables != 1 or ns.owns(seen.dst) is not None:
        return None
    members = _bridge_members(state, ns.name, bridge, exclude=None)
    if not members or not any(_owner_ns(state, m, seen.dst) for m in members):
        return None
    flow = _flow_of(seen, sender)  # a request: replies returned above
    dropped = _blocked(ns, "forward", Packet(flow, in_if=bridge, out_if=bridge))
    if dropped is None:
        return None
    return Fate(
        seen.ns,
        _(
            "the frame is switched across {bridge}, and with br_netfilter "
            "(bridge-nf-call-iptables = 1) {seen_ns}'s FORWARD hook drops it: {dropped}"
        ).format(bridge=bridge, seen_ns=seen.ns, dropped=dropped),
    )


def _delivered(
    state: WorldState,
    ns: Namespace,
    here: str,
    arriving: Packet,
    proxy_arp: frozenset[str],
) -> Fate | None:
    flow = arriving.flow
    dropped = _blocked(ns, "input", arriving)
    if dropped:
        return Fate(
            here, _("{here}'s INPUT hook drops it: {dropped}").format(here=here, dropped=dropped)
        )
    if flow.reply or flow.src is None:
        return None
    back = _lookup(ns, flow.src)
    if back is None:
        return Fate(
            here,
            _(
                "the request reached {here}, which has no route back to {flow_src}: its reply "
                "has nowhere to go"
            ).format(here=here, flow_src=flow.src),
        )
    reply = Flow(
        src_ns=here,
        dst=flow.src,
        proto=flow.proto,
        dport=flow.sport,
        src=flow.dst,
        sport=flow.dport,
        reply=True,
    )
    dropped = _blocked(ns, "output", Packet(reply, out_if=back[0]))
    if dropped:
        return Fate(
            here,
            _("{here}'s OUTPUT hook drops the reply: {dropped}").format(here=here, dropped=dropped),
        )
    lost = next_hop_missing(state, here, flow.src, proxy_arp)
    if lost is None:
        return None
    return Fate(
        here,
        _("the request reached {here}, but its reply is lost: {lost_reason}").format(
            here=here, lost_reason=lost.reason
        ),
    )


def _flow_of(seen: Sighting, sender: str) -> Flow:
    """The flow of a packet the watches saw, as sent by ``sender``."""
    return Flow(
        src_ns=sender,
        dst=seen.dst,
        proto=seen.proto,
        dport=seen.dport,
        src=seen.src,
        sport=seen.sport,
        reply=seen.reply,
    )
