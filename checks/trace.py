"""Follow one packet hop by hop: what the kernel decided at each step, and why.

A packet from a container to the internet takes many small decisions, each
made by a different part of the kernel::

    netns0: route 8.8.8.8 -> default via 172.18.0.1 dev ceth0
    netns0: neighbour 172.18.0.1 is br0 in host (ceth0 ══ veth0, a port of br0)
    host:   arrives on br0; forwarding on; route -> default via 10.0.2.2 dev eth0
    host:   FORWARD accepts; POSTROUTING MASQUERADE 172.18.0.10 -> 10.0.2.15
    internet: arrives on eth0; 8.8.8.8 is its own address: delivered
    ... and the reply, whose destination conntrack turns back into 172.18.0.10.

:func:`trace` lists those decisions as typed :class:`Step` values. The *path*
comes from the lab's model of the kernel (:class:`checks.diagnose.Tracer`,
which reads routes, neighbours, bridges and every netfilter hook of both
iptables backends and nftables), recorded as it walks. The *facts* come from
the kernel, for ONE real probe sent in the world: where its packets were seen
(:mod:`checks.probes` watches every interface), which rule counters moved while
it travelled (:mod:`checks.witness`), and the probe's own answer (a reply, a
refusal, "Operation not permitted", or the fate :mod:`checks.fate` saw). A step
the kernel saw is marked ``seen``; a hook whose rules counted the probe names
them; the last step carries the kernel's reason and the lab's cause code.
"""

from __future__ import annotations

import ipaddress
import random
import select
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from checks import probes, witness
from checks.causes import Cause
from checks.context import CheckContext
from checks.diagnose import Crossing, Diagnosis, Tracer, _Arrival, _Trail, lookup, unexplained
from checks.netfilter import Flow, Packet, Verdict, translate
from lab import inns
from lab import state as state_module
from lab.errors import LabError
from lab.i18n import N_, _
from lab.model import Step, Trace
from lab.state import Link, Namespace, WorldState
from lab.world import HOST_NS, INTERNET_NS, World

PROTOCOLS = ("icmp", "tcp", "udp")
WIDTH = 76  # a step's line, after its number: 80 columns in all
#: how the lesson calls the namespaces the lab itself provides
NAMES = {"internet": N_("the internet")}

# step kinds
ROUTE = "route"
NEIGHBOUR = "neighbour"
ARRIVE = "arrive"
BRIDGE = "bridge"
HOOK = "hook"
NAT = "nat"
DELIVER = "deliver"
DROP = "drop"


# ------------------------------------------------------------------- model


