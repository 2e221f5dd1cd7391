"""What each check kind accepts: typed argument specs, checked when a lesson loads.

A milestone in ``lesson.toml`` names a check kind and its ``args``. Each kind
declares its arguments here as a frozen dataclass: a field per argument, its
type, its default, and what values it takes (an IPv4 address, a CIDR, a cause
code...). :func:`parse` turns a milestone's rendered ``args`` into the kind's
arguments, or says in one line what is wrong (an unknown key, a missing one, a
value of the wrong shape), so a lesson bug is found when the course loads, not
when a learner runs the check. ``docs/lesson-format.md`` is generated from the
same specs (``python -m checks.specs --write``), so the two cannot drift.

This module is pure data: it imports nothing from the engine, so lesson loading
(and the TUI) can use it without scapy or netlink.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from checks.causes import Cause

NS_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
IFNAME_RE = re.compile(r"^[^\s/]{1,15}$")
DOC = Path(__file__).resolve().parent.parent / "docs" / "lesson-format.md"
BEGIN = "<!-- BEGIN GENERATED: check kinds (python -m checks.specs --write) -->"
END = "<!-- END GENERATED: check kinds -->"


class SpecError(ValueError):
    """A milestone's args do not fit its check kind (the message is one line)."""


# ------------------------------------------------------------ value shapes


def _ipv4(value: str) -> str:
    ipaddress.IPv4Address(value)
    return value


def _cidr(value: str) -> str:
    ipaddress.IPv4Network(value, strict=False)
    if "/" not in value:
        raise ValueError("needs a prefix length, e.g. /16")
    return value


def _route_dst(value: str) -> str:
    return value if value == "default" else _cidr(value)


def _ip_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    _ipv4(host)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("a port from 1 to 65535 after the colon")
    return value


def _ns(value: str) -> str:
    if not NS_RE.match(value):
        raise ValueError("a namespace name: host, internet, or one from `ip netns`")
    return value


def _ifname(value: str) -> str:
    if not IFNAME_RE.match(value):
        raise ValueError("an interface name (at most 15 characters, no spaces)")
    return value


def _cause(value: str) -> str:
    return Cause(value).value


def _port(value: int) -> int:
    if not 0 < value < 65536:
        raise ValueError("a port from 1 to 65535")
    return value


#: shape name -> (validator, what the docs call it)
SHAPES: dict[str, tuple[Any, str]] = {
    "ipv4": (_ipv4, "IPv4 address"),
    "cidr": (_cidr, "CIDR"),
    "route_dst": (_route_dst, "`default` or CIDR"),
    "ip_port": (_ip_port, "`ip:port`"),
    "ns": (_ns, "namespace"),
    "ifname": (_ifname, "interface"),
    "cause": (_cause, "cause code"),
    "port": (_port, "port"),
    "text": (lambda v: v, "text"),
    "bool": (lambda v: v, "bool"),
}


def arg(
    doc: str,
    shape: str = "text",
    *,
    default: Any = dataclasses.MISSING,
    key: str | None = None,
    choices: tuple[Any, ...] = (),
) -> Any:
    """Declare one argument: its documentation, shape, default and allowed values."""
    meta = {"doc": doc, "shape": shape, "key": key, "choices": choices}
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Spec:
    """Base of every kind's arguments; ``KIND`` names the kind, ``PASSES`` documents it."""

    KIND: ClassVar[str] = ""
    GROUP: ClassVar[str] = "state"
    PASSES: ClassVar[str] = ""

    @classmethod
    def keys(cls) -> dict[str, dataclasses.Field[Any]]:
        return {f.metadata.get("key") or f.name: f for f in dataclasses.fields(cls)}

    def as_args(self) -> dict[str, Any]:
        """The arguments by their lesson.toml names (unset optional ones left out)."""
        out = {}
        for key, f in self.keys().items():
            value = getattr(self, f.name)
            if value is not None:
                out[key] = value
        return out


# ------------------------------------------------------------------ state


@dataclass(frozen=True)
class NetnsExists(Spec):
    KIND = "netns_exists"
    PASSES = "the named namespace exists"
    ns: str = arg("the namespace", "ns")


@dataclass(frozen=True)
class LinkSpec(Spec):
    KIND = "link"
    PASSES = "the interface exists in `ns` with those properties"
    ns: str = arg("where the interface must be", "ns")
    name: str = arg("its name", "ifname")
    kind: str | None = arg("its type", default=None, choices=("veth", "bridge"))
    up: bool | None = arg("must be up (administratively)", "bool", default=None)
    master: str | None = arg("the bridge it must be a port of", "ifname", default=None)
    peer_ns: str | None = arg("where its veth peer must be", "ns", default=None)
    peer: str | None = arg("the veth peer's name", "ifname", default=None)


