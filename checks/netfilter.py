"""What netfilter does to one packet at one hook, on a snapshot.

A packet meets five hooks (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING)
depending on where it comes from and goes to. At each hook every *base chain*
registered there runs, lowest priority first, whatever tool made it
(iptables-legacy, iptables-nft, native nftables: :mod:`lab.rules`). A drop in
any of them is the end of the packet; the packet goes on only if all accept.

Within a chain the rules are tried in order; a rule may jump to a user chain
(and come back at its end or on RETURN) or go to one (and not come back).
NAT chains run only for the first packet of a connection (conntrack state
NEW), and only the first translation at a hook counts; the answers of that
connection (ESTABLISHED) skip NAT and are translated back by conntrack.

A match the lab does not model makes the rule *uncertain*: it is skipped and
reported, so a diagnosis never silently rests on a guess.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from lab.i18n import _
from lab.rules import IPV4, NFTABLES, Chain, Firewall, Match, Rule
from lab.state import Namespace

NAT_TARGETS = ("DNAT", "SNAT", "MASQUERADE", "REDIRECT")
TERMINAL = ("ACCEPT", "DROP", "REJECT")


@dataclass(frozen=True)
class Flow:
    """One packet as the tracer follows it; a NAT rewrite or a reply makes a new Flow.

    ``src`` is None until the sender's route picks a source address. ``reply``
    marks the answer travelling back: conntrack calls it ESTABLISHED.
    """

    src_ns: str
    dst: str
    proto: str = "icmp"
    dport: int | None = None
    src: str | None = None
    sport: int | None = None
    reply: bool = False

    @property
    def ctstate(self) -> str:
        return "ESTABLISHED" if self.reply else "NEW"

    def answer(self, responder: str) -> Flow:
        """The reply to this packet, sent by namespace ``responder``."""
        return Flow(
            src_ns=responder,
            dst=self.src or "",
            proto=self.proto,
            dport=self.sport,
            src=self.dst,
            sport=self.dport,
            reply=True,
        )

    def text(self) -> str:
        ports = f":{self.dport}" if self.dport else ""
        return f"{self.src or '?'} -> {self.dst}{ports} ({self.proto}{', reply' if self.reply else ''})"


@dataclass(frozen=True)
class Verdict:
    """What one hook did: let through (maybe translated) or dropped by a rule or a policy."""

    accepted: bool
    chain: Chain | None = None  # the base chain that dropped, or that translated
    rule: Rule | None = None  # the rule that decided; None: the chain's policy
    nat: Rule | None = None  # the NAT rule that translated the packet
    uncertain: tuple[Rule, ...] = ()  # rules skipped because a match is not modelled

    def evidence(self, ns: str) -> str:
        """``ns: -P FORWARD DROP (iptables-nft)``: the rule or policy, and its backend."""
        assert self.chain is not None
        if self.rule is not None:
            return f"{ns}: {self.rule.listing()} ({self.rule.backend})"
        return f"{ns}: {self.chain.policy_listing()} ({self.chain.backend})"

    def what(self) -> str:
        """The deciding rule or policy in words, naming the backend."""
        assert self.chain is not None
        tool = self.chain.backend
        where = (
            _("chain {self_chain_name} of table {self_chain_family} {self_chain_table}").format(
                self_chain_name=self.chain.name,
                self_chain_family=self.chain.family,
                self_chain_table=self.chain.table,
            )
            if tool == NFTABLES
            else _("{chain} chain").format(chain=self.chain.name)
        )
        if self.rule is not None:
            return _("a rule in the {tool} {where} ({self_rule_listing})").format(
                tool=tool, where=where, self_rule_listing=self.rule.listing()
            )
        return _("the policy of the {tool} {where} ({self_chain_policy_listing})").format(
            tool=tool, where=where, self_chain_policy_listing=self.chain.policy_listing()
        )


@dataclass(frozen=True)
class Packet:
    """A flow at a hook: where it came in and goes out."""

    flow: Flow
    in_if: str | None = None
    out_if: str | None = None


def run_hook(
    ns: Namespace, hook: str, packet: Packet, nat: bool = True, bridge: bool = False
) -> Verdict:
    """Every base chain at ``hook`` in ``ns``, in priority order (``nat``: NAT may apply).

    With ``bridge`` the hook is the bridge layer's (nftables ``bridge`` family,
    ebtables-nft): the interfaces are the bridge ports, and nothing is translated.
    """
    fw = ns.firewall
    uncertain: list[Rule] = []
    translated: tuple[Chain, Rule] | None = None
    for chain in fw.at_hook(hook, ("bridge",) if bridge else IPV4):
        if bridge and chain.kind == "nat":
            continue
        if chain.kind == "nat" and (not nat or packet.flow.reply or translated):
            continue
        decision, rule = _run_chain(fw, ns, chain, packet, uncertain, depth=0)
        if decision in ("DROP", "REJECT"):
            return Verdict(False, chain, rule, None, tuple(uncertain))
        if decision == "NAT" and rule is not None and not bridge:
            translated = (chain, rule)
    if translated:
        return Verdict(True, translated[0], translated[1], translated[1], tuple(uncertain))
    return Verdict(True, uncertain=tuple(uncertain))


def _run_chain(
    fw: Firewall,
    ns: Namespace,
    chain: Chain,
    packet: Packet,
    uncertain: list[Rule],
    depth: int,
) -> tuple[str | None, Rule | None]:
    """(decision, rule): ACCEPT DROP REJECT NAT, or None when the chain returns."""
    if depth > 16:
        return None, None
    for rule in fw.rules_of(chain):
        hit = rule_matches(rule, ns, packet)
        if hit is None:
            uncertain.append(rule)
            continue
        if not hit:
            continue
        target = rule.target
        if target in TERMINAL:
            return target, rule
        if target in NAT_TARGETS:
            return "NAT", rule
        if target == "RETURN":
            return _ended(chain)
        sub = fw.find_chain(chain, target) if target else None
        if sub is None:
            continue  # LOG, MARK, counters and the like: the packet goes on
        decision, decided_by = _run_chain(fw, ns, sub, packet, uncertain, depth + 1)
        if decision is not None:
            return decision, decided_by
        if rule.goto:
            return _ended(chain)
    return _ended(chain)


def _ended(chain: Chain) -> tuple[str | None, Rule | None]:
    """A chain that ends (RETURN, its last rule, a goto that came back): a base chain's
    policy decides; a user chain hands back to the chain that jumped to it."""
    return (chain.policy, None) if chain.hook is not None else (None, None)


def rule_matches(rule: Rule, ns: Namespace, packet: Packet) -> bool | None:
    """Does ``rule`` match? None when one of its matches is not modelled."""
    unknown = False
    for match in rule.matches:
        hit = match_one(match, ns, packet)
        if hit is None:
            unknown = True
        elif not hit:
            return False
    return None if unknown else True


def match_one(match: Match, ns: Namespace, packet: Packet) -> bool | None:
    flow = packet.flow
    value: bool | None
    if match.field == "saddr":
        value = _in_any(flow.src, match.values)
    elif match.field == "daddr":
        value = _in_any(flow.dst, match.values)
    elif match.field == "iif":
        value = _if_any(packet.in_if, match.values)
    elif match.field == "oif":
        value = _if_any(packet.out_if, match.values)
    elif match.field == "proto":
        value = any(v in (flow.proto, "all") for v in match.values)
    elif match.field in ("dport", "sport"):
        port = flow.dport if match.field == "dport" else flow.sport
        value = port is not None and any(_port_in(port, v) for v in match.values)
    elif match.field == "ctstate":
        value = flow.ctstate in match.values
    elif match.field in ("dst-type", "src-type"):
        addr = flow.dst if match.field == "dst-type" else flow.src
        types = address_types(ns, addr)
        if not set(match.values) <= {"LOCAL", "UNICAST", "BROADCAST", "MULTICAST"}:
            return None
        value = bool(types & set(match.values))
    elif match.field == "icmp-type":
        if flow.proto != "icmp":
            value = False
        else:
            kind = {"echo-request", "8"} if not flow.reply else {"echo-reply", "0"}
            value = any(v in kind or v == "any" for v in match.values)
    else:
        return None
    return value != match.negated


def address_types(ns: Namespace, addr: str | None) -> set[str]:
    """What ``-m addrtype`` / ``fib daddr type`` would say about ``addr`` in ``ns``."""
    if addr is None:
        return set()
    ip = ipaddress.IPv4Address(addr)
    if ip.is_multicast:
        return {"MULTICAST"}
    if ip.is_loopback or ns.owns(addr):
        return {"LOCAL"}
    for cidr, _owner in ns.addresses():
        net = ipaddress.IPv4Interface(cidr).network
        if net.prefixlen < 31 and ip == net.broadcast_address:
            return {"BROADCAST"}
    return {"UNICAST"}


def _in_any(addr: str | None, values: tuple[str, ...]) -> bool:
    if addr is None:
        return False
    ip = ipaddress.IPv4Address(addr)
    for value in values:
        if "-" in value:
            low, high = value.split("-", 1)
            if ipaddress.IPv4Address(low) <= ip <= ipaddress.IPv4Address(high):
                return True
        elif ip in ipaddress.IPv4Network(value, strict=False):
            return True
    return False


def _if_any(name: str | None, values: tuple[str, ...]) -> bool:
    if name is None:
        return False
    for value in values:
        if value.endswith("+") or value.endswith("*"):
            if name.startswith(value[:-1]):
                return True
        elif name == value:
            return True
    return False


def _port_in(port: int, value: str) -> bool:
    if "-" in value:
        low, high = value.split("-", 1)
        return int(low) <= port <= int(high)
    return value.isdigit() and port == int(value)


def nat_address(rule: Rule, ns: Namespace, out_if: str | None) -> tuple[str, int | None]:
    """Where a NAT rule sends the packet: (address, port or None)."""
    if rule.target == "MASQUERADE":
        link = ns.link(out_if) if out_if else None
        addr = link.addresses[0].split("/")[0] if link and link.addresses else ""
        return addr, None
    spec = rule.to_destination if rule.target in ("DNAT", "REDIRECT") else rule.to_source
    if not spec:
        return "", None
    host, _colon, port = spec.partition(":")
    host = host.split("-")[0]
    return host, int(port.split("-")[0]) if port and port.split("-")[0].isdigit() else None


def translate(flow: Flow, rule: Rule, ns: Namespace, out_if: str | None) -> Flow:
    """The flow after NAT rule ``rule`` (DNAT rewrites the destination, SNAT the source)."""
    addr, port = nat_address(rule, ns, out_if)
    if not addr:
        return flow
    if rule.target in ("DNAT", "REDIRECT"):
        return replace(flow, dst=addr, dport=port or flow.dport)
    return replace(flow, src=addr, sport=port or flow.sport)