class _Recorder(Tracer):
    """The tracer's own walk, each decision written down as a :class:`Step`."""

    def __init__(self, state: WorldState) -> None:
        super().__init__(state)
        self.steps: list[Step] = []
        self._bridging = False
        self._reply = False
        self._wire: dict[tuple[str, str], str] = {}

    def add(self, step: Step) -> None:
        self.steps.append(step)

    def _hook(
        self, ns_name: str, ns: Namespace, hook: str, packet: Packet, trail: _Trail
    ) -> Verdict:
        verdict = super()._hook(ns_name, ns, hook, packet, trail)
        flow = packet.flow
        self._reply = flow.reply
        if hook in ("output", "forward") and packet.out_if and not self._bridging:
            self._route_step(ns_name, ns, flow, packet.out_if)
        if (ns.firewall.at_hook(hook) or not verdict.accepted) and not self._rerouted(
            ns_name, hook, flow
        ):
            rule, backend = _decider(verdict)
            self.add(
                Step(
                    ns_name,
                    HOOK,
                    "accept" if verdict.accepted else "drop",
                    rule,
                    backend,
                    packet.in_if,
                    packet.out_if,
                    hook.upper(),
                    flow.reply,
                    br_netfilter=self._bridging,
                )
            )
        if verdict.nat is not None and verdict.accepted:
            moved = translate(flow, verdict.nat, ns, packet.out_if)
            self.add(
                Step(
                    ns_name,
                    NAT,
                    verdict.nat.target or "NAT",
                    verdict.nat.listing(),
                    verdict.nat.backend,
                    packet.in_if,
                    packet.out_if,
                    hook.upper(),
                    flow.reply,
                    before=_end(flow.src, flow.sport) if hook == "postrouting" else _dst(flow),
                    after=_end(moved.src, moved.sport) if hook == "postrouting" else _dst(moved),
                )
            )
        return verdict

    def _rerouted(self, ns_name: str, hook: str, flow: Flow) -> bool:
        """The model asks OUTPUT again after its own DNAT; the kernel passes it once."""
        recent = self.steps[-3:]
        return hook == "output" and any(
            s.kind == NAT and s.ns == ns_name and s.hook == "OUTPUT" and s.reply == flow.reply
            for s in recent
        )

    def _route_step(self, ns_name: str, ns: Namespace, flow: Flow, out_if: str) -> None:
        if out_if == "lo":
            self.add(
                Step(
                    ns_name,
                    ROUTE,
                    "local",
                    _("local {flow_dst} dev lo").format(flow_dst=flow.dst),
                    out_if="lo",
                )
            )
            return
        route, twins = lookup(ns, flow.dst)
        if route is None:
            return
        self.add(
            Step(
                ns_name,
                ROUTE,
                "via " + route.gateway if route.gateway else "on-link",
                route.text(),
                out_if=out_if,
                reply=flow.reply,
                beat=tuple(t.text() for t in twins),
            )
        )

    def _neighbour(
        self, ns_name: str, out: Link, ip: str
    ) -> tuple[str, str, Crossing | None] | None:
        found = super()._neighbour(ns_name, out, ip)
        if found is None:
            self.add(
                Step(
                    ns_name,
                    NEIGHBOUR,
                    _("no answer"),
                    f"who-has {ip}",
                    out_if=out.name,
                    reply=self._reply,
                )
            )
            return None
        there, there_if, crossing = found
        wire = self._wire_of(ns_name, out)
        if crossing is not None:  # switched by a bridge: the frame arrives by another cable
            self._wire[(there, there_if)] = f"{crossing.out_port} ══ {there_if}"
            wire = f"across {crossing.bridge} in {crossing.ns}"
        else:
            self._wire[(there, there_if)] = wire
        self.add(
            Step(
                ns_name,
                NEIGHBOUR,
                "resolved",
                f"{ip} is {there_if} in {there}" + (f" ({wire})" if wire else ""),
                out_if=out.name,
                reply=self._reply,
            )
        )
        return found

    def _wire_of(self, ns_name: str, out: Link) -> str:
        """``ceth0 ══ veth0 (a port of br0)``: the cable a frame leaves by."""
        if out.kind != "veth":
            return ""
        peer = self.state.peer(ns_name, out)
        if peer is None:
            return ""
        port = peer[1]
        bridge = _(", port of {port_master}").format(port_master=port.master) if port.master else ""
        return f"{out.name} ══ {port.name}{bridge}"

    def _arrive(
        self, ns_name: str, flow: Flow, in_if: str, trail: _Trail, gateway: str | None
    ) -> _Arrival | Diagnosis:
        self._reply = flow.reply
        self.add(
            Step(
                ns_name,
                ARRIVE,
                "received",
                self._wire.get((ns_name, in_if), ""),
                in_if=in_if,
                reply=flow.reply,
            )
        )
        if flow.reply and ns_name == trail.origin:
            self._undo_own_dnat(ns_name, flow)
        return super()._arrive(ns_name, flow, in_if, trail, gateway)

    def _undo_own_dnat(self, ns_name: str, flow: Flow) -> None:
        """A reply to the sender's own DNATed connection (nat OUTPUT): conntrack gives it
        back the address the client asked for as it arrives."""
        answered = _end(flow.src, flow.sport)
        for step in self.steps:
            mine = step.kind == NAT and step.ns == ns_name and step.hook == "OUTPUT"
            if mine and step.after == answered and not step.reply:
                undone = Step(
                    ns_name,
                    NAT,
                    "conntrack",
                    _("reply from a DNAT target"),
                    reply=True,
                    before=answered,
                    after=step.before,
                )
                self.add(undone)
                return

    def _bridged(self, crossing: Crossing, flow: Flow, trail: _Trail) -> Diagnosis | None:
        bns = self.state.namespaces[crossing.ns]
        calls = bns.bridge_nf_call_iptables == 1
        self.add(
            Step(
                crossing.ns,
                BRIDGE,
                "switched",
                f"{crossing.bridge}: {crossing.in_port} -> {crossing.out_port}",
                in_if=crossing.in_port,
                out_if=crossing.out_port,
                reply=flow.reply,
                br_netfilter=calls,
            )
        )
        self._bridging = True
        try:
            return super()._bridged(crossing, flow, trail)
        finally:
            self._bridging = False

    def _undo_snat(self, ns_name: str, flow: Flow, trail: _Trail) -> Flow:
        back = super()._undo_snat(ns_name, flow, trail)
        if back != flow:
            self.add(
                Step(
                    ns_name,
                    NAT,
                    "conntrack",
                    _("reply to a masqueraded connection"),
                    reply=True,
                    before=_dst(flow),
                    after=_dst(back),
                )
            )
        return back

    def _undo_dnat(self, ns_name: str, flow: Flow, trail: _Trail) -> Flow:
        back = super()._undo_dnat(ns_name, flow, trail)
        if back != flow:
            self.add(
                Step(
                    ns_name,
                    NAT,
                    "conntrack",
                    _("reply from a DNAT target"),
                    reply=True,
                    before=_end(flow.src, flow.sport),
                    after=_end(back.src, back.sport),
                )
            )
        return back

    def _answer(self, there: _Arrival, request: Flow, trail: _Trail) -> Diagnosis | None:
        self.add(
            Step(
                there.ns,
                DELIVER,
                "local",
                _("{there_flow_dst} is its own address: delivered").format(
                    there_flow_dst=there.flow.dst
                ),
                in_if=there.in_if,
            )
        )
        return super()._answer(there, request, trail)