@dataclass(frozen=True)
class AddressSpec(Spec):
    KIND = "address"
    PASSES = "the address is on the device"
    ns: str = arg("the namespace", "ns")
    dev: str = arg("the device", "ifname")
    address: str = arg("the address with its prefix", "cidr")


@dataclass(frozen=True)
class NoAddress(Spec):
    KIND = "no_address"
    PASSES = "the device has no IPv4 address"
    ns: str = arg("the namespace", "ns")
    dev: str = arg("the device", "ifname")


@dataclass(frozen=True)
class RouteSpec(Spec):
    KIND = "route"
    PASSES = "such a route is in the main table"
    ns: str = arg("the namespace", "ns")
    dst: str = arg("the route's destination", "route_dst")
    via: str | None = arg("its gateway", "ipv4", default=None)
    dev: str | None = arg("its device", "ifname", default=None)


@dataclass(frozen=True)
class RouteClash(Spec):
    KIND = "route_clash"
    PASSES = "two or more routes for exactly `dst` (the lesson-3 clash was reached)"
    ns: str = arg("the namespace", "ns")
    dst: str = arg("the network", "cidr")


@dataclass(frozen=True)
class IpForward(Spec):
    KIND = "ip_forward"
    PASSES = "`net.ipv4.ip_forward` has that value"
    ns: str = arg("the namespace", "ns", default="host")
    value: int = arg("the wanted value", default=1, choices=(0, 1))


@dataclass(frozen=True)
class IptablesChain(Spec):
    KIND = "iptables_chain"
    PASSES = "the user chain exists (or not)"
    ns: str = arg("the namespace", "ns")
    chain: str = arg("the chain's name")
    table: str = arg("the table", default="filter", choices=("filter", "nat", "mangle", "raw"))
    present: bool = arg("must exist (false: must not)", "bool", default=True)


@dataclass(frozen=True)
class Listening(Spec):
    KIND = "listening"
    PASSES = "a TCP server listens there (or on 0.0.0.0)"
    ns: str = arg("the namespace", "ns")
    address: str = arg("the listening address", "ipv4")
    port: int = arg("the port", "port")


@dataclass(frozen=True)
class ProcessNetns(Spec):
    KIND = "process_netns"
    PASSES = (
        "a process of the world whose command line starts with `command` runs in the network "
        "namespace `netns` (its `/proc/PID/ns/net`); with `only_lo`: that namespace has `lo` "
        "and no other interface"
    )
    command: str = arg("the first words of its command line, e.g. `sleep 1001`")
    netns: str = arg("`host`, a name from `ip netns`, or `own`: a namespace no name leads to", "ns")
    only_lo: bool | None = arg("its namespace has `lo` and nothing else", "bool", default=None)


@dataclass(frozen=True)
class RootlessNetns(Spec):
    KIND = "rootless_netns"
    PASSES = (
        "a process of the world's unprivileged user (`learner`) holds a network namespace "
        "owned by a user namespace that user made (a rootless one); with `uplink`: that link "
        "is up in it, with an address, and carries its default route; with `host_links`: "
        "the host has no link but those"
    )
    uplink: str | None = arg(
        "the link slirp4netns makes in it, e.g. `tap0`", "ifname", default=None
    )
    host_links: str | None = arg(
        "the only links the host may have, space-separated, e.g. `lo eth0`", default=None
    )


# ----------------------------------------------------------------- probes


@dataclass(frozen=True)
class PingSpec(Spec):
    KIND = "ping"
    GROUP = "probe"
    PASSES = (
        "an ICMP echo sent through `from`'s sockets (its OUTPUT and INPUT chains apply) gets "
        "a reply, from `answered_by` when given (not from `from` itself); with `no-reply`: "
        "it gets none AND the diagnosis names `cause`"
    )
    src: str = arg("the sending namespace", "ns", key="from")
    to: str = arg("the destination", "ipv4")
    expect: str = arg("`reply`, or `no-reply`", default="reply", choices=("reply", "no-reply"))
    cause: str | None = arg("with `no-reply`: the cause it must fail for", "cause", default=None)
    answered_by: str | None = arg("the namespace that must own `to`", "ns", default=None)


@dataclass(frozen=True)
class ArpSpec(Spec):
    KIND = "arp"
    GROUP = "probe"
    PASSES = "an ARP who-has from `from` for `to` is answered"
    src: str = arg("the asking namespace", "ns", key="from")
    to: str = arg("the address asked for", "ipv4")


@dataclass(frozen=True)
class NatSource(Spec):
    KIND = "nat_source"
    GROUP = "probe"
    PASSES = (
        "an echo from `from` to `to` is seen arriving in the internet namespace with "
        "source `seen`, and answered"
    )
    src: str = arg("the sending namespace", "ns", key="from")
    to: str = arg("an address on the internet", "ipv4")
    seen: str = arg("the source the internet must see", "ipv4")


