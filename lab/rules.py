"""The firewall as the kernel holds it: three rule sets, one model.

A Linux machine may filter and translate packets with three tools at once, and
each is a *separate set of hooks* in the kernel's path:

* ``iptables-legacy`` (the old x_tables code; ``iptables-legacy-save`` shows it),
* ``iptables-nft`` (the iptables command of Debian and Ubuntu, which writes
  nf_tables tables named ``filter``, ``nat``...; ``iptables-nft-save`` shows it),
* native ``nftables`` (tables a learner or a distribution makes with ``nft``;
  ``nft -j list ruleset`` shows them, and the iptables-nft ones too).

Rules made with one are invisible to the others' listing, yet all of them
apply: a packet passes a hook only if every base chain registered there
accepts it, in priority order. So the snapshot reads all three and the tracer
walks them as separate chains, naming the backend of the rule that decided.

Everything here is plain data (frozen dataclasses) plus the parsers that turn
``iptables-save`` text and ``nft -j`` JSON into it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

IPTABLES_NFT = "iptables-nft"
IPTABLES_LEGACY = "iptables-legacy"
NFTABLES = "nftables"

HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
#: nftables families read: IPv4 (``ip``, ``inet``) and the bridge layer (``bridge``,
#: also where ebtables-nft keeps its rules)
FAMILIES = ("ip", "inet", "bridge")
IPV4 = ("ip", "inet")
#: the short-lived table :mod:`checks.witness` adds to trace a packet: never the learner's
TRACE_TABLE = "cnlab_trace"

#: iptables table -> (chain -> priority); the same numbers nft uses for its named priorities.
IPTABLES_PRIORITY: dict[str, dict[str, int]] = {
    "raw": {"PREROUTING": -300, "OUTPUT": -300},
    "mangle": {c: -150 for c in ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")},
    "nat": {"PREROUTING": -100, "OUTPUT": -100, "INPUT": 100, "POSTROUTING": 100},
    "filter": {"INPUT": 0, "FORWARD": 0, "OUTPUT": 0},
    "security": {"INPUT": 50, "FORWARD": 50, "OUTPUT": 50},
}


@dataclass(frozen=True)
class Match:
    """One condition of a rule, in a form shared by iptables and nftables.

    ``field`` is one of ``saddr daddr iif oif proto dport sport ctstate src-type
    dst-type icmp-type`` or ``unknown`` (a match the lab does not model; its
    ``values`` say what it was). A packet matches when its value is any of
    ``values`` (addresses in CIDR form, ports as ``N`` or ``N-M``, interface
    names with ``+`` as a wildcard), inverted by ``negated``.
    """

    field: str
    values: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class Rule:
    """One rule, from ``iptables-save`` or ``nft -j``, with the fields the lab reasons on."""

    table: str
    chain: str
    text: str  # as the backend's own listing prints it (iptables: without "-A CHAIN")
    target: str | None = None  # ACCEPT DROP REJECT RETURN DNAT SNAT MASQUERADE ... or a chain
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
    backend: str = IPTABLES_NFT
    family: str = "ip"
    matches: tuple[Match, ...] = ()
    goto: bool = False  # -g / goto: no return to the calling chain
    to_source: str | None = None
    packets: int | None = None  # the rule's counter, when the backend keeps one

    def listing(self) -> str:
        """The rule as its backend lists it (``-A CHAIN ...`` for iptables)."""
        if self.backend == NFTABLES:
            return f"{self.family} {self.table} {self.chain}: {self.text}"
        return f"-A {self.chain} {self.text}"


@dataclass(frozen=True)
class Chain:
    """A chain of one backend: a base chain (``hook`` set) or a user chain."""

    backend: str
    family: str
    table: str
    name: str
    hook: str | None = None
    kind: str = "filter"  # filter | nat | route
    priority: int = 0
    policy: str = "ACCEPT"
    packets: int | None = None  # packets that met the policy (iptables-save -c)

    def policy_listing(self) -> str:
        if self.backend == NFTABLES:
            return f"{self.family} {self.table} {self.name}: policy {self.policy.lower()}"
        return f"-P {self.name} {self.policy}"


@dataclass(frozen=True)
class Firewall:
    policies: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> chain -> policy
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> user chains
    rules: tuple[Rule, ...] = ()
    #: every chain of every backend (base chains carry their hook and priority)
    all_chains: tuple[Chain, ...] = ()

    def in_chain(self, table: str, chain: str) -> list[Rule]:
        """Rules of the IPv4 chain ``chain`` in ``table`` (any backend)."""
        return [r for r in self.rules if r.table == table and r.chain == chain and r.family in IPV4]

    def policy(self, table: str, chain: str) -> str:
        return self.policies.get(table, {}).get(chain, "ACCEPT")

    def rules_of(self, chain: Chain) -> list[Rule]:
        return [
            r
            for r in self.rules
            if r.backend == chain.backend
            and r.family == chain.family
            and r.table == chain.table
            and r.chain == chain.name
        ]

    def find_chain(self, like: Chain, name: str) -> Chain | None:
        """The chain ``name`` in the same backend and table as ``like``."""
        for chain in self.all_chains:
            if (chain.backend, chain.family, chain.table, chain.name) == (
                like.backend,
                like.family,
                like.table,
                name,
            ):
                return chain
        return None

    def at_hook(self, hook: str, families: tuple[str, ...] = IPV4) -> list[Chain]:
        """Base chains registered at ``hook`` (IPv4 unless told), in the kernel's order."""
        found = [c for c in self.all_chains if c.hook == hook and c.family in families]
        return sorted(found, key=lambda c: c.priority)

    def backends(self) -> list[str]:
        return sorted({c.backend for c in self.all_chains})