def _decider(verdict: Verdict) -> tuple[str, str | None]:
    if verdict.chain is None:
        return _("no rule drops it"), None
    if verdict.rule is not None:
        return verdict.rule.listing(), verdict.rule.backend
    return verdict.chain.policy_listing(), verdict.chain.backend


def _end(addr: str | None, port: int | None) -> str:
    return f"{addr or '?'}:{port}" if port else (addr or "?")


def _dst(flow: Flow) -> str:
    return _end(flow.dst, flow.dport)


def model(state: WorldState, flow: Flow) -> tuple[list[Step], Diagnosis | None, _Trail | None]:
    """The tracer's path for ``flow``: steps, the diagnosis (None: it gets there and back)."""
    recorder = _Recorder(state)
    found = recorder.trace_flow(flow)
    return recorder.steps, found, recorder.last_trail


# ------------------------------------------------------------------- kernel


def udp_send(
    dst: str,
    port: int,
    sport: int,
    watch: probes.Watched | None,
    state: WorldState | probes.LateState | None,
    sender: str,
    timeout: float = 0.4,
) -> dict[str, Any]:
    """One UDP datagram from this namespace, watched like the other probes; any answer?"""
    watcher = probes._Watcher(
        *probes.open_watches(watch), state, sender, {"proto": "udp", "sport": sport}
    )
    answer: dict[str, Any] = {
        "ok": False,
        "error": _("no answer within {timeout:.1f} s").format(timeout=timeout),
    }
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("0.0.0.0", sport))
            sock.connect((dst, port))
            probes.wait_go(state)
            sock.send(probes.PAYLOAD)
            watcher.departed(dst, port, sport)
            deadline = time.monotonic() + timeout
            while True:
                deadline = watcher.deadline(deadline, 0.06)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready = select.select([sock.fileno(), *watcher.fds()], [], [], left)[0]
                for fd in ready:
                    if fd != sock.fileno():
                        watcher.read(fd)
                        continue
                    try:
                        sock.recv(65535)
                        answer = {"ok": True}
                    except OSError as exc:  # an ICMP error came back (port unreachable...)
                        answer = {"ok": False, "error": probes._strerror(exc)}
                    deadline = 0
                if deadline == 0:
                    break
            watcher.drain()
    except OSError as exc:
        answer = {"ok": False, "error": probes._strerror(exc), "stage": "send"}
    finally:
        watcher.close()
    if not answer["ok"] and watcher.ended is not None and "stage" not in answer:
        answer["error"] = f"lost: {watcher.ended.reason}"
    answer["seen"] = watcher.seen
    return answer