@dataclass(frozen=True)
class Masquerade(Spec):
    KIND = "masquerade"
    GROUP = "probe"
    PASSES = (
        "a packet from a container with an address in `source` reaches the internet with "
        "the address of `ns`'s `out` as its source (any rules that do it: iptables-nft or "
        "-legacy, nftables, MASQUERADE or SNAT)"
    )
    source: str = arg("the containers' network", "cidr")
    ns: str = arg("the namespace that translates", "ns", default="host")
    out: str = arg("its uplink", "ifname", default="eth0")
    to: str = arg("where the test packet goes", "ipv4", default="8.8.8.8")


@dataclass(frozen=True)
class Dnat(Spec):
    KIND = "dnat"
    GROUP = "probe"
    PASSES = (
        "a TCP connection to `dst:port` (from the internet for `PREROUTING`, from `ns` itself "
        "for `OUTPUT`) arrives at `to`, with the client's own source for `PREROUTING` (any "
        "rules that do it)"
    )
    chain: str = arg("which traffic", choices=("PREROUTING", "OUTPUT"))
    dst: str = arg("the published address", "ipv4")
    port: int = arg("the published port", "port")
    to: str = arg("where it must arrive", "ip_port")
    ns: str = arg("the namespace that publishes", "ns", default="host")
    src: str | None = arg(
        "the client namespace, instead of the default", "ns", key="from", default=None
    )


@dataclass(frozen=True)
class Http(Spec):
    KIND = "http"
    GROUP = "probe"
    PASSES = (
        "a TCP handshake with `to:port` from `from` succeeds and reaches `served_by` when "
        "given (no request is sent: the server logs nothing), or fails as `expect` says, "
        "with that diagnosis"
    )
    src: str = arg("the client namespace", "ns", key="from")
    to: str = arg("the server's address", "ipv4")
    port: int = arg("the port", "port")
    expect: str = arg(
        "`ok`, `refused` or `no-answer`", default="ok", choices=("ok", "refused", "no-answer")
    )
    cause: str | None = arg("when failing on purpose: the cause", "cause", default=None)
    served_by: str | None = arg("the namespace the connection must reach", "ns", default=None)


@dataclass(frozen=True)
class RootlessTcp(Spec):
    KIND = "rootless_tcp"
    GROUP = "probe"
    PASSES = (
        "a TCP handshake with `to:port` from the rootless namespace (see `rootless_netns`) "
        "succeeds and its connection is seen arriving in the internet namespace; with "
        "`seen`: every such connection arrives there from the source `seen`"
    )
    to: str = arg("the server's address", "ipv4")
    port: int = arg("the port", "port")
    seen: str | None = arg("the source the internet must see", "ipv4", default=None)


@dataclass(frozen=True)
class RootlessPing(Spec):
    KIND = "rootless_ping"
    GROUP = "probe"
    PASSES = (
        "the rootless namespace has a default route, and an echo to `to` sent from it "
        "without `CAP_NET_RAW` (an ICMP ping socket, as the learner's uid and gid) gets no "
        "reply (the socket is refused, or the echo is lost)"
    )
    to: str = arg("the destination", "ipv4")


# ------------------------------------------------------------ observations


@dataclass(frozen=True)
class Looked(Spec):
    KIND = "looked"
    GROUP = "observe"
    PASSES = (
        "the learner ran (without error) a command that shows `at` of `ns`: `devices` (`ip "
        "link`, `ip addr`, `ifconfig`), `routes` (`ip route`, `route`), `firewall` (`iptables "
        "-L`/`-S`, `iptables-save`, `nft list`), `stack` (all three, in one command or "
        "several; the article's `inspect-net-stack.sh` shows them all); in `ns` itself or "
        "through `nsenter`, `ip netns exec`, `ip -n` (the commands the lab records)"
    )
    ns: str = arg("the namespace looked at", "ns")
    at: str = arg("what was looked at", choices=("devices", "routes", "firewall", "stack"))


@dataclass(frozen=True)
class Pinged(Spec):
    KIND = "pinged"
    GROUP = "observe"
    PASSES = (
        "the learner ran `ping` from `from` naming `to` and it got replies (exit status 0), "
        'or with `no-reply` it got none (status 1, or 2 for "Network is unreachable"); '
        "with `after`: a ping typed after a command that wrote a setting of that name "
        "(`echo 1 > .../ip_forward`, `sysctl -w ...=1`)"
    )
    src: str = arg("the namespace it was sent from", "ns", key="from")
    to: str = arg("the address pinged", "ipv4")
    expect: str = arg("`reply`, or `no-reply`", default="reply", choices=("reply", "no-reply"))
    after: str | None = arg("the name of a setting written before it", default=None)


