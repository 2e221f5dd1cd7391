"""What differs between two networks: the learner's and a lesson's start (or target).

A network here is what the lab's checks look at, read from the state dict the
check server sends (``dataclasses.asdict(WorldState)``): per namespace, each
interface (kind, up or down, bridge master, the veth's other end, addresses),
each route, ``ip_forward``, the iptables rules and user chains, and the TCP
ports that listen. Interface numbers and MAC addresses are left out: two
networks built by the same commands get different ones and are still the same
network. The simulated internet is left out too (the learner never builds it).

:func:`network_facts` turns a state into comparable lines of text;
:func:`differences` says, one line each, what the first network lacks or has
in excess compared with the second. Pure: no kernel, no Textual.
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]
SKIP_NAMESPACES = ("internet",)


def _peer(state: State, ns_name: str, link: State) -> str | None:
    if link.get("kind") != "veth" or link.get("peer_index") is None:
        return None
    spaces: dict[str, State] = state.get("namespaces") or {}
    elsewhere = bool(link.get("peer_elsewhere"))
    for other_name, other in spaces.items():
        if (other_name == ns_name) == elsewhere:
            continue
        for cand in other.get("links") or []:
            # interface numbers are per namespace: across namespaces both ends must agree
            mutual = not elsewhere or (
                cand.get("kind") == "veth"
                and cand.get("peer_index") == link.get("index")
                and cand.get("peer_elsewhere")
            )
            if cand.get("index") == link["peer_index"] and mutual:
                return f"{other_name}:{cand.get('name')}"
    return None


def _link_fact(state: State, ns_name: str, link: State) -> str:
    parts = [f"interface {link.get('name')}"]
    if link.get("kind"):
        parts.append(str(link["kind"]))
    parts.append("UP" if link.get("up") else "DOWN")
    if link.get("master"):
        parts.append(f"in bridge {link['master']}")
    peer = _peer(state, ns_name, link)
    if peer:
        parts.append(f"↔ {peer}")
    for address in sorted(link.get("addresses") or []):
        parts.append(address)
    return " ".join(parts)


def _route_fact(route: State) -> str:
    parts = ["route", str(route.get("dst"))]
    if route.get("gateway"):
        parts += ["via", str(route["gateway"])]
    if route.get("dev"):
        parts += ["dev", str(route["dev"])]
    return " ".join(parts)


def _firewall_facts(firewall: State) -> list[str]:
    facts = []
    for table, chains in sorted((firewall.get("chains") or {}).items()):
        facts += [f"iptables -t {table} chain {chain}" for chain in chains]
    for table, policies in sorted((firewall.get("policies") or {}).items()):
        facts += [
            f"iptables -t {table} -P {chain} {policy}"
            for chain, policy in sorted(policies.items())
            if policy != "ACCEPT"
        ]
    for rule in firewall.get("rules") or []:
        facts.append(f"iptables -t {rule.get('table')} -A {rule.get('chain')} {rule.get('text')}")
    return facts


def network_facts(state: State) -> dict[str, list[str]]:
    """Per namespace, the facts that make its network (sorted, duplicates kept)."""
    facts: dict[str, list[str]] = {}
    for name, ns in (state.get("namespaces") or {}).items():
        if name in SKIP_NAMESPACES:
            continue
        lines = [_link_fact(state, name, link) for link in ns.get("links") or []]
        lines += [_route_fact(route) for route in ns.get("routes") or []]
        lines.append(f"ip_forward {ns.get('ip_forward')}")
        lines += _firewall_facts(ns.get("firewall") or {})
        lines += [f"listening on {addr}:{port}" for addr, port in ns.get("listening") or []]
        facts[name] = sorted(lines)
    return facts


def differences(live: State, target: State) -> list[str]:
    """What ``live`` lacks ("missing") or has in excess ("extra") compared with ``target``."""
    have, want = network_facts(live), network_facts(target)
    found: list[str] = []
    for name in sorted(set(want) - set(have)):
        found.append(f"missing: the namespace {name}")
    for name in sorted(set(have) - set(want)):
        found.append(f"extra: the namespace {name}")
    for name in sorted(set(have) & set(want)):
        mine, theirs = list(have[name]), list(want[name])
        for fact in list(theirs):
            if fact in mine:
                mine.remove(fact)
                theirs.remove(fact)
        found += [f"missing in {name}: {fact}" for fact in theirs]
        found += [f"extra in {name}: {fact}" for fact in mine]
    return found
