"""The check kinds a lesson's milestones may use (see docs/lesson-format.md).

A kind is a function ``(ctx, args) -> Outcome``. State kinds read the snapshot
(netlink and iptables); probe kinds send real packets (:mod:`checks.probes`) and,
when the packets do not get through, ask the tracer in :mod:`checks.diagnose` why.
A probe kind also registers in :data:`PREPARE` how to start its probes early, so
that the engine can start every probe of a lesson at once.
"""

from __future__ import annotations

import ipaddress
import os
import random
import select
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checks import probes
from checks.causes import Cause
from checks.context import CheckContext, ProbeCall
from checks.diagnose import Diagnosis, _rule_matches
from lab import inns
from lab.state import Link, Namespace


@dataclass
class Outcome:
    passed: bool
    cause: str | None = None
    explanation: str = ""
    evidence: list[str] = field(default_factory=list)

    @classmethod
    def ok(cls, *evidence: str) -> Outcome:
        return cls(True, evidence=list(evidence))

    @classmethod
    def fail(cls, cause: str | None, explanation: str, *evidence: str) -> Outcome:
        return cls(False, cause, explanation, list(evidence))

    @classmethod
    def from_diagnosis(cls, diag: Diagnosis | None, *evidence: str) -> Outcome:
        if diag is None:
            return cls(
                False,
                Cause.UNEXPLAINED,
                "The packet was lost, but the lab's model of the network sees no reason; "
                "look at `ip route`, `ip link` and `iptables -S` along the path.",
                list(evidence),
            )
        further = [f"look further: {command}" for command in diag.look_further]
        return cls(False, diag.cause, diag.explanation, [*evidence, *diag.evidence, *further])


Kind = Callable[[CheckContext, Mapping[str, Any]], Outcome]
KINDS: dict[str, Kind] = {}
REQUIRED: dict[str, tuple[str, ...]] = {}
#: For probe kinds: start the kind's probes early (the engine does, for every milestone).
PREPARE: dict[str, Callable[[CheckContext, Mapping[str, Any]], None]] = {}


def kind(name: str, *required: str) -> Callable[[Kind], Kind]:
    def register(func: Kind) -> Kind:
        KINDS[name] = func
        REQUIRED[name] = required
        return func

    return register


def _missing(ctx: CheckContext, name: str) -> Outcome:
    have = ", ".join(ctx.state.learner_namespaces()) or "none"
    return Outcome.fail(
        "netns-missing",
        f"There is no network namespace called {name}. Create it with `ip netns add {name}`.",
        f"ip netns list: {have}",
    )


def _ns_or_fail(ctx: CheckContext, name: str) -> Namespace | Outcome:
    ns = ctx.state.ns(name)
    return _missing(ctx, name) if ns is None else ns


# ------------------------------------------------------------------ state


