"""Commands typed in the wrong namespace (lab/slips.py): pure, from a recorded world state."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from lab import record, slips
from lab.state import WorldState

STATE = (
    Path(__file__).resolve().parent / "fixtures" / "states" / "base-base4-base5-base6-base7.json"
)


def world(without_default_in: tuple[str, ...] = ()) -> WorldState:
    """Lesson 5's end (containers on br0 with default routes), optionally before the
    containers' default routes were added."""
    state = WorldState.from_json(json.loads(STATE.read_text()))
    for name in without_default_in:
        ns = state.namespaces[name]
        routes = tuple(r for r in ns.routes if r.dst != "default")
        state.namespaces[name] = dataclasses.replace(ns, routes=routes)
    return state


def typed(line: str, status: int, ns: str = "host") -> record.Ran:
    return record.commands_of(record.Line(ns, line, status, 0.0))[0]


def test_a_device_of_another_namespace_is_named_where_it_lives() -> None:
    said = slips.explain(typed("sudo ip link set ceth0 up", 1), world())
    assert said is not None
    assert "ceth0 is not on the host: it lives in netns0" in said
    assert "sudo nsenter --net=/var/run/netns/netns0" in said
    addr = slips.explain(typed("ip addr add 172.18.0.10/16 dev ceth0", 1), world())
    assert addr is not None and "lives in netns0" in addr
    again = slips.explain(typed("sudo ip link set ceth0 netns netns0", 1), world())
    assert again is not None and "ceth0 already lives in netns0" in again
    back = slips.explain(typed("ip link set veth0 up", 1, ns="netns0"), world())
    assert back is not None and "lives on the host" in back and "`exit`" in back


def test_the_containers_default_route_typed_on_the_host() -> None:
    state = world(without_default_in=("netns0", "netns1"))
    said = slips.explain(typed("sudo ip route add default via 172.18.0.1", 2), state)
    assert said is not None
    assert "already is a default route" in said and "this route is for netns0" in said
    # once the containers have theirs, it is not this slip
    assert slips.explain(typed("sudo ip route add default via 172.18.0.1", 2), world()) is None


def test_no_help_when_it_worked_or_is_not_a_namespace_slip() -> None:
    assert slips.explain(typed("sudo ip link set ceth0 up", 0), world()) is None
    assert slips.explain(typed("sudo ip link set nosuch up", 1), world()) is None
    assert slips.explain(typed("ping -c1 8.8.8.8", 1), world()) is None
    # run in netns0 through ip netns exec: the device is there, so no slip
    inside = typed("sudo ip netns exec netns0 ip link set ceth0 up", 2)
    assert inside.ns == "netns0" and slips.explain(inside, world()) is None


def test_forwarding_switched_on_inside_a_container() -> None:
    state = world()
    host = dataclasses.replace(state.namespaces["host"], ip_forward=0)
    state.namespaces["host"] = host
    line = record.Line("netns0", "sudo bash -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'", 0, 0)
    assert slips.worth_a_look(line)
    said = slips.explain(record.commands_of(line)[0], state)
    assert said is not None and "forwarding on in netns0" in said and "`exit`" in said
    # on the host it is right; and once the host forwards, nothing to say
    on_host = record.Line("host", "sysctl -w net.ipv4.ip_forward=1", 0, 0)
    assert slips.explain(record.commands_of(on_host)[0], state) is None
    assert slips.explain(record.commands_of(line)[0], world()) is None


def test_a_nat_rule_added_inside_a_container() -> None:
    rule = "sudo iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE"
    inside = record.Line("netns0", rule, 0, 0)
    assert slips.worth_a_look(inside)
    said = slips.explain(record.commands_of(inside)[0], world())
    assert said is not None and "netns0's own firewall" in said and "-D instead of -A" in said
    assert slips.explain(typed(rule, 0), world()) is None  # on the host: right
    assert not slips.worth_a_look(record.Line("host", "ip route", 0, 0))
    assert not slips.worth_a_look(record.Line("netns0", "iptables -S", 0, 0))