def _probe_call(ctx: CheckContext, flow: Flow) -> tuple[Any, ...]:
    """The one probe of the trace, from ``flow.src_ns``: (function, arguments...)."""
    watch, state, ns = ctx.watch_paths(), ctx.snapshot_for_probe(), flow.src_ns
    if flow.proto == "tcp":
        return (probes.tcp_connect, flow.dst, flow.dport, 1.0, flow.sport, watch, state, ns)
    if flow.proto == "udp":
        return (udp_send, flow.dst, flow.dport, flow.sport, watch, state, ns)
    ident = random.randint(1, 0xFFFF)
    return (probes.ping, flow.dst, 0.4, ident, watch, state, ns)


def _probe(ctx: CheckContext, flow: Flow) -> dict[str, Any]:
    """Send the one probe of the trace; its answer and sightings."""
    answer: dict[str, Any] = inns.run(ctx.world, flow.src_ns, *_probe_call(ctx, flow))
    return answer


def _snapshot(ctx: CheckContext) -> tuple[WorldState, dict[str, witness.Counters]]:
    """The world's snapshot and every rule counter, from one reading per namespace."""
    read = state_module.read_each_namespace(ctx.world, witness.snapshot_and_counters_here)
    snapshot = WorldState(
        world=ctx.world.name,
        namespaces={name: space for name, (space, _) in read.items()},
        taken_at=time.time(),
    )
    ctx.use_state(snapshot)
    return snapshot, {name: counters for name, (_, counters) in read.items()}


def _observe(
    ctx: CheckContext, flow: Flow, before: Mapping[str, witness.Counters]
) -> tuple[dict[str, Any], list[witness.Counted]]:
    """The probe, and the rule counters that moved while it travelled (``before``: read
    with the snapshot)."""
    answer = _probe(ctx, flow)
    return answer, _counted(ctx, before)


def _counted(ctx: CheckContext, before: Mapping[str, witness.Counters]) -> list[witness.Counted]:
    """The counters that moved since ``before``. A namespace without a single rule or
    chain has nothing to count, so its counters are not read again."""
    names = [name for name, counters in before.items() if counters]
    jobs = [(name, witness.read_counters_here, ()) for name in names]
    after = inns.run_many(ctx.world, jobs)
    return witness.moved(names, [before[name] for name in names], after)