def without_counters(fw: Firewall) -> Firewall:
    """The same firewall with every packet count left out (a stable snapshot)."""
    return replace(
        fw,
        rules=tuple(replace(r, packets=None) for r in fw.rules),
        all_chains=tuple(replace(c, packets=None) for c in fw.all_chains),
    )


def merge(parts: Iterable[Firewall]) -> Firewall:
    """One firewall from several backends' (their hooks all apply)."""
    policies: dict[str, dict[str, str]] = {}
    user: dict[str, tuple[str, ...]] = {}
    rules: list[Rule] = []
    chains: list[Chain] = []
    for part in parts:
        for table, pols in part.policies.items():
            mine = policies.setdefault(table, {})
            for chain, policy in pols.items():
                if mine.get(chain, "ACCEPT") == "ACCEPT":
                    mine[chain] = policy
        for table, names in part.chains.items():
            user[table] = tuple(dict.fromkeys((*user.get(table, ()), *names)))
        rules.extend(part.rules)
        chains.extend(part.all_chains)
    return Firewall(policies, user, tuple(rules), tuple(chains))


# ------------------------------------------------------------ iptables-save

_INCOMPATIBLE = re.compile(r"# Table `(\w+)' .*incompatible")
_COUNTS = re.compile(r"^\[(\d+):(\d+)\]\s*")


def incompatible_tables(text: str) -> set[str]:
    """Tables ``iptables-nft-save`` could not show (native nftables: read them with nft)."""
    return set(_INCOMPATIBLE.findall(text))


def parse_iptables_save(text: str, backend: str = IPTABLES_NFT) -> Firewall:
    """Parse ``iptables-save`` (with or without ``-c``) of one backend."""
    skip = incompatible_tables(text)
    policies: dict[str, dict[str, str]] = {}
    user: dict[str, list[str]] = {}
    rules: list[Rule] = []
    chains: list[Chain] = []
    table = "filter"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            if table not in skip:
                policies.setdefault(table, {})
                user.setdefault(table, [])
            continue
        if table in skip:
            continue
        if line.startswith(":"):
            chains.append(_parse_chain_line(table, line, backend))
            chain = chains[-1]
            if chain.hook is None:
                user.setdefault(table, []).append(chain.name)
            else:
                policies.setdefault(table, {})[chain.name] = chain.policy
            continue
        packets = None
        counted = _COUNTS.match(line)
        if counted:
            packets = int(counted.group(1))
            line = line[counted.end() :]
        if line.startswith("-A "):
            rules.append(parse_rule(table, line, backend, packets))
    return Firewall(
        policies=policies,
        chains={t: tuple(c) for t, c in user.items()},
        rules=tuple(rules),
        all_chains=tuple(chains),
    )


def _parse_chain_line(table: str, line: str, backend: str) -> Chain:
    parts = line[1:].split()
    name, policy = parts[0], parts[1]
    packets = None
    if len(parts) > 2:
        counted = _COUNTS.match(parts[2])
        packets = int(counted.group(1)) if counted else None
    if policy == "-":
        return Chain(backend, "ip", table, name, kind="nat" if table == "nat" else "filter")
    priority = IPTABLES_PRIORITY.get(table, {}).get(name, 0)
    kind = "nat" if table == "nat" else "filter"
    return Chain(backend, "ip", table, name, name.lower(), kind, priority, policy, packets)