@kind("netns_exists", "ns")
def netns_exists(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    return ns if isinstance(ns, Outcome) else Outcome.ok(f"ip netns list shows {args['ns']}")


@kind("link", "ns", "name")
def link(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    name = args["name"]
    found = ns.link(name)
    if found is None:
        elsewhere = [n for n, _ in ctx.state.find_link(name)]
        if elsewhere:
            return Outcome.fail(
                "link-wrong-netns",
                f"{name} exists, but in {elsewhere[0]}, not in {args['ns']}. Move it with "
                f"`ip link set {name} netns {args['ns']}`.",
                f"{elsewhere[0]}: has {name}",
            )
        return Outcome.fail(
            "link-missing",
            f"There is no interface {name} in {args['ns']}.",
            f"{args['ns']}: links are {', '.join(lk.name for lk in ns.links)}",
        )
    if args.get("kind") and found.kind != args["kind"]:
        return Outcome.fail(
            "state-wrong", f"{name} is a {found.kind or 'plain'} device, not a {args['kind']}."
        )
    if args.get("up") and not found.up:
        return Outcome.fail(
            "link-down",
            f"{name} in {args['ns']} is down: `ip link set {name} up`.",
            f"{args['ns']}: {name} state DOWN",
        )
    want_master = args.get("master")
    if want_master and found.master != want_master:
        return Outcome.fail(
            "not-bridged",
            f"{name} is not a port of {want_master}: `ip link set {name} master {want_master}`.",
            f"{args['ns']}: {name} master {found.master or '(none)'}",
        )
    if args.get("peer_ns") or args.get("peer"):
        peer = ctx.state.peer(args["ns"], found)
        if peer is None:
            return Outcome.fail("link-missing", f"{name} has no veth peer.")
        if args.get("peer_ns") and peer[0] != args["peer_ns"]:
            return Outcome.fail(
                "link-wrong-netns",
                f"The other end of {name}, {peer[1].name}, is in {peer[0]}, not in "
                f"{args['peer_ns']}.",
                f"{peer[0]}: has {peer[1].name}",
            )
        if args.get("peer") and peer[1].name != args["peer"]:
            return Outcome.fail(
                "link-missing", f"The other end of {name} is {peer[1].name}, not {args['peer']}."
            )
    return Outcome.ok(f"{args['ns']}: {name} {'UP' if found.up else 'DOWN'}")


@kind("address", "ns", "dev", "address")
def address(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    dev = _device_or_fail(ctx, args)
    if isinstance(dev, Outcome):
        return dev
    if args["address"] in dev.addresses:
        return Outcome.ok(f"{args['ns']}: {args['dev']} has {args['address']}")
    return Outcome.fail(
        "address-missing",
        f"{args['dev']} in {args['ns']} should have {args['address']}.",
        f"{args['ns']}: {args['dev']} has {', '.join(dev.addresses) or 'no IPv4 address'}",
    )


def _device_or_fail(ctx: CheckContext, args: Mapping[str, Any]) -> Link | Outcome:
    """Device ``args['dev']`` in namespace ``args['ns']``, or why it is not there."""
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    dev = ns.link(args["dev"])
    return link(ctx, {"ns": args["ns"], "name": args["dev"]}) if dev is None else dev


@kind("no_address", "ns", "dev")
def no_address(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    dev = _device_or_fail(ctx, args)
    if isinstance(dev, Outcome):
        return dev
    if not dev.addresses:
        return Outcome.ok(f"{args['ns']}: {args['dev']} has no IPv4 address")
    return Outcome.fail(
        "state-wrong",
        f"{args['dev']} still has {', '.join(dev.addresses)}: a bridge port needs no address "
        "of its own (and an address here brings back the route clash).",
        f"{args['ns']}: {args['dev']} has {', '.join(dev.addresses)}",
    )


@kind("route", "ns", "dst")
def route(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    for r in ns.routes:
        if r.dst != args["dst"]:
            continue
        if args.get("via") and r.gateway != args["via"]:
            continue
        if args.get("dev") and r.dev != args["dev"]:
            continue
        return Outcome.ok(f"{args['ns']}: {r.text()}")
    want = args["dst"] + (f" via {args['via']}" if args.get("via") else "")
    down = [lk for lk in ns.links if lk.name != "lo" and lk.addresses and not lk.up]
    if down:
        return Outcome.fail(
            "link-down",
            f"{args['ns']} has no route {want}: {down[0].name} is down, and a link that is "
            "down takes its routes with it.",
            f"{args['ns']}: {down[0].name} is DOWN",
        )
    learner = args["ns"] not in ("host", "internet")
    cause = "gateway-missing" if args["dst"] == "default" and learner else "route-missing"
    return Outcome.fail(
        cause,
        f"{args['ns']} has no route {want}.",
        f"{args['ns']}: ip route: " + ("; ".join(r.text() for r in ns.routes) or "(empty)"),
    )


@kind("route_clash", "ns", "dst")
def route_clash(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    same = [r for r in ns.routes if r.dst == args["dst"]]
    if len(same) >= 2:
        return Outcome.ok(
            f"{args['ns']}: {len(same)} routes for {args['dst']}: "
            + "; ".join(r.text() for r in same)
        )
    return Outcome.fail(
        "route-missing",
        f"{args['ns']} has {len(same)} route(s) for {args['dst']}; the clash appears once a "
        "second interface gets an address in the same network.",
        *(f"{args['ns']}: {r.text()}" for r in same),
    )


@kind("ip_forward")
def ip_forward(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    name = args.get("ns", "host")
    ns = _ns_or_fail(ctx, name)
    if isinstance(ns, Outcome):
        return ns
    want = int(args.get("value", 1))
    if ns.ip_forward == want:
        return Outcome.ok(f"{name}: net.ipv4.ip_forward = {want}")
    return Outcome.fail(
        "ip-forward-off" if want == 1 else "state-wrong",
        f"net.ipv4.ip_forward is {ns.ip_forward} in {name}; it should be {want}.",
        f"{name}: /proc/sys/net/ipv4/ip_forward = {ns.ip_forward}",
    )


def _sample(cidr: str) -> str:
    net = ipaddress.IPv4Network(cidr, strict=False)
    return str(net.network_address + 10) if net.num_addresses > 16 else str(net.network_address)


@kind("masquerade", "source")
def masquerade(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    name = args.get("ns", "host")
    ns = _ns_or_fail(ctx, name)
    if isinstance(ns, Outcome):
        return ns
    src = _sample(args["source"])
    uplink = args.get("out", "eth0")
    rules = [
        r for r in ns.firewall.in_chain("nat", "POSTROUTING") if r.target in ("MASQUERADE", "SNAT")
    ]
    for r in rules:
        if _rule_matches(r, src, "8.8.8.8", None, uplink, "icmp", None):
            return Outcome.ok(f"{name}: -A POSTROUTING {r.text}")
    return Outcome.fail(
        "masquerade-missing",
        f"No nat POSTROUTING rule masquerades traffic from {args['source']} leaving through "
        f"{uplink}.",
        *(f"{name}: -A POSTROUTING {r.text} (does not match it)" for r in rules),
    )


@kind("dnat", "chain", "dst", "port", "to")
def dnat(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    name = args.get("ns", "host")
    ns = _ns_or_fail(ctx, name)
    if isinstance(ns, Outcome):
        return ns
    chain = args["chain"]
    port = int(args["port"])
    near = []
    for r in ns.firewall.in_chain("nat", chain):
        if r.target != "DNAT":
            continue
        if _rule_matches(r, "10.0.2.2", args["dst"], None, None, "tcp", port):
            if r.to_destination == args["to"]:
                return Outcome.ok(f"{name}: -A {chain} {r.text}")
            near.append(r)
    if near:
        return Outcome.fail(
            "dnat-wrong",
            f"A DNAT rule in {chain} catches {args['dst']}:{port} but sends it to "
            f"{near[0].to_destination}, not {args['to']}.",
            *(f"{name}: -A {chain} {r.text}" for r in near),
        )
    cause = "dnat-local-missing" if chain == "OUTPUT" else "dnat-missing"
    return Outcome.fail(
        cause,
        f"No DNAT rule in the nat {chain} chain sends {args['dst']}:{port} to {args['to']}.",
    )


@kind("iptables_chain", "ns", "chain")
def iptables_chain(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    table = args.get("table", "filter")
    present = args["chain"] in ns.firewall.chains.get(table, ())
    want = bool(args.get("present", True))
    if present == want:
        return Outcome.ok(
            f"{args['ns']}: chain {args['chain']} {'present' if present else 'absent'}"
        )
    if want:
        return Outcome.fail(
            "state-wrong",
            f"The {table} table of {args['ns']} has no chain {args['chain']}.",
        )
    return Outcome.fail(
        "state-wrong",
        f"{args['ns']} has a chain {args['chain']}; a new namespace starts with empty iptables.",
    )


# ----------------------------------------------------------------- probes


def _probe_args(call: ProbeCall) -> tuple[Any, ...]:
    ns, fn, args = call
    return (ns, fn, *args)


def _probe_failed(
    ctx: CheckContext, src: str, dst: str, what: str, proto: str = "icmp", port: int | None = None
) -> Outcome:
    return Outcome.from_diagnosis(ctx.tracer.explain(src, dst, proto, port), what)


def _ping_call(ctx: CheckContext, args: Mapping[str, Any]) -> ProbeCall:
    return args["from"], probes.ping, (args["to"], ctx.timeout)


def _arp_call(ctx: CheckContext, args: Mapping[str, Any]) -> ProbeCall:
    return args["from"], probes.arp, (args["to"], ctx.timeout)


def _http_call(ctx: CheckContext, args: Mapping[str, Any]) -> ProbeCall:
    port = int(args["port"])
    return args["from"], probes.http_get, (args["to"], port, max(ctx.timeout, 1.0))


def _prefetching(
    call: Callable[[CheckContext, Mapping[str, Any]], ProbeCall],
) -> Callable[[CheckContext, Mapping[str, Any]], None]:
    def prepare(ctx: CheckContext, args: Mapping[str, Any]) -> None:
        ctx.prefetch([call(ctx, args)])

    return prepare


PREPARE.update(
    ping=_prefetching(_ping_call), arp=_prefetching(_arp_call), http=_prefetching(_http_call)
)


@kind("ping", "from", "to")
def ping(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    src, dst = args["from"], args["to"]
    result = ctx.probe(*_probe_args(_ping_call(ctx, args)))
    if result is None:
        return _missing(ctx, src)
    what = f"ping from {src} to {dst}: " + (
        f"reply in {result['ms']} ms" if result["ok"] else result["error"]
    )
    if args.get("expect", "reply") == "reply":
        return Outcome.ok(what) if result["ok"] else _probe_failed(ctx, src, dst, what)
    # the milestone is reaching a failure, for the right reason
    if result["ok"]:
        return Outcome.fail(
            "state-wrong",
            f"{dst} answers {src}, but this step is about seeing it fail; rebuild the "
            "situation the lesson describes (reset the lesson if needed).",
            what,
        )
    diag = ctx.tracer.trace(src, dst)
    want = args.get("cause")
    if want is None or (diag is not None and diag.cause == want):
        reached = Outcome.ok(what, *(diag.evidence if diag else []))
        reached.explanation = diag.explanation if diag else ""  # why it fails: the lesson's point
        return reached
    out = Outcome.from_diagnosis(diag, what)
    out.explanation = "It fails, but not for the reason this step is about: " + out.explanation
    return out


@kind("arp", "from", "to")
def arp(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    src, dst = args["from"], args["to"]
    result = ctx.probe(*_probe_args(_arp_call(ctx, args)))
    if result is None:
        return _missing(ctx, src)
    if result["ok"]:
        return Outcome.ok(
            f"arp who-has {dst} from {src}: is-at {result['mac']} ({result['iface']})"
        )
    return _probe_failed(ctx, src, dst, f"arp who-has {dst} from {src}: {result['error']}")


def _start_nat_source(ctx: CheckContext, args: Mapping[str, Any]) -> None:
    """Start a sniffer in the internet namespace, then (once it listens) the ping it waits for.

    The sniffer is kept under ``("nat_source", from, to)``, the echo id it waits
    for in ``ctx.notes`` under the same key; the ping is prefetched with that id.
    """
    src, dst = args["from"], args["to"]
    ident = random.randint(1, 0xFFFF)
    ready_r, ready_w = os.pipe()
    try:
        sniffer = inns.start(
            ctx.world, "internet", probes.sniff_echo, ready_w, dst, ident, ctx.timeout + 0.6
        )
        os.close(ready_w)
        ready_w = -1
        select.select([ready_r], [], [], 3.0)
    finally:
        os.close(ready_r)
        if ready_w >= 0:
            os.close(ready_w)
    ctx.keep(("nat_source", src, dst), sniffer)
    ctx.notes.setdefault(("nat_source", src, dst), []).append(ident)
    ctx.prefetch([(src, probes.ping, (dst, ctx.timeout, ident))])


PREPARE["nat_source"] = _start_nat_source


@kind("nat_source", "from", "to", "seen")
def nat_source(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    src, dst, want = args["from"], args["to"], args["seen"]
    if ctx.state.ns(src) is None:
        return _missing(ctx, src)
    started = ctx.take(("nat_source", src, dst))
    if started is None:
        _start_nat_source(ctx, args)
        started = ctx.take(("nat_source", src, dst))
    idents = ctx.notes.get(("nat_source", src, dst)) or [0]
    ident = idents.pop(0)
    result = ctx.probe(src, probes.ping, dst, ctx.timeout, ident)
    sniffed = inns.collect(started, timeout=ctx.timeout + 3.0) if started else {}
    seen = sniffed.get("seen", [])
    what = f"echo {src} -> {dst} seen in the internet namespace with source " + (
        seen[0] if seen else "(never arrived)"
    )
    if seen and seen[0] == want and result and result["ok"]:
        return Outcome.ok(what, f"reply in {result['ms']} ms")
    if seen and seen[0] != want:
        return Outcome.fail(
            "masquerade-missing",
            f"The echo reaches the outside with the private source {seen[0]}; the outside has "
            f"no route back to it. The host must masquerade it as {want}.",
            what,
        )
    return _probe_failed(ctx, src, dst, what)


@kind("http", "from", "to", "port")
def http(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    src, dst, port = args["from"], args["to"], int(args["port"])
    result = ctx.probe(*_probe_args(_http_call(ctx, args)))
    if result is None:
        return _missing(ctx, src)
    what = f"curl {dst}:{port} from {src}: " + (
        result.get("status", "") if result["ok"] else result["error"]
    )
    expect = args.get("expect", "ok")
    if expect == "ok":
        if result["ok"]:
            return Outcome.ok(what)
        return _probe_failed(ctx, src, dst, what, "tcp", port)
    if result["outcome"] != expect:
        return Outcome.fail("state-wrong", f"Expected the request to end '{expect}'.", what)
    want = args.get("cause")
    diag = ctx.tracer.trace(src, dst, "tcp", port)
    if want is None or (diag is not None and diag.cause == want):
        return Outcome.ok(what)
    return Outcome.from_diagnosis(diag, what)


@kind("listening", "ns", "address", "port")
def listening(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    port = int(args["port"])
    for addr, p in ns.listening:
        if p == port and addr in (args["address"], "0.0.0.0"):
            return Outcome.ok(f"{args['ns']}: listening on {addr}:{p}")
    return Outcome.fail(
        "service-down",
        f"Nothing listens on {args['address']}:{port} in {args['ns']}. Start the server "
        "(in the background with `&`, or in another shell).",
        f"{args['ns']}: listening sockets: "
        + (", ".join(f"{a}:{p}" for a, p in ns.listening) or "none"),
    )