def _overlapped(
    ctx: CheckContext, wanted: Wanted
) -> tuple[
    WorldState,
    Flow,
    list[Step],
    Diagnosis | None,
    _Trail | None,
    dict[str, Any],
    list[witness.Counted],
]:
    """A trace to an address: the probe leaves once every counter is read, while the rest
    of the snapshot is read (the probe gets it late, see :class:`checks.probes.LateState`)."""
    src_ns, target, proto, port = wanted
    ctx.begin_state(witness.counters_then_read_here)
    known = [HOST_NS, INTERNET_NS, *ctx.learner_namespaces()]
    if src_ns not in known:
        raise LabError(
            f"no namespace called {src_ns!r} to send from (namespaces: {', '.join(known)})"
        )
    sport = random.randint(32768, 60999) if proto != "icmp" else None
    flow = Flow(src_ns, target, proto, port if proto != "icmp" else None, sport=sport)
    pending: inns.Pending | None = inns.start(ctx.world, src_ns, *_probe_call(ctx, flow))
    try:
        state = ctx.state  # read, and handed to the probe
        before = ctx.extras
        if state.ns(src_ns) is None:
            raise _no_sender(src_ns, list(state.namespaces))
        steps, found, trail = model(state, flow)
        assert pending is not None
        answer: dict[str, Any] = inns.collect(pending, timeout=10.0)
        pending = None
    finally:
        if pending is not None:
            inns.discard(pending)
    return state, flow, steps, found, trail, answer, _counted(ctx, before)


def _no_sender(src_ns: str, known: list[str]) -> LabError:
    return LabError(
        _("no namespace called {src_ns!r} to send from (namespaces: {known})").format(
            src_ns=src_ns, known=", ".join(known)
        )
    )


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_reply(seen: dict[str, Any], flow: Flow) -> bool:
    if seen.get("proto") == "icmp":
        return seen.get("type") == probes.ICMP_ECHO_REPLY
    return seen.get("dport") == flow.sport


def _confirm(
    step: Step, seen: list[dict[str, Any]], counted: list[witness.Counted], flow: Flow
) -> Step:
    """The step with what the kernel observed there (sightings, counters)."""
    here = [s for s in seen if s.get("ns") == step.ns and _is_reply(s, flow) == step.reply]
    was_seen: bool | None = None
    if step.kind == ARRIVE and step.in_if and step.in_if != "lo":
        was_seen = any(s.get("iface") == step.in_if and s.get("dir") != "out" for s in here)
    elif step.kind in (ROUTE, NEIGHBOUR) and step.out_if and step.out_if != "lo":
        if step.decision != "no answer":  # a frame waiting for ARP never leaves
            was_seen = any(s.get("iface") == step.out_if and s.get("dir") == "out" for s in here)
    elif step.kind == BRIDGE:
        was_seen = any(s.get("iface") in (step.in_if, step.out_if) for s in here)
    rules: tuple[str, ...] = ()
    # counters do not tell a request from its reply: kept for the request's way, and drops
    if step.kind in (HOOK, NAT) and step.hook and (not step.reply or step.decision == "drop"):
        rules = tuple(
            f"{c.listing} ({c.backend})"
            for c in counted
            if c.ns == step.ns and c.hook == step.hook.lower()
        )
    return Step(**{**asdict(step), "seen": was_seen, "counted": rules, "beat": step.beat})


def resolve(state: WorldState, target: str) -> str:
    """An address for ``target``: itself if it is an address, else that namespace's own."""
    try:
        return str(ipaddress.IPv4Address(target))
    except ValueError:
        pass
    ns = state.ns(target)
    if ns is None:
        known = ", ".join(state.namespaces) or "none"
        raise LabError(
            _("no namespace or address called {target!r} (namespaces: {known})").format(
                target=target, known=known
            )
        )
    candidates = [(link.name == "lo", a.split("/")[0]) for link in ns.links for a in link.addresses]
    usable = sorted(c for c in candidates if not ipaddress.IPv4Address(c[1]).is_loopback)
    if not usable:
        raise LabError(_("{target} has no IPv4 address to send to").format(target=target))
    return usable[0][1]


#: (from, to, protocol, port): the packet a trace sends
Wanted = tuple[str, str, str, int | None]