_ADDR_OPTS = {"-s": "saddr", "--source": "saddr", "-d": "daddr", "--destination": "daddr"}
_IF_OPTS = {"-i": "iif", "--in-interface": "iif", "-o": "oif", "--out-interface": "oif"}
_PORT_OPTS = {
    "--dport": "dport",
    "--destination-port": "dport",
    "--sport": "sport",
    "--source-port": "sport",
    "--dports": "dport",
    "--sports": "sport",
}
_MODELLED_MODULES = {
    "tcp",
    "udp",
    "icmp",
    "multiport",
    "conntrack",
    "state",
    "addrtype",
    "comment",
}


_MATCH_OPTS = frozenset(
    {*_ADDR_OPTS, *_IF_OPTS, *_PORT_OPTS, "-p", "--protocol", "--ctstate", "--state"}
    | {"--dst-type", "--src-type", "--icmp-type", "-m"}
)
_IGNORED_OPTS = frozenset(  # options with an argument that change no verdict we model
    {
        "--comment",
        "--reject-with",
        "--to-ports",
        "--limit-iface-in",
        "--limit-iface-out",
        "--log-prefix",
        "--log-level",
    }
)
_FLAG_OPTS = frozenset({"--random", "--random-fully", "--persistent", "--log-uid"})


def parse_rule(
    table: str, line: str, backend: str = IPTABLES_NFT, packets: int | None = None
) -> Rule:
    """One ``-A CHAIN ...`` line of iptables-save."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        tokens = line.split()
    chain = tokens[1]
    matches: list[Match] = []
    out: dict[str, Any] = {}
    negate = False
    i = 2
    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            negate = True
            i += 1
            continue
        arg = tokens[i + 1] if i + 1 < len(tokens) else ""
        i += _option(tok, arg, negate, matches, out)
        negate = False
    return _rule_from(
        table, chain, " ".join(_quote(t) for t in tokens[2:]), matches, out, backend, "ip", packets
    )


def _option(tok: str, arg: str, negate: bool, matches: list[Match], out: dict[str, Any]) -> int:
    """Apply one option of a rule (to ``matches``, or to the target in ``out``); return
    how many tokens it used. An option we do not model becomes an ``unknown`` match."""
    if tok in _MATCH_OPTS:
        match = _match_for(tok, arg, negate)
        if match is not None:
            matches.append(match)
        return 2
    if _target_option(tok, arg, out) or tok in _IGNORED_OPTS:
        return 2
    if tok in _FLAG_OPTS or not tok.startswith("-"):
        return 1
    alone = not arg or arg.startswith("-")
    matches.append(Match("unknown", (tok if alone else f"{tok} {arg}",), negate))
    return 1 if alone else 2


def _match_for(tok: str, arg: str, negate: bool) -> Match | None:
    """The match an option of :data:`_MATCH_OPTS` makes (``-m`` of a module we model
    makes none: its own options do)."""
    if tok in _ADDR_OPTS:
        return Match(_ADDR_OPTS[tok], tuple(arg.split(",")), negate)
    if tok in _IF_OPTS:
        return Match(_IF_OPTS[tok], (arg,), negate)
    if tok in ("-p", "--protocol"):
        return Match("proto", (_proto_name(arg),), negate)
    if tok in _PORT_OPTS:
        return Match(_PORT_OPTS[tok], tuple(v.replace(":", "-") for v in arg.split(",")), negate)
    if tok in ("--ctstate", "--state"):
        return Match("ctstate", tuple(arg.upper().split(",")), negate)
    if tok in ("--dst-type", "--src-type"):
        return Match(tok[2:], tuple(arg.upper().split(",")), negate)
    if tok == "--icmp-type":
        return Match("icmp-type", (arg,), negate)
    if arg not in _MODELLED_MODULES:  # -m
        return Match("unknown", (f"-m {arg}",), negate)
    return None


def _target_option(tok: str, arg: str, out: dict[str, Any]) -> bool:
    """Record a target option (jump, NAT address) in ``out``; False if ``tok`` is none."""
    if tok in ("-j", "--jump", "-g", "--goto"):
        out["target"] = arg
        out["goto"] = tok in ("-g", "--goto")
    elif tok in ("--to-destination", "--to"):
        out["to_destination"] = arg
    elif tok == "--to-source":
        out["to_source"] = arg
    else:
        return False
    return True


def _quote(token: str) -> str:
    return shlex.quote(token) if any(c.isspace() for c in token) else token


def _proto_name(value: str) -> str:
    return {"1": "icmp", "6": "tcp", "17": "udp", "0": "all"}.get(value, value.lower())


def _first(matches: list[Match], name: str) -> Match | None:
    return next((m for m in matches if m.field == name), None)


def _rule_from(
    table: str,
    chain: str,
    text: str,
    matches: list[Match],
    out: dict[str, Any],
    backend: str,
    family: str,
    packets: int | None,
) -> Rule:
    src, dst = _first(matches, "saddr"), _first(matches, "daddr")
    iif, oif = _first(matches, "iif"), _first(matches, "oif")
    proto, dport = _first(matches, "proto"), _first(matches, "dport")
    return Rule(
        table=table,
        chain=chain,
        text=text,
        target=out.get("target"),
        source=src.values[0] if src and len(src.values) == 1 else None,
        source_negated=bool(src and src.negated),
        destination=dst.values[0] if dst and len(dst.values) == 1 else None,
        destination_negated=bool(dst and dst.negated),
        in_if=iif.values[0] if iif else None,
        in_negated=bool(iif and iif.negated),
        out_if=oif.values[0] if oif else None,
        out_negated=bool(oif and oif.negated),
        protocol=proto.values[0] if proto and not proto.negated else None,
        dport=dport.values[0] if dport and len(dport.values) == 1 and not dport.negated else None,
        to_destination=out.get("to_destination"),
        backend=backend,
        family=family,
        matches=tuple(matches),
        goto=bool(out.get("goto")),
        to_source=out.get("to_source"),
        packets=packets,
    )


# ------------------------------------------------------------------ nft -j

_NFT_TARGETS = {"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT", "return": "RETURN"}


def parse_nft_json(text: str, skip_iptables_tables: set[str] | None = None) -> Firewall:
    """Native nftables tables from ``nft -j list ruleset``.

    Tables that ``iptables-nft-save`` already showed (family ``ip``, names in
    ``skip_iptables_tables``) are left out: their rules come from there, with
    the details nft's JSON hides in ``xt`` expressions.
    """
    skip = skip_iptables_tables or set()
    try:
        items = json.loads(text).get("nftables", []) if text.strip() else []
    except (ValueError, AttributeError):
        return Firewall()
    chains: list[Chain] = []
    rules: list[Rule] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "chain" in item:
            c = item["chain"]
            if c.get("table") == TRACE_TABLE:
                continue
            if (c.get("family") == "ip" and c.get("table") in skip) or c.get(
                "family"
            ) not in FAMILIES:
                continue
            chains.append(
                Chain(
                    NFTABLES,
                    c["family"],
                    c["table"],
                    c["name"],
                    c.get("hook"),
                    c.get("type", "filter"),
                    _priority(c.get("prio", 0)),
                    str(c.get("policy", "accept")).upper(),
                )
            )
        elif "rule" in item:
            r = item["rule"]
            if r.get("table") == TRACE_TABLE:
                continue
            if (r.get("family") == "ip" and r.get("table") in skip) or r.get(
                "family"
            ) not in FAMILIES:
                continue
            rules.append(nft_rule(r))
    user: dict[str, list[str]] = {}
    for c in chains:
        if c.hook is None:
            user.setdefault(c.table, []).append(c.name)
    return Firewall(
        policies={},
        chains={t: tuple(n) for t, n in user.items()},
        rules=tuple(rules),
        all_chains=tuple(chains),
    )


def _priority(value: Any) -> int:
    named = {
        "raw": -300,
        "mangle": -150,
        "dstnat": -100,
        "filter": 0,
        "security": 50,
        "srcnat": 100,
    }
    if isinstance(value, int):
        return value
    return named.get(str(value), 0)


def nft_rule(r: dict[str, Any]) -> Rule:
    """One rule of ``nft -j`` output, its expressions turned into matches and a verdict."""
    matches: list[Match] = []
    out: dict[str, Any] = {}
    words: list[str] = []
    packets = None
    for expr in r.get("expr", []):
        if not isinstance(expr, dict) or not expr:
            continue
        key, body = next(iter(expr.items()))
        if key == "match":
            found, text = _nft_match(body)
            matches.extend(found)
            words.append(text)
        elif key == "counter":
            packets = int(body.get("packets", 0)) if isinstance(body, dict) else None
            words.append("counter")
        elif key in _NFT_TARGETS:
            out["target"] = _NFT_TARGETS[key]
            words.append(key)
        elif key in ("jump", "goto"):
            out["target"] = body.get("target")
            out["goto"] = key == "goto"
            words.append(f"{key} {body.get('target')}")
        elif key == "masquerade":
            out["target"] = "MASQUERADE"
            words.append("masquerade")
        elif key in ("snat", "dnat"):
            addr = _nft_value(body.get("addr")) if isinstance(body, dict) else ""
            port = body.get("port") if isinstance(body, dict) else None
            where = f"{addr}:{port}" if port else addr
            out["target"] = key.upper()
            out["to_destination" if key == "dnat" else "to_source"] = where
            words.append(f"{key} to {where}")
        elif key == "redirect":
            out["target"] = "REDIRECT"
            words.append("redirect")
        elif key in ("log", "limit", "meta", "mangle", "ct", "notrack"):
            words.append(key)
        elif key == "xt":
            matches.append(Match("unknown", (f"xt {body.get('name')}",)))
            words.append(f"xt {body.get('name')}")
        else:
            matches.append(Match("unknown", (key,)))
            words.append(key)
    return _rule_from(
        r.get("table", ""),
        r.get("chain", ""),
        " ".join(words),
        matches,
        out,
        NFTABLES,
        r.get("family", "ip"),
        packets,
    )


def _nft_value(value: Any) -> str:
    if isinstance(value, dict):
        if "prefix" in value:
            return f"{value['prefix']['addr']}/{value['prefix']['len']}"
        if "range" in value:
            low, high = value["range"]
            return f"{low}-{high}"
        if "set" in value:
            return "{ " + ", ".join(_nft_value(v) for v in value["set"]) + " }"
    if isinstance(value, list):
        return "{ " + ", ".join(_nft_value(v) for v in value) + " }"
    return str(value)


def _nft_values(value: Any) -> tuple[str, ...]:
    if isinstance(value, dict) and "set" in value:
        return tuple(_nft_value(v) for v in value["set"])
    if isinstance(value, list):
        return tuple(_nft_value(v) for v in value)
    return (_nft_value(value),)


_NFT_META = {"iifname": "iif", "oifname": "oif", "iif": "iif", "oif": "oif", "l4proto": "proto"}


def _nft_match(body: dict[str, Any]) -> tuple[list[Match], str]:
    left, right, op = body.get("left"), body.get("right"), body.get("op", "==")
    negated = op == "!="
    field_name, what, values, implied = _nft_left(left, _nft_values(right))
    text = f"{what} {'!= ' if negated else ''}{_nft_value(right)}"
    if implied is not None:  # a port: the protocol it belongs to is implied
        return [*implied, Match(field_name, values, negated)], text
    if op not in ("==", "!=", "in"):
        field_name = "unknown"
    if field_name == "unknown":
        return [Match("unknown", (text,), negated)], text
    return [Match(field_name, values, negated)], text


#: What the left side of an nft comparison names: the field, how it reads, the values
#: as that field wants them, and the matches a port implies (None for other fields).
_NftLeft = tuple[str, str, tuple[str, ...], "list[Match] | None"]


def _nft_left(left: Any, values: tuple[str, ...]) -> _NftLeft:
    if isinstance(left, dict):
        if "payload" in left:
            return _nft_payload(left["payload"], values)
        if "meta" in left:
            key = left["meta"].get("key")
            return _NFT_META.get(key, "unknown"), f"meta {key}", values, None
        if "ct" in left:
            key = left["ct"].get("key")
            if key == "state":
                return "ctstate", f"ct {key}", tuple(v.upper() for v in values), None
            return "unknown", f"ct {key}", values, None
        if "fib" in left:
            return _nft_fib(left["fib"], values)
    return "unknown", json.dumps(left, sort_keys=True), values, None


def _nft_payload(p: dict[str, Any], values: tuple[str, ...]) -> _NftLeft:
    proto, name = p.get("protocol"), p.get("field")
    what = f"{proto} {name}"
    if proto == "ip" and name in ("saddr", "daddr"):
        return str(name), what, values, None
    if proto == "ip" and name == "protocol":
        return "proto", what, values, None
    if name in ("dport", "sport") and proto in ("tcp", "udp", "th"):
        implied = [] if proto == "th" else [Match("proto", (str(proto),))]
        return str(name), what, values, implied
    if proto == "icmp" and name == "type":
        return "icmp-type", what, values, None
    return "unknown", what, values, None


def _nft_fib(fib: dict[str, Any], values: tuple[str, ...]) -> _NftLeft:
    flags = fib.get("flags", [])
    what = f"fib {' . '.join(flags)} {fib.get('result')}"
    if fib.get("result") == "type" and flags in (["daddr"], ["saddr"]):
        field_name = "dst-type" if flags == ["daddr"] else "src-type"
        return field_name, what, tuple(v.upper() for v in values), None
    return "unknown", what, values, None
