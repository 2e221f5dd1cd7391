"""What differs between two networks: the learner's and a lesson's start (or target).

A network here is what the lab's checks look at, read from the world's state the
check server sends (a :class:`lab.model.WorldState`): per namespace, each
interface (kind, up or down, bridge master, the veth's other end, addresses),
each route, ``ip_forward``, the iptables rules and user chains, and the TCP
ports that listen. Interface numbers and MAC addresses are left out: two
networks built by the same commands get different ones and are still the same
network. The simulated internet is left out too (the learner never builds it).

:func:`network_facts` turns a state into comparable lines of text;
:func:`differences` says, one line each, what the first network lacks or has
in excess compared with the second (is the network already the next lesson's
start?); :func:`goal_differences` says it the way a learner looks for it (the
goal view): an interface that exists on both sides but differs is *wrong*
(an address, DOWN), and two routes to one destination the goal does not have
are a *clash*. Pure: no kernel, no Textual.
"""

from __future__ import annotations

from lab.i18n import N_, _
from lab.model import Link, Namespace, Route, WorldState
from lab.rules import Firewall

SKIP_NAMESPACES = ("internet",)


def _link_fact(state: WorldState, ns_name: str, link: Link) -> str:
    parts = [f"interface {link.name}"]
    if link.kind:
        parts.append(link.kind)
    parts.append("UP" if link.up else "DOWN")
    if link.master:
        parts.append(f"in bridge {link.master}")
    peer = state.peer(ns_name, link)
    if peer:
        parts.append(f"↔ {peer[0]}:{peer[1].name}")
    parts += sorted(link.addresses)
    return " ".join(parts)


def _route_fact(route: Route) -> str:
    """A route as compared: where to and how (never its proto, scope or link state)."""
    parts = ["route", route.dst]
    if route.gateway:
        parts += ["via", route.gateway]
    if route.dev:
        parts += ["dev", route.dev]
    return " ".join(parts)


def _firewall_facts(firewall: Firewall) -> list[str]:
    facts = []
    for table, chains in sorted(firewall.chains.items()):
        facts += [f"iptables -t {table} chain {chain}" for chain in chains]
    for table, policies in sorted(firewall.policies.items()):
        facts += [
            f"iptables -t {table} -P {chain} {policy}"
            for chain, policy in sorted(policies.items())
            if policy != "ACCEPT"
        ]
    for rule in firewall.rules:
        facts.append(f"iptables -t {rule.table} -A {rule.chain} {rule.text}")
    return facts


def network_facts(state: WorldState) -> dict[str, list[str]]:
    """Per namespace, the facts that make its network (sorted, duplicates kept)."""
    facts: dict[str, list[str]] = {}
    for name, ns in state.namespaces.items():
        if name in SKIP_NAMESPACES:
            continue
        lines = [_link_fact(state, name, link) for link in ns.links]
        lines += [_route_fact(route) for route in ns.routes]
        lines.append(f"ip_forward {ns.ip_forward}")
        lines += _firewall_facts(ns.firewall)
        lines += [f"listening on {addr}:{port}" for addr, port in ns.listening]
        facts[name] = sorted(lines)
    return facts


def differences(live: WorldState, target: WorldState) -> list[str]:
    """What ``live`` lacks ("missing") or has in excess ("extra") compared with ``target``."""
    have, want = network_facts(live), network_facts(target)
    found: list[str] = []
    for name in sorted(set(want) - set(have)):
        found.append("missing: " + _("the namespace {name}").format(name=name))
    for name in sorted(set(have) - set(want)):
        found.append("extra: " + _("the namespace {name}").format(name=name))
    for name in sorted(set(have) & set(want)):
        mine, theirs = list(have[name]), list(want[name])
        for fact in list(theirs):
            if fact in mine:
                mine.remove(fact)
                theirs.remove(fact)
        found += [f"missing in {name}: {fact}" for fact in theirs]
        found += [f"extra in {name}: {fact}" for fact in mine]
    return found


def _clashing_routes(ns: Namespace | None) -> dict[str, list[str]]:
    """Destinations with two or more routes in one namespace, and the routes' devices."""
    by_dst: dict[str, list[str]] = {}
    for route in ns.routes if ns else ():
        by_dst.setdefault(route.dst, []).append(route.dev or "?")
    return {dst: devs for dst, devs in by_dst.items() if len(devs) > 1}