def trace(
    world: World, src_ns: str, target: str, proto: str = "icmp", port: int | None = None
) -> Trace:
    """Send one probe from ``src_ns`` to ``target`` and follow it, hop by hop."""
    if proto not in PROTOCOLS:
        raise LabError(_("unknown protocol {proto!r} (icmp, tcp or udp)").format(proto=proto))
    if proto != "icmp" and not port:
        raise LabError(_("a {proto} trace needs a port: DEST:PORT").format(proto=proto))
    found = _traced(world, lambda _state: (src_ns, target, proto, port))
    assert found is not None
    return found


def _traced(
    world: World,
    pick: Callable[[WorldState | None], Wanted | None],
    done: dict[Wanted, Trace | None] | None = None,
) -> Trace | None:
    """The trace of the packet ``pick`` chooses (None: none), from the snapshot or, when
    it can tell without one (``pick(None)``), before it.

    One reading of every namespace gives both the snapshot the model walks and the
    rule counters before the probe; a probe to an address leaves as soon as the
    counters are read. ``done``: traces already made (by packet).
    """
    early = pick(None)
    if early is not None and done is not None and early in done:
        return done[early]
    ctx = CheckContext(world)
    try:
        if early is not None and _is_address(early[1]):
            wanted = early
            state, flow, steps, found, trail, answer, counted = _overlapped(ctx, early)
        else:
            state, before = _snapshot(ctx)
            picked = pick(state)
            if picked is None:
                return None
            wanted = picked
            if done is not None and wanted in done:
                return done[wanted]
            flow = _flow(state, wanted)
            steps, found, trail = model(state, flow)
            answer, counted = _observe(ctx, flow, before)
    finally:
        ctx.close()
    result = _judged(state, flow, wanted[1], steps, found, trail, answer, counted)
    if done is not None:
        done[wanted] = result
    return result


def _flow(state: WorldState, wanted: Wanted) -> Flow:
    """The flow of a trace (the sender must exist; a namespace's name becomes its address)."""
    src_ns, target, proto, port = wanted
    if state.ns(src_ns) is None:
        raise _no_sender(src_ns, list(state.namespaces))
    dst = resolve(state, target)
    sport = random.randint(32768, 60999) if proto != "icmp" else None
    return Flow(src_ns, dst, proto, port if proto != "icmp" else None, sport=sport)


def _judged(
    state: WorldState,
    flow: Flow,
    target: str,
    steps: list[Step],
    found: Diagnosis | None,
    trail: _Trail | None,
    answer: dict[str, Any],
    counted: list[witness.Counted],
) -> Trace:
    reached = bool(answer.get("ok"))
    seen = list(answer.get("seen") or [])
    if flow.proto == "udp" and not reached and _datagram_delivered(steps, seen, flow):
        return _udp_delivered(flow, target, steps, seen, counted)
    confirmed = [_confirm(s, seen, counted, flow) for s in steps]
    kernel = _kernel_words(answer)
    if not reached and found is None:  # the model saw nothing wrong: the counters may know
        found = Tracer(state)._from_counters(flow.src_ns, flow.dst, counted, trail) or unexplained(
            flow.src_ns, flow.dst, flow.proto, flow.dport, list(trail.hops) if trail else []
        )
    if reached:
        end = flow.src_ns
        confirmed.append(
            Step(end, DELIVER, _("reply received"), f"{kernel}", reply=True, seen=True)
        )
    else:
        assert found is not None
        where = answer.get("fate_ns") or (confirmed[-1].ns if confirmed else flow.src_ns)
        confirmed.append(
            Step(
                where,
                DROP,
                Cause(found.cause).value,
                found.evidence[-1] if found.evidence else "",
                reason=kernel,
                cause=Cause(found.cause).value,
            )
        )
    return Trace(
        src_ns=flow.src_ns,
        dst=flow.dst,
        proto=flow.proto,
        port=flow.dport,
        target=target,
        reached=reached,
        steps=tuple(confirmed),
        cause=None if reached or found is None else Cause(found.cause).value,
        explanation=None if reached or found is None else found.explanation,
        kernel=kernel,
        model_agrees=(found is None) == reached,
        sightings=tuple(
            f"{s.get('ns')} {s.get('iface')} {s.get('dir')}: {s.get('src')} -> {s.get('dst')}"
            for s in seen
        ),
    )