SPECS: dict[str, type[Spec]] = {
    spec.KIND: spec
    for spec in (
        NetnsExists,
        LinkSpec,
        AddressSpec,
        NoAddress,
        RouteSpec,
        RouteClash,
        IpForward,
        IptablesChain,
        Listening,
        ProcessNetns,
        RootlessNetns,
        PingSpec,
        ArpSpec,
        NatSource,
        Masquerade,
        Dnat,
        Http,
        Looked,
        Pinged,
        RootlessTcp,
        RootlessPing,
    )
}


# ------------------------------------------------------------------ parsing


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(owner: type[Spec]) -> dict[str, Any]:
    """The spec's field types (evaluated once: a course has hundreds of arguments)."""
    if owner not in _HINTS:
        _HINTS[owner] = typing.get_type_hints(owner)
    return _HINTS[owner]


def _want_type(f: dataclasses.Field[Any], owner: type[Spec]) -> type:
    hints = _hints(owner)
    kinds = [t for t in typing.get_args(hints[f.name]) or (hints[f.name],) if t is not type(None)]
    return kinds[0] if kinds else str


def _coerce(key: str, value: Any, f: dataclasses.Field[Any], owner: type[Spec]) -> Any:
    want = _want_type(f, owner)
    shape = f.metadata["shape"]
    if want is bool:
        if not isinstance(value, bool):
            raise SpecError(f"argument {key!r} must be true or false, not {value!r}")
    elif want is int:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
        ):
            raise SpecError(f"argument {key!r} must be a whole number, not {value!r}")
        value = int(value)
    elif not isinstance(value, str) or not value.strip():
        raise SpecError(f"argument {key!r} must be a non-empty string, not {value!r}")
    choices = f.metadata["choices"]
    if choices and value not in choices:
        raise SpecError(
            f"argument {key!r} is {value!r}; it must be one of "
            + ", ".join(repr(c) for c in choices)
        )
    try:
        return SHAPES[shape][0](value)
    except ValueError as exc:
        raise SpecError(
            f"argument {key!r} is {value!r}, not a valid {SHAPES[shape][1]} ({exc})"
        ) from None


def parse(check: str, raw: Mapping[str, Any]) -> Spec:
    """The typed arguments of ``check`` from a milestone's rendered ``args``."""
    spec = SPECS.get(check)
    if spec is None:
        raise SpecError(f"unknown check kind {check!r}; the kinds are: {', '.join(sorted(SPECS))}")
    known = spec.keys()
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise SpecError(
            f"check {check!r} has no argument {unknown[0]!r}; it takes: {', '.join(known)}"
        )
    values = {}
    for key, f in known.items():
        if key not in raw:
            if f.default is dataclasses.MISSING:
                raise SpecError(f"check {check!r} needs the argument {key!r}")
            continue
        values[f.name] = _coerce(key, raw[key], f, spec)
    return spec(**values)


# -------------------------------------------------------------------- docs


def _arg_doc(key: str, f: dataclasses.Field[Any]) -> str:
    shape = f.metadata["shape"]
    what = f.metadata["doc"]
    if f.metadata["choices"]:
        what += " (" + "/".join(f"`{c}`" for c in f.metadata["choices"]) + ")"
    elif shape not in ("text", "bool"):
        what += f" ({SHAPES[shape][1]})"
    if f.default is dataclasses.MISSING:
        return f"`{key}`: {what}"
    default = f.default
    if default is None:
        return f"optional `{key}`: {what}"
    shown = str(default).lower() if isinstance(default, bool) else default
    return f"`{key}` = `{shown}`: {what}"


def markdown() -> str:
    """The check-kind tables of docs/lesson-format.md, from the specs."""
    out = []
    for group, title in (
        ("state", "### State checks (kernel state through netlink and the firewalls)"),
        ("probe", "### Probe checks (real packets, from inside the namespace)"),
        (
            "observe",
            "### Observation checks (what the learner has seen: the commands the lab records)",
        ),
    ):
        out += [title, "", "| check | args | passes when |", "| --- | --- | --- |"]
        for kind, spec in SPECS.items():
            if group != spec.GROUP:
                continue
            args = "; ".join(_arg_doc(k, f) for k, f in spec.keys().items())
            out.append(f"| `{kind}` | {args} | {spec.PASSES} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_doc(text: str) -> str:
    """``text`` (the doc) with its generated section replaced by :func:`markdown`."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{markdown()}{END}{tail}"


def main(argv: list[str]) -> int:
    current = DOC.read_text()
    wanted = render_doc(current)
    if "--write" in argv:
        DOC.write_text(wanted)
        return 0
    if current != wanted:
        print(f"{DOC} is out of date: run python -m checks.specs --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
