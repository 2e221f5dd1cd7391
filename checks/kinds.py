"""The check kinds a lesson's milestones may use (see docs/lesson-format.md).

A kind is a function ``(ctx, args) -> Outcome``; its arguments are declared by a
typed spec in :mod:`checks.specs` (checked, and given their defaults, when the
lesson loads). State kinds read the snapshot (netlink and the firewalls); probe
kinds send real packets through the sender's sockets (:mod:`checks.probes`),
check who answered and, when the packets do not get through, ask the tracer in
:mod:`checks.diagnose` why. A failing outcome always names a
:class:`checks.causes.Cause`.
A probe kind also registers in :data:`PREPARE` how to start its probes early, so
that the engine can start every probe of a lesson at once.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from checks import probes, processes, rootless
from checks.causes import Cause
from checks.context import CheckContext, Observed, Plan, ProbeCall
from checks.specs import SPECS
from lab import inns, record
from lab.i18n import N_, _
from lab.model import Outcome
from lab.state import Link, Namespace
from lab.world import HOST_NS, INTERNET_ADDR, INTERNET_NS, LEARNER

Kind = Callable[[CheckContext, Mapping[str, Any]], Outcome]
#: check kind -> its function; each takes the args its spec in :mod:`checks.specs` declares
#: (validated and given their defaults when the lesson loaded)
KINDS: dict[str, Kind] = {}
#: For probe kinds: start the kind's probes early (the engine does, for every milestone).
PREPARE: dict[str, Callable[[CheckContext, Mapping[str, Any]], None]] = {}
#: Kinds whose probe is planned without the snapshot: started while it is being read.
EARLY = frozenset({"ping", "arp", "nat_source", "dnat", "http"})


def kind(name: str) -> Callable[[Kind], Kind]:
    """Register a check kind; its arguments are declared by ``checks.specs.SPECS[name]``."""
    if name not in SPECS:
        raise LookupError(
            _("check kind {name!r} has no argument spec in checks.specs").format(name=name)
        )

    def register(func: Kind) -> Kind:
        KINDS[name] = func
        return func

    return register


def _missing(ctx: CheckContext, name: str) -> Outcome:
    have = ", ".join(ctx.state.learner_namespaces()) or "none"
    return Outcome.fail(
        Cause.NETNS_MISSING,
        _(
            "There is no network namespace called {name}. Create it with `ip netns add {name}`."
        ).format(name=name),
        f"ip netns list: {have}",
    )


def _ns_or_fail(ctx: CheckContext, name: str) -> Namespace | Outcome:
    ns = ctx.state.ns(name)
    return _missing(ctx, name) if ns is None else ns


# ------------------------------------------------------------------ state


@kind("netns_exists")
def netns_exists(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    return ns if isinstance(ns, Outcome) else Outcome.ok(f"ip netns list shows {args['ns']}")


@kind("link")
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
                Cause.LINK_WRONG_NETNS,
                _(
                    "{name} exists, but in {elsewhere_0}, not in {args_ns}. Move it with `ip link "
                    "set {name} netns {args_ns}`."
                ).format(name=name, elsewhere_0=elsewhere[0], args_ns=args["ns"]),
                f"{elsewhere[0]}: has {name}",
            )
        return Outcome.fail(
            Cause.LINK_MISSING,
            _("There is no interface {name} in {args_ns}.").format(name=name, args_ns=args["ns"]),
            _("{args_ns}: links are {value1}").format(
                args_ns=args["ns"], value1=", ".join(lk.name for lk in ns.links)
            ),
        )
    if args.get("kind") and found.kind != args["kind"]:
        return Outcome.fail(
            Cause.STATE_WRONG, f"{name} is a {found.kind or 'plain'} device, not a {args['kind']}."
        )
    if args.get("up") and not found.up:
        return Outcome.fail(
            Cause.LINK_DOWN,
            _("{name} in {args_ns} is down: `ip link set {name} up`.").format(
                name=name, args_ns=args["ns"]
            ),
            _("{args_ns}: {name} state DOWN").format(args_ns=args["ns"], name=name),
        )
    want_master = args.get("master")
    if want_master and found.master != want_master:
        return Outcome.fail(
            Cause.NOT_BRIDGED,
            _(
                "{name} is not a port of {want_master}: `ip link set {name} master {want_master}`."
            ).format(name=name, want_master=want_master),
            f"{args['ns']}: {name} master {found.master or '(none)'}",
        )
    if args.get("peer_ns") or args.get("peer"):
        peer = ctx.state.peer(args["ns"], found)
        if peer is None:
            return Outcome.fail(Cause.LINK_MISSING, _("{name} has no veth peer.").format(name=name))
        if args.get("peer_ns") and peer[0] != args["peer_ns"]:
            return Outcome.fail(
                Cause.LINK_WRONG_NETNS,
                _(
                    "The other end of {name}, {peer_1_name}, is in {peer_0}, not in {args_peer_ns}."
                ).format(
                    name=name,
                    peer_1_name=peer[1].name,
                    peer_0=peer[0],
                    args_peer_ns=args["peer_ns"],
                ),
                f"{peer[0]}: has {peer[1].name}",
            )
        if args.get("peer") and peer[1].name != args["peer"]:
            return Outcome.fail(
                Cause.LINK_MISSING,
                _("The other end of {name} is {peer_1_name}, not {args_peer}.").format(
                    name=name, peer_1_name=peer[1].name, args_peer=args["peer"]
                ),
            )
    return Outcome.ok(f"{args['ns']}: {name} {'UP' if found.up else 'DOWN'}")


@kind("address")
def address(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    dev = _device_or_fail(ctx, args)
    if isinstance(dev, Outcome):
        return dev
    if args["address"] in dev.addresses:
        return Outcome.ok(f"{args['ns']}: {args['dev']} has {args['address']}")
    return Outcome.fail(
        Cause.ADDRESS_MISSING,
        _("{args_dev} in {args_ns} should have {args_address}.").format(
            args_dev=args["dev"], args_ns=args["ns"], args_address=args["address"]
        ),
        f"{args['ns']}: {args['dev']} has {', '.join(dev.addresses) or 'no IPv4 address'}",
    )


def _device_or_fail(ctx: CheckContext, args: Mapping[str, Any]) -> Link | Outcome:
    """Device ``args['dev']`` in namespace ``args['ns']``, or why it is not there."""
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    dev = ns.link(args["dev"])
    return link(ctx, {"ns": args["ns"], "name": args["dev"]}) if dev is None else dev


@kind("no_address")
def no_address(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    dev = _device_or_fail(ctx, args)
    if isinstance(dev, Outcome):
        return dev
    if not dev.addresses:
        return Outcome.ok(
            _("{args_ns}: {args_dev} has no IPv4 address").format(
                args_ns=args["ns"], args_dev=args["dev"]
            )
        )
    return Outcome.fail(
        Cause.STATE_WRONG,
        _(
            "{args_dev} still has {value1}: a bridge port needs no address of its own (and "
            "an address here brings back the route clash)."
        ).format(args_dev=args["dev"], value1=", ".join(dev.addresses)),
        f"{args['ns']}: {args['dev']} has {', '.join(dev.addresses)}",
    )


@kind("route")
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
            Cause.LINK_DOWN,
            _(
                "{args_ns} has no route {want}: {down_0_name} is down, and a link that is down "
                "takes its routes with it."
            ).format(args_ns=args["ns"], want=want, down_0_name=down[0].name),
            _("{args_ns}: {down_0_name} is DOWN").format(
                args_ns=args["ns"], down_0_name=down[0].name
            ),
        )
    learner = args["ns"] not in ("host", "internet")
    cause = Cause.GATEWAY_MISSING if args["dst"] == "default" and learner else Cause.ROUTE_MISSING
    return Outcome.fail(
        cause,
        _("{args_ns} has no route {want}.").format(args_ns=args["ns"], want=want),
        _("{args_ns}: ip route: ").format(args_ns=args["ns"])
        + ("; ".join(r.text() for r in ns.routes) or "(empty)"),
    )


@kind("route_clash")
def route_clash(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    same = [r for r in ns.routes if r.dst == args["dst"]]
    if len(same) >= 2:
        return Outcome.ok(
            _("{args_ns}: {count} routes for {args_dst}: ").format(
                args_ns=args["ns"], count=len(same), args_dst=args["dst"]
            )
            + "; ".join(r.text() for r in same)
        )
    return Outcome.fail(
        Cause.ROUTE_MISSING,
        _(
            "{args_ns} has {count} route(s) for {args_dst}; the clash appears once a "
            "second interface gets an address in the same network."
        ).format(args_ns=args["ns"], count=len(same), args_dst=args["dst"]),
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
        Cause.IP_FORWARD_OFF if want == 1 else Cause.STATE_WRONG,
        _("net.ipv4.ip_forward is {ns_ip_forward} in {name}; it should be {want}.").format(
            ns_ip_forward=ns.ip_forward, name=name, want=want
        ),
        f"{name}: /proc/sys/net/ipv4/ip_forward = {ns.ip_forward}",
    )


@kind("iptables_chain")
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
            Cause.STATE_WRONG,
            _("The {table} table of {args_ns} has no chain {args_chain}.").format(
                table=table, args_ns=args["ns"], args_chain=args["chain"]
            ),
        )
    return Outcome.fail(
        Cause.STATE_WRONG,
        _("{args_ns} has a chain {args_chain}; a new namespace starts with empty iptables.").format(
            args_ns=args["ns"], args_chain=args["chain"]
        ),
    )


# ----------------------------------------------------------------- probes
#
# A probe kind sends real packets from the namespace a milestone names, through
# its socket layer (its OUTPUT and INPUT chains apply), and checks who answered.
# Milestones about a rule ("the host masquerades...", "a DNAT rule in
# PREROUTING...") are judged the same way: by what the kernel does to such a
# packet, watched where it arrives, whatever rules (iptables-nft, -legacy,
# nftables, user chains) produce it.


def _probe_args(call: ProbeCall) -> tuple[Any, ...]:
    ns, fn, args = call
    return (ns, fn, *args)


def _probe_failed(
    ctx: CheckContext, src: str, dst: str, what: str, proto: str = "icmp", port: int | None = None
) -> Outcome:
    return Outcome.from_diagnosis(ctx.tracer.explain(src, dst, proto, port), what)


def _ping_call(ctx: CheckContext, args: Mapping[str, Any], ident: int | None = None) -> ProbeCall:
    """A ping from ``from`` to ``to``, watched in every namespace (its fate ends the wait)."""
    src = args["from"]
    watched = (ctx.watch_paths(), ctx.snapshot_for_probe(), src)
    return src, probes.ping, (args["to"], ctx.timeout, ident, *watched)


def _arp_call(ctx: CheckContext, args: Mapping[str, Any]) -> ProbeCall:
    return (
        args["from"],
        probes.arp,
        (args["to"], ctx.timeout, ctx.snapshot_for_probe(), args["from"]),
    )


def _prefetching(
    call: Callable[[CheckContext, Mapping[str, Any]], ProbeCall],
) -> Callable[[CheckContext, Mapping[str, Any]], None]:
    def prepare(ctx: CheckContext, args: Mapping[str, Any]) -> None:
        ctx.prefetch([call(ctx, args)])

    return prepare


PREPARE.update(ping=_prefetching(_ping_call), arp=_prefetching(_arp_call))


def _owners(ctx: CheckContext, ip: str) -> list[tuple[str, Link]]:
    """Every namespace of the world with ``ip`` on one of its links."""
    found = []
    for name, ns in ctx.state.namespaces.items():
        link = ns.owns(ip)
        if link is not None:
            found.append((name, link))
    return found


def _answered_by_wrong_ns(
    ctx: CheckContext, src: str, dst: str, result: Mapping[str, Any], want: str | None, what: str
) -> Outcome | None:
    """Why the answer did not come from the namespace the milestone names (None: it did).

    The sender must not own ``dst`` itself, ``want`` must own it, and (the probe
    watched the world) the echo request must have been seen arriving in ``want``.
    """
    owners = _owners(ctx, dst)
    local = bool(result.get("local"))
    if local:
        link = next((lk for n, lk in owners if n == src), None)
        where = f" (on {link.name})" if link else ""
        return Outcome.fail(
            Cause.LINK_WRONG_NETNS,
            _(
                "{dst} is an address of {src} itself{where}, so {src} answered its own probe. "
                "It belongs to {value1}: move the interface there (`ip link set DEV netns "
                "{value2}`) and address it inside."
            ).format(
                dst=dst,
                src=src,
                where=where,
                value1=want or "another namespace",
                value2=want or "NAME",
            ),
            what,
            *(f"{n}: {lk.name} has {dst}" for n, lk in owners),
        )
    if want is None:
        return None
    if not any(n == want for n, _ in owners):
        return Outcome.fail(
            Cause.ADDRESS_MISSING,
            _(
                "Something answered for {dst}, but not {want}: {want} does not have that address."
            ).format(dst=dst, want=want),
            what,
            *(f"{n}: {lk.name} has {dst}" for n, lk in owners),
        )
    seen = result.get("seen")
    if seen is None or want not in result.get("watched", ()):
        return None
    reached = {
        p["ns"] for p in seen if p["dir"] == "in" and p.get("type") == probes.ICMP_ECHO_REQUEST
    }
    if want in reached:
        return None
    others = sorted(reached - {src})
    return Outcome.fail(
        Cause.ADDRESS_DUPLICATE if len(owners) > 1 else Cause.STATE_WRONG,
        _("The reply for {dst} did not come from {want}: the request never arrived there").format(
            dst=dst, want=want
        )
        + (_(" (it arrived in {value1}).").format(value1=", ".join(others)) if others else "."),
        what,
        *(f"{n}: {lk.name} has {dst}" for n, lk in owners),
    )


_WITHIN = re.compile(r"no (reply|answer) within ([0-9.]+) s")


def probe_words(error: str) -> str:
    """A probe's own result in the learner's language: probes report in English (their
    words are read again by the tracer), and the kernel's errors stay as the kernel
    says them (``Network is unreachable``, as ``ping`` prints it)."""
    if error.startswith("lost: "):
        return _("lost: {reason}").format(reason=error.removeprefix("lost: "))
    within = _WITHIN.fullmatch(error)
    if within is None:
        return error
    said = (
        _("no reply within {seconds} s")
        if within[1] == "reply"
        else _("no answer within {seconds} s")
    )
    return said.format(seconds=within[2])


@kind("ping")
def ping(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    src, dst = args["from"], args["to"]
    result = ctx.probe(*_probe_args(_ping_call(ctx, args)))
    if result is None:
        return _missing(ctx, src)
    what = _("ping from {src} to {dst}: ").format(src=src, dst=dst) + (
        _("reply from {result_from} in {result_ms} ms").format(
            result_from=result["from"], result_ms=result["ms"]
        )
        if result["ok"]
        else probe_words(str(result["error"]))
    )
    if args.get("expect", "reply") == "reply":
        if not result["ok"]:
            return _probe_failed(ctx, src, dst, what)
        wrong = _answered_by_wrong_ns(ctx, src, dst, result, args.get("answered_by"), what)
        return wrong or Outcome.ok(what)
    # the milestone is reaching a failure, for the right reason
    if result["ok"]:
        return Outcome.fail(
            Cause.STATE_WRONG,
            _(
                "{dst} answers {src}, but this step is about seeing it fail; rebuild the "
                "situation the lesson describes (reset the lesson if needed)."
            ).format(dst=dst, src=src),
            what,
        )
    diag = ctx.tracer.trace(src, dst)
    want = args.get("cause")
    if want is None or (diag is not None and diag.cause == want):
        reached = Outcome.ok(what, *(diag.evidence if diag else []))
        reached.explanation = diag.explanation if diag else ""  # why it fails: the lesson's point
        return reached
    out = Outcome.from_diagnosis(diag, what)
    out.explanation = _("It fails, but not for the reason this step is about: ") + out.explanation
    return out


@kind("arp")
def arp(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    src, dst = args["from"], args["to"]
    result = ctx.probe(*_probe_args(_arp_call(ctx, args)))
    if result is None:
        return _missing(ctx, src)
    if result["ok"]:
        return Outcome.ok(
            _("arp who-has {dst} from {src}: is-at {result_mac} ({result_iface})").format(
                dst=dst, src=src, result_mac=result["mac"], result_iface=result["iface"]
            )
        )
    return _probe_failed(
        ctx,
        src,
        dst,
        _("arp who-has {dst} from {src}: {result_error}").format(
            dst=dst, src=src, result_error=probe_words(str(result["error"]))
        ),
    )


# ------------------------------------------------- what the outside sees (NAT)


def _key(name: str, args: Mapping[str, Any]) -> tuple[Any, ...]:
    return (name, *sorted((k, str(v)) for k, v in args.items()))


def _echo_watched_outside(ctx: CheckContext, src: str, dst: str) -> Plan:
    """An echo from ``src`` to ``dst``, watched everywhere (the internet's view included)."""
    ident = random.randint(1, 0xFFFF)
    src_ns, fn, args = _ping_call(ctx, {"from": src, "to": dst}, ident)
    return Plan(probe=(src_ns, fn, args), want={"proto": "icmp", "id": ident})


def _sources_outside(seen: Observed, dst: str) -> list[str]:
    """The source addresses the internet saw on the probe's echo requests to ``dst``."""
    return [
        p["src"]
        for p in (seen.result or {}).get("seen", [])
        if p["ns"] == "internet"
        and p["type"] == probes.ICMP_ECHO_REQUEST
        and p["dst"] == dst
        and p["dir"] == "in"
    ]


def _nat_source_plan(ctx: CheckContext, args: Mapping[str, Any]) -> Plan:
    return _echo_watched_outside(ctx, args["from"], args["to"])


def _echo_key(src: str, dst: str) -> tuple[Any, ...]:
    """One echo watched outside serves every milestone about it (nat_source, masquerade)."""
    return ("echo", str(src), str(dst))


def _prepare_nat_source(ctx: CheckContext, args: Mapping[str, Any]) -> None:
    ctx.observe(_echo_key(args["from"], args["to"]), _nat_source_plan(ctx, args))


PREPARE["nat_source"] = _prepare_nat_source


@kind("nat_source")
def nat_source(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    src, dst, want = args["from"], args["to"], args["seen"]
    if ctx.state.ns(src) is None:
        return _missing(ctx, src)
    found = ctx.observed(_echo_key(src, dst), lambda: _nat_source_plan(ctx, args))
    result = found.result
    if result is None:
        return _missing(ctx, src)
    sources = _sources_outside(found, dst)
    what = f"echo {src} -> {dst} seen in the internet namespace with source " + (
        sources[0] if sources else _("(never arrived)")
    )
    if sources and sources[0] == want and result["ok"]:
        return Outcome.ok(what, _("reply in {result_ms} ms").format(result_ms=result["ms"]))
    if sources and sources[0] != want:
        return Outcome.fail(
            Cause.MASQUERADE_MISSING,
            _(
                "The echo reaches the outside with the source {sources_0}; the outside has no "
                "route back to it. The host must masquerade it as {want}."
            ).format(sources_0=sources[0], want=want),
            what,
        )
    if not result["ok"]:
        what += f"; {result['error']}"
    return _probe_failed(ctx, src, dst, what)


def _masquerade_sender(ctx: CheckContext, source: str) -> str | None:
    """A learner namespace with an address in ``source`` (it sends the test packet)."""
    net = ipaddress.IPv4Network(source, strict=False)
    for name in ctx.state.learner_namespaces():
        for cidr, _owner in ctx.state.namespaces[name].addresses():
            if ipaddress.IPv4Address(cidr.split("/")[0]) in net:
                return name
    return None


def _uplink_address(ctx: CheckContext, ns_name: str, out: str) -> str | None:
    ns = ctx.state.ns(ns_name)
    link = ns.link(out) if ns else None
    return link.addresses[0].split("/")[0] if link and link.addresses else None


def _masquerade_plan(ctx: CheckContext, args: Mapping[str, Any]) -> Plan | None:
    sender = _masquerade_sender(ctx, args["source"])
    if sender is None:
        return None
    return _echo_watched_outside(ctx, sender, str(args.get("to", INTERNET_ADDR)))


def _prepare_masquerade(ctx: CheckContext, args: Mapping[str, Any]) -> None:
    plan = _masquerade_plan(ctx, args)
    if plan is not None:  # nothing new if a nat_source milestone already sends this echo
        ctx.observe(_echo_key(plan.probe[0], plan.probe[2][0]), plan)


PREPARE["masquerade"] = _prepare_masquerade


@kind("masquerade")
def masquerade(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """Packets from ``source`` leave through the uplink with the uplink's address."""
    name = args.get("ns", "host")
    if ctx.state.ns(name) is None:
        return _missing(ctx, name)
    uplink = args.get("out", "eth0")
    public = _uplink_address(ctx, name, uplink)
    plan = _masquerade_plan(ctx, args)
    if plan is None:
        return Outcome.fail(
            Cause.ADDRESS_MISSING,
            _(
                "No container has an address in {args_source}, so nothing can show what "
                "happens to its packets on the way out."
            ).format(args_source=args["source"]),
            "ip netns: " + (", ".join(ctx.state.learner_namespaces()) or "none"),
        )
    found = ctx.observed(_echo_key(plan.probe[0], plan.probe[2][0]), lambda: plan)
    sender, dst = found.plan.probe[0], found.plan.probe[2][0]
    sources = _sources_outside(found, dst)
    what = f"echo {sender} -> {dst} seen outside with source " + (
        sources[0] if sources else _("(never arrived)")
    )
    if sources and sources[0] == public:
        return Outcome.ok(what)
    if sources:
        return Outcome.fail(
            Cause.MASQUERADE_MISSING,
            _(
                "Packets from {args_source} leave {name} through {uplink} with the source "
                "{sources_0}, not {uplink}'s address {public}: no NAT rule rewrites them "
                "(iptables `-t nat -A POSTROUTING ... -j MASQUERADE`, or nftables "
                "`masquerade`)."
            ).format(
                args_source=args["source"],
                name=name,
                uplink=uplink,
                sources_0=sources[0],
                public=public,
            ),
            what,
        )
    return _probe_failed(ctx, sender, dst, what)


def _published_client(args: Mapping[str, Any]) -> str:
    """Who connects: the outside for PREROUTING, the host itself for OUTPUT."""
    if args.get("from"):
        return str(args["from"])
    return "internet" if args["chain"] == "PREROUTING" else str(args.get("ns", "host"))


def _nonce_port() -> int:
    return random.randint(32768, 60999)


def _tcp_plan(ctx: CheckContext, src: str, dst: str, port: int, timeout: float) -> Plan:
    """A TCP connection from ``src``, watched in every namespace (its source port: the nonce)."""
    sport = _nonce_port()
    watched = (ctx.watch_paths(), ctx.snapshot_for_probe(), src)
    return Plan(
        probe=(src, probes.tcp_connect, (dst, port, timeout, sport, *watched)),
        want={"proto": "tcp", "sport": sport},
    )


def _dnat_plan(ctx: CheckContext, args: Mapping[str, Any]) -> Plan:
    client = _published_client(args)
    return _tcp_plan(ctx, client, args["dst"], int(args["port"]), 1.0)


def _prepare_dnat(ctx: CheckContext, args: Mapping[str, Any]) -> None:
    ctx.observe(_key("dnat", args), _dnat_plan(ctx, args))


PREPARE["dnat"] = _prepare_dnat


def _arrivals(found: Observed) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, packet) for each connection request of the probe seen arriving."""
    sport = found.plan.want["sport"]
    return [
        (p["ns"], p)
        for p in (found.result or {}).get("seen", [])
        if p["dir"] == "in" and p["sport"] == sport and p.get("flags", 0) & 0x02
    ]


@kind("dnat")
def dnat(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """Connections to ``dst:port`` arrive at ``to`` (judged by a real connection, watched there)."""
    name = args.get("ns", "host")
    if ctx.state.ns(name) is None:
        return _missing(ctx, name)
    chain, port, to = args["chain"], int(args["port"]), str(args["to"])
    client = _published_client(args)
    if ctx.state.ns(client) is None:
        return _missing(ctx, client)
    found = ctx.observed(_key("dnat", args), lambda: _dnat_plan(ctx, args))
    # where the connection ended up: past the client and the namespace that publishes
    arrived = [(ns, p) for ns, p in _arrivals(found) if ns not in (client, name)]
    result = found.result or {"outcome": "no-answer", "error": _("no answer")}
    what = f"connection {client} -> {args['dst']}:{port}: " + (
        "accepted" if result.get("ok") else result.get("error", "")
    )
    for ns, p in arrived:
        seen = f"{p['dst']}:{p['dport']}"
        what_there = _("{what}; arrived in {ns} as {p_src}:{p_sport} -> {seen}").format(
            what=what, ns=ns, p_src=p["src"], p_sport=p["sport"], seen=seen
        )
        if seen != to:
            return Outcome.fail(
                Cause.DNAT_WRONG,
                _("Connections for {args_dst}:{port} are sent on, but to {seen}, not {to}.").format(
                    args_dst=args["dst"], port=port, seen=seen, to=to
                ),
                what_there,
            )
        original = _uplink_address(ctx, client, "eth0") if client == "internet" else None
        if original and p["src"] != original:
            return Outcome.fail(
                Cause.STATE_WRONG,
                _(
                    "The connection reaches {to} from {p_src}, not from the client's own address "
                    "{original}: a NAT rule hides who is connecting."
                ).format(to=to, p_src=p["src"], original=original),
                what_there,
            )
        return Outcome.ok(what_there)
    cause = Cause.DNAT_LOCAL_MISSING if chain == "OUTPUT" else Cause.DNAT_MISSING
    diag = ctx.tracer.trace(client, args["dst"], "tcp", port)
    if diag is not None and diag.cause != Cause.SERVICE_DOWN:
        return Outcome.from_diagnosis(diag, what)
    return Outcome.fail(
        cause,
        _(
            "A connection from {client} to {args_dst}:{port} never reaches {to}: nothing "
            "rewrites its destination in {chain} (a DNAT rule, iptables or nftables)."
        ).format(client=client, args_dst=args["dst"], port=port, to=to, chain=chain),
        what,
    )


# --------------------------------------------------------------- services


def _http_plan(ctx: CheckContext, args: Mapping[str, Any]) -> Plan:
    timeout = max(ctx.timeout, 1.0)
    return _tcp_plan(ctx, args["from"], args["to"], int(args["port"]), timeout)


def _prepare_http(ctx: CheckContext, args: Mapping[str, Any]) -> None:
    ctx.observe(_key("http", args), _http_plan(ctx, args))


PREPARE["http"] = _prepare_http


@kind("http")
def http(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """A TCP handshake with the server (no request: the server logs nothing)."""
    src, dst, port = args["from"], args["to"], int(args["port"])
    found = ctx.observed(_key("http", args), lambda: _http_plan(ctx, args))
    result = found.result
    if result is None:
        return _missing(ctx, src)
    what = _("connect {dst}:{port} from {src}: ").format(dst=dst, port=port, src=src) + (
        _("accepted by {result_from}").format(result_from=result["from"])
        if result["ok"]
        else probe_words(str(result["error"]))
    )
    expect = args.get("expect", "ok")
    if expect == "ok":
        if not result["ok"]:
            return _probe_failed(ctx, src, dst, what, "tcp", port)
        served_by = args.get("served_by")
        if served_by and served_by != src:
            watched = served_by in (result.get("watched") or ())
            if watched and served_by not in {ns for ns, _ in _arrivals(found)}:
                return _not_served_by(ctx, src, dst, port, served_by, what)
            what += _(" (the handshake reached {served_by})").format(served_by=served_by)
        return Outcome.ok(what)
    if result["outcome"] != expect:
        return Outcome.fail(
            Cause.STATE_WRONG,
            _("Expected the connection to end '{expect}'.").format(expect=expect),
            what,
        )
    want = args.get("cause")
    diag = ctx.tracer.trace(src, dst, "tcp", port)
    if want is None or (diag is not None and diag.cause == want):
        return Outcome.ok(what)
    return Outcome.from_diagnosis(diag, what)


def _not_served_by(
    ctx: CheckContext,
    src: str,
    dst: str,
    port: int,
    served_by: str,
    what: str,
) -> Outcome:
    listeners = [
        _("{n}: listening on {a}:{p}").format(n=n, a=a, p=p)
        for n, ns in ctx.state.namespaces.items()
        for a, p in ns.listening
        if p == port
    ]
    return Outcome.fail(
        Cause.DNAT_MISSING if src == "internet" else Cause.DNAT_LOCAL_MISSING,
        _(
            "Something accepted the connection to {dst}:{port}, but it never reached "
            "{served_by}: another listener answered instead of the published server."
        ).format(dst=dst, port=port, served_by=served_by),
        what,
        *listeners,
    )


@kind("listening")
def listening(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    ns = _ns_or_fail(ctx, args["ns"])
    if isinstance(ns, Outcome):
        return ns
    port = int(args["port"])
    for addr, p in ns.listening:
        if p == port and addr in (args["address"], "0.0.0.0"):
            return Outcome.ok(
                _("{args_ns}: listening on {addr}:{p}").format(args_ns=args["ns"], addr=addr, p=p)
            )
    return Outcome.fail(
        Cause.SERVICE_DOWN,
        _(
            "Nothing listens on {args_address}:{port} in {args_ns}. Start the server (in "
            "the background with `&`, or in another shell)."
        ).format(args_address=args["address"], port=port, args_ns=args["ns"]),
        _("{args_ns}: listening sockets: ").format(args_ns=args["ns"])
        + (", ".join(f"{a}:{p}" for a, p in ns.listening) or "none"),
    )


# --------------------------------------------------------------- processes


def _where(found: list[processes.Found]) -> str:
    return "; ".join(f"PID {f.pid} ({f.command}) in {f.netns}" for f in found) or "none"


@kind("process_netns")
def process_netns(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """A process and the network namespace it was given (``/proc/PID/ns/net``)."""
    command, want = str(args["command"]), str(args["netns"])
    found = processes.find(ctx.world, command)
    what = _("processes running `{command}`: {where}").format(command=command, where=_where(found))
    if not found:
        return Outcome.fail(
            Cause.STATE_WRONG,
            _(
                "No process runs `{command}`. Start it in the background (end the line with `&`)."
            ).format(command=command),
            what,
        )
    there = [f for f in found if f.netns == want]
    if not there:
        return Outcome.fail(
            Cause.STATE_WRONG,
            _("`{command}` runs, but not in the network namespace {want}.").format(
                command=command, want=want
            ),
            what,
        )
    if args.get("only_lo"):
        alone = [f for f in there if f.links is not None and [n for n, _ in f.links] == ["lo"]]
        if not alone:
            links = ", ".join(f"{n} ({'up' if up else 'down'})" for n, up in there[0].links or ())
            return Outcome.fail(
                Cause.STATE_WRONG,
                _("`{command}` has a namespace of its own, but it has more than `lo`.").format(
                    command=command
                ),
                _("{what}; its interfaces: {value1}").format(what=what, value1=links or "unknown"),
            )
    return Outcome.ok(what)


# ------------------------------------------------------------ observations

#: what shows each part of a network stack, as a lesson would say it
SHOWN_BY = {
    "devices": "`ip link`",
    "routes": "`ip route`",
    "firewall": "`iptables --list-rules`",
}
#: the parts of a stack, as the learner reads them
PART_NAMES = {"devices": N_("devices"), "routes": N_("routes"), "firewall": N_("firewall rules")}


def _inside(ns: str) -> str:
    return _("on the host") if ns == "host" else _("inside {ns}").format(ns=ns)


def _recorded(ctx: CheckContext) -> str:
    return _("commands recorded in this lesson: {count}").format(count=len(ctx.record))


@kind("looked")
def looked(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """The learner ran a command that shows part of a namespace's stack (the record)."""
    name, at = str(args["ns"]), str(args["at"])
    ns = _ns_or_fail(ctx, name)
    if isinstance(ns, Outcome):
        return ns
    parts = tuple(SHOWN_BY) if at == "stack" else (at,)
    seen = {part: record.looked(ctx.record, name, part) for part in parts}
    missing = [part for part, ran in seen.items() if ran is None]
    evidence = [f"{part}: `{ran.line}`" for part, ran in seen.items() if ran is not None]
    if not missing:
        return Outcome.ok(*evidence)
    return Outcome.fail(
        Cause.NOT_SEEN,
        _(
            "Not seen yet: the {parts} {where}. Run {commands} {where} and read what it shows."
        ).format(
            parts=_(" and ").join(_(PART_NAMES[part]) for part in missing),
            where=_inside(name),
            commands=", ".join(SHOWN_BY[part] for part in missing),
        ),
        *evidence,
        _recorded(ctx),
    )


@kind("pinged")
def pinged(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """The learner pinged and saw the answer (or its absence) the lesson is about."""
    src, to = str(args["from"]), str(args["to"])
    reply = args.get("expect", "reply") == "reply"
    ns = _ns_or_fail(ctx, src)
    if isinstance(ns, Outcome):
        return ns
    after = str(args.get("after") or "")
    ran = record.pinged(ctx.record, src, to, reply, after)
    if ran is not None:
        return Outcome.ok(f"{src}: `{ran.line}` (exit status {ran.status})")
    if reply:
        said = _("Not seen yet: ping {to} {where} and see it answered.")
    elif after:
        said = _(
            "Not seen yet: ping {to} {where}, after changing {after}, and see no reply come back."
        )
    else:
        said = _("Not seen yet: ping {to} {where} and see no reply come back.")
    return Outcome.fail(
        Cause.NOT_SEEN, said.format(to=to, where=_inside(src), after=after), _recorded(ctx)
    )


# ---------------------------------------------------------------- rootless


#: How long a probe through slirp4netns waits: every packet crosses a user process on the
#: host, which a loaded machine may schedule late (a working network must never fail).
SLIRP_WAIT = 2.0


def _rootless(ctx: CheckContext) -> list[rootless.Rootless]:
    """The world's rootless namespaces, found once per check run."""
    key = ("rootless",)
    if key not in ctx.notes:
        ctx.notes[key] = rootless.find(ctx.world)
    return list(ctx.notes[key])


def _no_rootless(ctx: CheckContext) -> Outcome:
    return Outcome.fail(
        Cause.NETNS_MISSING,
        _(
            "No process of {user} holds a network namespace of its own. As {user} (`su - "
            "{user}`), start one in the background: `unshare --user --map-root-user --net "
            "sleep infinity &`. Namespaces root makes do not count: they are not rootless."
        ).format(user=LEARNER),
        _("rootless namespaces: none"),
    )


def _rootless_or_fail(ctx: CheckContext) -> rootless.Rootless | Outcome:
    found = rootless.best(_rootless(ctx))
    return _no_rootless(ctx) if found is None else found


def _uplink_problem(found: rootless.Rootless, uplink: str) -> Outcome | None:
    """Why ``uplink`` does not carry the rootless namespace's traffic out (None: it does)."""
    what = found.describe()
    link = found.link(uplink)
    slirp = (
        _("slirp4netns serves it (PID {pids})").format(pids=", ".join(map(str, found.slirp_pids)))
        if found.slirp_pids
        else _("no slirp4netns serves it")
    )
    if link is None or not found.slirp_pids:
        return Outcome.fail(
            Cause.SLIRP_MISSING if not found.slirp_pids else Cause.LINK_MISSING,
            _(
                "The rootless namespace has no working {uplink}: {slirp}. Connect it with "
                "`slirp4netns --configure --mtu=65520 --disable-host-loopback {pid} {uplink} &` "
                "(as learner, in another shell or in the background)."
            ).format(uplink=uplink, slirp=slirp, pid=found.inside_pid),
            what,
            slirp,
        )
    if not link[1] or not link[2]:
        return Outcome.fail(
            Cause.LINK_DOWN if not link[1] else Cause.ADDRESS_MISSING,
            _(
                "{uplink} is there but down or without an address: slirp4netns configures it "
                "(up, 10.0.2.100/24, default route via 10.0.2.2) only with `--configure`."
            ).format(uplink=uplink),
            what,
            slirp,
        )
    if found.default_dev != uplink:
        return Outcome.fail(
            Cause.GATEWAY_MISSING,
            _("The rootless namespace's default route does not go through {uplink}.").format(
                uplink=uplink
            ),
            what,
        )
    return None


@kind("rootless_netns")
def rootless_netns(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """A namespace an unprivileged user made, its slirp4netns uplink, and a host left alone."""
    found = _rootless_or_fail(ctx)
    if isinstance(found, Outcome):
        return found
    uplink = args.get("uplink")
    problem = _uplink_problem(found, str(uplink)) if uplink else None
    if problem is not None:
        return problem
    allowed = str(args.get("host_links") or "").split()
    host = ctx.state.ns("host")
    if allowed and host is not None:
        extra = [lk for lk in host.links if lk.name not in allowed]
        if extra:
            named = ", ".join(f"{lk.name} ({lk.kind or 'device'})" for lk in extra)
            return Outcome.fail(
                Cause.STATE_WRONG,
                _(
                    "The host has {named} besides {allowed}: a rootless namespace needs no "
                    "veth and no bridge on the host (and its user could not make one). Delete "
                    "them with `ip link del NAME`."
                ).format(named=named, allowed=" ".join(allowed)),
                "host: ip link: " + ", ".join(lk.name for lk in host.links),
            )
    return Outcome.ok(found.describe())


def _internet_fd(ctx: CheckContext) -> int:
    return dict(ctx.watch_paths().fds)[INTERNET_NS]


@kind("rootless_tcp")
def rootless_tcp(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """A handshake from the rootless namespace, and the source the internet saw."""
    found = _rootless_or_fail(ctx)
    if isinstance(found, Outcome):
        return found
    dst, port, want = str(args["to"]), int(args["port"]), args.get("seen")
    call = (dst, port, max(ctx.timeout, SLIRP_WAIT), _internet_fd(ctx))
    result = ctx.probe(f"{inns.PROCESS_PREFIX}{found.pid}", rootless.tcp_seen, *call)
    if result is None:
        return _no_rootless(ctx)
    sources = list(result.get("sources", []))
    what = _(
        "connect {dst}:{port} from the rootless namespace: {how}; the internet saw it "
        "from {sources}"
    ).format(
        dst=dst,
        port=port,
        how=_("accepted") if result["ok"] else probe_words(str(result["error"])),
        sources=", ".join(sorted(set(sources))) or _("nobody"),
    )
    wrong = [s for s in sources if want and s != want]
    if wrong:
        return Outcome.fail(
            Cause.MASQUERADE_MISSING,
            _(
                "The connection reaches the internet from {source}, not from the host's "
                "address {want}: it left through something else than slirp4netns, whose "
                "connections are the host's own."
            ).format(source=wrong[0], want=want),
            what,
            found.describe(),
        )
    if result["ok"] and sources:
        return Outcome.ok(what)
    if result["ok"]:
        return Outcome.fail(
            Cause.STATE_WRONG,
            _(
                "Something answered for {dst}:{port}, but the internet never saw the "
                "connection: an address {dst} inside the rootless namespace itself?"
            ).format(dst=dst, port=port),
            what,
            found.describe(),
        )
    problem = _uplink_problem(found, found.default_dev or "tap0")
    if problem is not None:
        problem.evidence.insert(0, what)
        return problem
    # slirp4netns re-makes the connection from the host itself: follow that one
    diag = ctx.tracer.trace(HOST_NS, dst, "tcp", port)
    if diag is not None:
        out = Outcome.from_diagnosis(diag, what, found.describe())
        out.explanation = _(
            "slirp4netns connects to {dst}:{port} from the host itself, and there: {why}"
        ).format(dst=dst, port=port, why=out.explanation)
        return out
    return Outcome.fail(
        Cause.UNEXPLAINED,
        _(
            "slirp4netns carries the namespace out, but {dst}:{port} did not answer it, and "
            "the lab's model sees no reason on the host's side."
        ).format(dst=dst, port=port),
        what,
        found.describe(),
        "look further: nsenter --target PID --user --preserve-credentials --net "
        f"curl -v {dst}:{port}",
    )


def _gid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Gid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


@kind("rootless_ping")
def rootless_ping(ctx: CheckContext, args: Mapping[str, Any]) -> Outcome:
    """Ping without CAP_NET_RAW from the rootless namespace: it must fail."""
    found = _rootless_or_fail(ctx)
    if isinstance(found, Outcome):
        return found
    dst = str(args["to"])
    if not found.default_dev:
        return Outcome.fail(
            Cause.GATEWAY_MISSING,
            _(
                "The rootless namespace has no default route yet, so a failing ping would "
                "prove nothing: connect it with slirp4netns first."
            ),
            found.describe(),
        )
    gid = _gid_of(found.pid)
    uid, gid = found.owner_uid, found.owner_uid if gid is None else gid
    call = (dst, max(ctx.timeout, SLIRP_WAIT), uid, gid)
    result = ctx.probe(f"{inns.PROCESS_PREFIX}{found.pid}", rootless.ping_unprivileged, *call)
    if result is None:
        return _no_rootless(ctx)
    what = f"ping {dst} without CAP_NET_RAW from the rootless namespace: " + (
        "reply" if result["ok"] else f"{result['stage']}: {result['error']}"
    )
    ranges = f"net.ipv4.ping_group_range there (as root sees it): {result['range']}"
    if result["ok"]:
        return Outcome.fail(
            Cause.STATE_WRONG,
            _(
                "{dst} answers a ping sent without CAP_NET_RAW: ping_group_range was widened "
                "both in the namespace and on the host (podman's way). This step is about "
                'seeing it fail: set them back to "1 0" (`sysctl -w '
                'net.ipv4.ping_group_range="1 0"`).'
            ).format(dst=dst),
            what,
            ranges,
        )
    out = Outcome.ok(what, ranges)
    if result["stage"] == "socket":
        out.explanation = _(
            "The ping socket was refused: the namespace's net.ipv4.ping_group_range includes "
            "no group of yours, and without CAP_NET_RAW there is no raw socket either."
        )
    else:
        out.explanation = _(
            "The echo left through the namespace's uplink and died there: slirp4netns, "
            "unprivileged on the host, may only use ping sockets, which the host's "
            "net.ipv4.ping_group_range does not allow it."
        )
    return out