def _datagram_delivered(steps: list[Step], seen: list[dict[str, Any]], flow: Flow) -> bool:
    """UDP asks for no answer: did the kernel see the datagram arrive where the model delivers it?"""
    there = next((s for s in steps if s.kind == DELIVER and not s.reply), None)
    if there is None:
        return False
    return any(
        s.get("ns") == there.ns and s.get("dir") != "out" and not _is_reply(s, flow) for s in seen
    )


def _udp_delivered(
    flow: Flow,
    target: str,
    steps: list[Step],
    seen: list[dict[str, Any]],
    counted: list[witness.Counted],
) -> Trace:
    """A datagram that arrived and got no answer: UDP promises no reply, so it got there."""
    end = next(i for i, s in enumerate(steps) if s.kind == DELIVER and not s.reply)
    kept = [_confirm(s, seen, counted, flow) for s in steps[: end + 1]]
    return Trace(
        src_ns=flow.src_ns,
        dst=flow.dst,
        proto=flow.proto,
        port=flow.dport,
        target=target,
        reached=True,
        steps=tuple(kept),
        kernel=_("delivered; no answer came (UDP needs none: is anything listening there?)"),
        sightings=tuple(
            f"{s.get('ns')} {s.get('iface')} {s.get('dir')}: {s.get('src')} -> {s.get('dst')}"
            for s in seen
        ),
    )


def _kernel_words(answer: dict[str, Any]) -> str:
    if answer.get("ok"):
        who = answer.get("from")
        return _("answered by {who}").format(who=who) if who else "answered"
    return str(answer.get("error") or _("no answer"))


# ------------------------------------------------------------------- text


def _name(ns: str) -> str:
    return _(NAMES[ns]) if ns in NAMES else ns


def step_line(step: Step) -> str:
    """One step in words, at most about 80 columns."""
    who = _name(step.ns)
    back = "↩ " if step.reply else ""
    mark = {True: " ✓", False: " ✗"}.get(step.seen, "") if step.seen is not None else ""
    if step.kind == ROUTE:
        beat = f" (beats {'; '.join(_short(b) for b in step.beat)})" if step.beat else ""
        text = f"route {_short(step.rule)}{beat}"
    elif step.kind == NEIGHBOUR:
        text = (
            f"neighbour {step.rule}"
            if step.decision == "resolved"
            else _("no answer to {step_rule} on {step_out_if}").format(
                step_rule=step.rule, step_out_if=step.out_if
            )
        )
    elif step.kind == ARRIVE:
        text = _("in on {step_in_if}").format(step_in_if=step.in_if) + (
            f" ({step.rule})" if step.rule else ""
        )
    elif step.kind == BRIDGE:
        nf = _(", br_netfilter: through iptables") if step.br_netfilter else ""
        text = f"bridge {step.rule}{nf}"
    elif step.kind == HOOK:
        via = " (br_netfilter)" if step.br_netfilter else ""
        backend = f" [{step.backend}]" if step.backend else ""
        rule = step.rule
        if step.decision == "accept" and step.backend is None and step.counted:
            rule = _("counted by {step_counted}").format(
                step_counted=step.counted[-1]
            )  # the kernel names what let it through
        text = f"{step.hook}{via} {step.decision}: {rule}{backend}"
    elif step.kind == NAT:
        text = f"{step.decision} {step.before} -> {step.after}"
        if step.backend:
            text += f" [{step.backend}]"
    elif step.kind == DELIVER:
        text = (
            step.rule
            if step.decision == "local"
            else _("reply received ({step_rule})").format(step_rule=step.rule)
        )
    else:
        reason = (step.reason or "").removeprefix("lost: ")
        text = f"DROP ({step.cause}): {reason}"
    line = f"{back}{who}: {text}"
    if len(line) + len(mark) > WIDTH:  # the whole rule is in --json
        line = line[: WIDTH - len(mark) - 1] + "…"
    return line + mark


