"""Commands typed in the wrong namespace: recognise the slip and say where the thing lives.

Every namespace has its own devices and routes, so the commonest mistake of the
whole course is a right command in the wrong shell: ``ip link set ceth0 up`` on
the host after ``ceth0`` was moved into netns0 (``Cannot find device "ceth0"``),
or the containers' ``ip route add default via 172.18.0.1`` typed on the host,
which already has a default route (``File exists``). Some slips do not even fail:
``echo 1 > /proc/sys/net/ipv4/ip_forward`` typed inside netns0 switches on
forwarding *there* (every namespace has its own), and a NAT rule added inside a
container rewrites nothing on the host's way out. The record of what was
typed (:mod:`lab.record`: the command, its namespace, its exit status) and the
world's state now are enough to recognise these and answer with where the
device lives, or which namespace lacks the route. Pure: no kernel, no Textual.
"""

from __future__ import annotations

import ipaddress

from lab.i18n import _
from lab.model import Namespace, WorldState
from lab.record import Line, Ran, commands_of, wrote
from lab.world import HOST_NS, INTERNET_NS

#: ip objects whose commands name a device (``ip link set X``, ``ip addr add A dev X``)
DEVICE_OBJECTS = ("link", "address", "route", "neighbour")


def _ip_parts(ran: Ran) -> tuple[str, str, list[str]] | None:
    """``ip [opts] OBJECT ACTION ARGS``: (object, action, args), objects spelled out."""
    if ran.program != "ip":
        return None
    rest = [w for w in ran.words[1:] if not w.startswith("-")]
    if len(rest) < 2:
        return None
    for full in (*DEVICE_OBJECTS, "netns"):
        if full.startswith(rest[0]):
            return full, rest[1], rest[2:]
    return None


def _device(obj: str, action: str, args: list[str]) -> str | None:
    """The device a command names: after ``dev``, or ``ip link set|del NAME``."""
    if "dev" in args[:-1]:
        return args[args.index("dev") + 1]
    if obj == "link" and action in ("set", "delete", "del", "show") and args:
        return args[0]
    return None


def _enter(ns: str) -> str:
    """How to get a shell whose network is ``ns`` (a sentence)."""
    if ns == HOST_NS:
        return _("Type `exit` to get back to the host's shell.")
    return _(
        "Enter it with `sudo nsenter --net=/var/run/netns/{ns}` (or prefix `ip -n {ns}`)."
    ).format(ns=ns)


def _where(ns: str) -> str:
    return _("on the host") if ns == HOST_NS else _("in {ns}").format(ns=ns)


def _name(ns: str) -> str:
    return _("the host") if ns == HOST_NS else ns


def _missing_device(ran: Ran, state: WorldState, device: str) -> str | None:
    here = state.ns(ran.ns)
    if here is None or here.link(device) is not None:
        return None
    elsewhere = [n for n, _link in state.find_link(device) if n not in (ran.ns, INTERNET_NS)]
    if not elsewhere:
        return None
    there = elsewhere[0]
    words = list(ran.words)
    if "netns" in words[:-1] and words[words.index("netns") + 1] == there:
        return _(
            "{device} already lives in {there}: it was moved there before, and a device moved "
            "into another namespace leaves {here}'s list. Nothing to redo: configure it from "
            "inside. {enter}"
        ).format(device=device, there=there, here=_name(ran.ns), enter=_enter(there))
    return _(
        "{device} is not {where}: it lives {there}, so this shell cannot find it. Run the "
        "command there. {enter}"
    ).format(device=device, where=_where(ran.ns), there=_where(there), enter=_enter(there))


def _on_link(ns: Namespace, gateway: str) -> bool:
    try:
        address = ipaddress.IPv4Address(gateway)
    except ValueError:
        return False
    return any(r.dst != "default" and r.gateway is None and address in r.network for r in ns.routes)


def _route_elsewhere(ran: Ran, state: WorldState, args: list[str]) -> str | None:
    """A route that failed here ("File exists", "Nexthop has invalid gateway") and
    belongs to a namespace that can reach its gateway and lacks such a route."""
    if not args or "via" not in args[:-1]:
        return None
    dst, gateway = args[0], args[args.index("via") + 1]
    here = state.ns(ran.ns)
    if here is None:
        return None
    has_it = any(r.dst == dst for r in here.routes)
    if _on_link(here, gateway) and not has_it:
        return None  # the gateway is reachable here and nothing clashes: not this slip
    fits = [
        name
        for name, ns in state.namespaces.items()
        if name not in (ran.ns, INTERNET_NS)
        and _on_link(ns, gateway)
        and not any(r.dst == dst for r in ns.routes)
    ]
    if not fits:
        return None
    if has_it:
        said = _(
            "There already is a {dst} route {where} (`ip route` shows it): this route is for "
            "{ns}, which reaches {gateway} directly and has no {dst} route yet. {enter}"
        )
    else:
        said = _(
            "{gateway} is not on any network {where}: this route is for {ns}, which reaches "
            "{gateway} directly and has no {dst} route yet. {enter}"
        )
    return said.format(
        dst=dst, where=_where(ran.ns), ns=fits[0], gateway=gateway, enter=_enter(fits[0])
    )


def _forwarding_in_a_container(ran: Ran, state: WorldState) -> str | None:
    host = state.ns(HOST_NS)
    if ran.ns in (HOST_NS, INTERNET_NS) or not wrote(ran, "forward") or host is None:
        return None
    if host.ip_forward:
        return None
    return _(
        "That switched forwarding on in {ns}: every namespace has its own ip_forward, and "
        "the router between the containers and the outside is the host. Run it there. {enter}"
    ).format(ns=ran.ns, enter=_enter(HOST_NS))


NAT_TARGETS = ("MASQUERADE", "SNAT", "DNAT")


def _nat_in_a_container(ran: Ran, state: WorldState) -> str | None:
    if ran.ns in (HOST_NS, INTERNET_NS) or ran.status != 0 or ran.program != "iptables":
        return None
    adds = any(w in ("-A", "-I", "--append", "--insert") for w in ran.words)
    if not adds or not any(target in ran.words for target in NAT_TARGETS):
        return None
    return _(
        "That NAT rule went into {ns}'s own firewall, which the containers' traffic to the "
        "outside (and the host's published ports) never meets: the host translates. Add it "
        "there, and delete this one (the same command with -D instead of -A). {enter}"
    ).format(ns=ran.ns, enter=_enter(HOST_NS))


def worth_a_look(line: Line) -> bool:
    """Could ``line`` be a slip? (cheap: decides whether the world is read at all)"""
    for ran in commands_of(line):
        if ran.status not in (0, None) and ran.program == "ip":
            return True
        misplaced = wrote(ran, "forward") or (ran.program == "iptables" and "nat" in ran.words)
        if ran.ns != HOST_NS and ran.status == 0 and misplaced:
            return True
    return False


def explain(ran: Ran, state: WorldState) -> str | None:
    """Help for a command typed in the wrong namespace, or None (not such a slip)."""
    for done_but_misplaced in (_forwarding_in_a_container, _nat_in_a_container):
        said = done_but_misplaced(ran, state)
        if said:
            return said
    if ran.status in (0, None):
        return None
    parts = _ip_parts(ran)
    if parts is None:
        return None
    obj, action, args = parts
    if obj == "route" and action in ("add", "append", "prepend", "a"):
        found = _route_elsewhere(ran, state, args)
        if found:
            return found
    device = _device(obj, action, args)
    if device is not None:
        return _missing_device(ran, state, device)
    return None