def _pair_interfaces(missing: list[str], extra: list[str]) -> list[str]:
    """An interface in both lists is one interface that is *wrong*: say what differs.

    ``interface veth0 veth UP 172.18.0.11/16`` (live) against ``… 172.18.0.10/16``
    (goal) is a wrong address, not a missing and an extra interface.
    """
    found = []
    for want in list(missing):
        if not want.startswith("interface "):
            continue
        name = want.split()[1]
        have = next((f for f in extra if f.split()[:2] == ["interface", name]), None)
        if have is None:
            continue
        missing.remove(want)
        extra.remove(have)
        lacks = [t for t in want.split()[2:] if t not in have.split()[2:]]
        more = [t for t in have.split()[2:] if t not in want.split()[2:]]
        if lacks and more:
            found.append(
                _("{name} has {more} where the goal has {lacks}").format(
                    name=name, more=" ".join(more), lacks=" ".join(lacks)
                )
            )
        elif lacks:
            found.append(_("{name} lacks {lacks}").format(name=name, lacks=" ".join(lacks)))
        else:
            found.append(_("{name} also has {more}").format(name=name, more=" ".join(more)))
    return found


def goal_differences(live: WorldState, target: WorldState) -> list[str]:
    """What the learner's network still lacks, has wrong, or has in excess, for the goal view.

    Like :func:`differences`, with two things a learner recognises: an interface
    that exists in both but differs (a wrong address, DOWN instead of UP, no
    bridge) is one ``wrong in NS:`` line, and two routes to one destination that
    the goal does not have are a ``clash in NS:`` (the kernel uses the first).
    Each line is ``kind: what``; missing and wrong things first, extras last.
    """
    have, want = network_facts(live), network_facts(target)
    found: list[str] = []
    for name in sorted(set(want) - set(have)):
        found.append("missing: " + _("the namespace {name}").format(name=name))
    for name in sorted(set(have) - set(want)):
        found.append("extra: " + _("the namespace {name}").format(name=name))
    for name in sorted(set(have) & set(want)):
        mine, theirs = list(have[name]), list(want[name])
        for fact in list(theirs):
            if fact in mine:
                mine.remove(fact)
                theirs.remove(fact)
        wrong = _pair_interfaces(theirs, mine)
        goal_clashes = _clashing_routes(target.ns(name))
        clashes = {
            dst: devs
            for dst, devs in _clashing_routes(live.ns(name)).items()
            if dst not in goal_clashes
        }
        found += [f"missing in {name}: {fact}" for fact in theirs]
        found += [f"wrong in {name}: {what}" for what in wrong]
        found += [
            f"clash in {name}: "
            + _("{count} routes to {dst} (dev {devs}): the kernel uses only the first").format(
                count=len(devs), dst=dst, devs=", ".join(devs)
            )
            for dst, devs in sorted(clashes.items())
        ]
        found += [f"extra in {name}: {fact}" for fact in mine]
    # what to do first comes first: what is missing or wrong, then clashes, then extras
    return sorted(found, key=lambda line: _RANK.get(line.split()[0], len(_RANK)))


_RANK = {"missing": 0, "missing:": 0, "wrong": 1, "clash": 2, "extra": 3, "extra:": 3}


#: the kinds of difference, as the lines begin (their first word stays English: it is
#: what the lines are sorted and marked by); shown in the learner's language
KINDS = {"missing": N_("missing"), "extra": N_("extra"), "wrong": N_("wrong"), "clash": N_("clash")}


def shown(line: str) -> tuple[str, str]:
    """A difference line as the learner reads it: (its kind and namespace, what), e.g.
    ``missing in netns0: route default via 172.18.0.1`` -> ("缺少（netns0）", "route ...")
    in Chinese."""
    kind, _colon, what = line.partition(": ")
    word, _in, where = kind.partition(" in ")
    label = _(KINDS[word]) if word in KINDS else word
    if where:
        label = _("{kind} in {namespace}").format(kind=label, namespace=where)
    return label, what