def _short(route: str) -> str:
    """``172.18.0.0/16 dev br0``: a route as the lesson writes it (no proto, scope, src)."""
    words, keep = route.split(), []
    for i, word in enumerate(words):
        if word in ("proto", "scope", "src") or (i and words[i - 1] in ("proto", "scope", "src")):
            continue
        keep.append(word)
    return " ".join(keep)


def to_text(found: Trace, explain: bool = True) -> str:
    """The trace, one line per step; ``explain``: end with the cause's explanation."""
    port = f":{found.port}" if found.port else ""
    head = f"trace {found.src_ns} -> {found.target}{port} ({found.proto})"
    if found.target != found.dst:
        head += _(", address {dst}").format(dst=found.dst)
    lines = [head]
    lines += [f"{i:2} {step_line(s)}" for i, s in enumerate(found.steps, 1)]
    if found.reached and found.steps and not found.steps[-1].reply:
        lines.append(_("reached: {how}").format(how=found.kernel))
    elif found.reached:
        lines.append(_("reached, and the reply came back"))
    else:
        lines.append(_("stopped: {cause}").format(cause=found.cause))
        if found.explanation and explain:
            lines.append(found.explanation)
    if not found.model_agrees:
        lines.append(_("(the lab's model expected otherwise; the kernel's answer wins)"))
    return "\n".join(lines)


# ------------------------------------------------------------ milestones

#: the check kinds that send a packet, and how to read (from, to, protocol, port) in their args
CONNECTIVITY = ("ping", "arp", "nat_source", "http", "dnat", "masquerade")


def milestone_flow(state: WorldState | None, check: str, args: Mapping[str, Any]) -> Wanted | None:
    """(from, to, protocol, port) of the packet a milestone sends; None for a check of
    state (and for ``masquerade`` without a snapshot: its sender is found in one)."""
    if check in ("ping", "arp", "nat_source"):
        return str(args["from"]), str(args["to"]), "icmp", None
    if check == "http":
        return str(args["from"]), str(args["to"]), "tcp", int(args["port"])
    if check == "dnat":
        client = args.get("from") or (
            "internet" if args["chain"] == "PREROUTING" else args.get("ns", "host")
        )
        return str(client), str(args["dst"]), "tcp", int(args["port"])
    if check == "masquerade" and state is not None:
        net = ipaddress.IPv4Network(str(args["source"]), strict=False)
        for name in state.learner_namespaces():
            for cidr, _owner in state.namespaces[name].addresses():
                if ipaddress.IPv4Address(cidr.split("/")[0]) in net:
                    return name, str(args.get("to", "8.8.8.8")), "icmp", None
    return None


def for_milestone(
    world: World,
    check: str,
    args: Mapping[str, Any],
    done: dict[Wanted, Trace | None] | None = None,
) -> Trace | None:
    """The trace of the packet a milestone sends (None: the milestone sends none).

    ``done`` holds the traces already made in this run: two milestones that
    send the same packet share one trace.
    """
    if check not in CONNECTIVITY:
        return None
    done = {} if done is None else done
    try:
        known = milestone_flow(None, check, args)  # most kinds name their packet outright
        if known is not None and known in done:
            return done[known]
        return _traced(world, lambda state: milestone_flow(state, check, args), done)
    except (LabError, KeyError, ValueError, TypeError, OSError, inns.InNsError):
        return None  # a namespace gone, a malformed milestone: the check already said so
