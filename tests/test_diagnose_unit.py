"""The tracer is pure logic: hand-made snapshots in, one cause out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checks.diagnose import Tracer, lookup
from lab.state import Firewall, Link, Namespace, Route, WorldState


def ns(name: str, links: list[Link], routes: list[Route], fwd: int = 0) -> Namespace:
    return Namespace(name, tuple(links), tuple(routes), fwd, Firewall())


def veth(
    index: int,
    name: str,
    peer: int,
    addrs: tuple[str, ...] = (),
    up: bool = True,
    master: str | None = None,
) -> Link:
    return Link(index, name, "veth", up, up, "", master, peer, True, addrs)


LO = Link(1, "lo", None, True, True, "", addresses=("127.0.0.1/8",))


def clash_world() -> WorldState:
    host = ns(
        "host",
        [LO, veth(5, "veth0", 2, ("172.18.0.11/16",)), veth(6, "veth1", 2, ("172.18.0.21/16",))],
        [Route("172.18.0.0/16", "veth0"), Route("172.18.0.0/16", "veth1")],
    )
    n0 = ns(
        "netns0", [LO, veth(2, "ceth0", 5, ("172.18.0.10/16",))], [Route("172.18.0.0/16", "ceth0")]
    )
    n1 = ns(
        "netns1", [LO, veth(2, "ceth1", 6, ("172.18.0.20/16",))], [Route("172.18.0.0/16", "ceth1")]
    )
    return WorldState("w", {"host": host, "netns0": n0, "netns1": n1})


def test_lookup_prefers_longest_prefix_then_the_first_route() -> None:
    space = ns(
        "x",
        [LO],
        [
            Route("default", "eth0", "10.0.2.2"),
            Route("10.0.0.0/8", "a"),
            Route("10.0.2.0/24", "b"),
            Route("10.0.2.0/24", "c"),
        ],
    )
    best, twins = lookup(space, "10.0.2.9")
    assert best is not None and best.dev == "b" and [t.dev for t in twins] == ["c"]
    assert lookup(space, "8.8.8.8")[0].dev == "eth0"  # type: ignore[union-attr]


def test_route_clash_puts_netns1_in_limbo() -> None:
    diag = Tracer(clash_world()).trace("netns1", "172.18.0.21")
    assert diag is not None and diag.cause == "route-clash"
    assert "first one (172.18.0.0/16 dev veth0)" in diag.explanation
    assert Tracer(clash_world()).trace("netns0", "172.18.0.21") is None


def test_peer_down_is_link_down() -> None:
    state = clash_world()
    host = state.namespaces["host"]
    down = Namespace(
        "host",
        (LO, veth(5, "veth0", 2, ("172.18.0.11/16",), up=False)),
        (Route("172.18.0.0/16", "veth0"),),
        0,
        Firewall(),
    )
    state = WorldState("w", {**state.namespaces, "host": down})
    diag = Tracer(state).trace("netns0", "172.18.0.11")
    assert diag is not None and diag.cause == "link-down"
    assert host is not down


def test_missing_namespace() -> None:
    diag = Tracer(clash_world()).trace("netns9", "1.2.3.4")
    assert diag is not None and diag.cause == "netns-missing"


def test_a_loss_the_model_cannot_explain_is_named_unexplained_with_where_to_look() -> None:
    from checks.causes import CAUSES, Cause

    state = clash_world()
    assert Tracer(state).trace("netns0", "172.18.0.21") is None  # the model sees a clear path
    diag = Tracer(state).explain("netns0", "172.18.0.21")  # yet a probe was lost
    assert diag.cause is Cause.UNEXPLAINED and str(diag.cause) == "unexplained" in CAUSES
    assert any("ip route get 172.18.0.21" in item for item in diag.evidence)
    assert any("iptables-save -c" in cmd for cmd in diag.look_further)
    assert any("nft list ruleset" in cmd for cmd in diag.look_further)


# ------------------------------------------- recorded worlds, replayed (no root)

STATES = Path(__file__).resolve().parent / "fixtures" / "states"

#: recorded snapshot -> (from, to, proto, port, cause, text the evidence must hold)
REPLAYS: dict[str, tuple[str, str, str, int | None, str, str]] = {
    "l4-docker-forward-drop": (
        "netns0",
        "172.18.0.20",
        "icmp",
        None,
        "forward-blocked",
        "host: -P FORWARD DROP (iptables-nft)",
    ),
    "l6-br0-forwarding-off": (
        "netns0",
        "8.8.8.8",
        "icmp",
        None,
        "ip-forward-off",
        "net.ipv4.conf.br0.forwarding = 0",
    ),
    "l7-netns0-input-drop": (
        "netns0",
        "8.8.8.8",
        "icmp",
        None,
        "firewall-blocked",
        "netns0: -P INPUT DROP (iptables-nft)",
    ),
    "l2-ceth0-slash32": (
        "netns0",
        "172.18.0.11",
        "icmp",
        None,
        "prefix-wrong",
        "ceth0 has 172.18.0.10/32; /16 expected",
    ),
    "l6-forward-in-netns0": (
        "netns0",
        "8.8.8.8",
        "icmp",
        None,
        "ip-forward-off",
        "netns0: net.ipv4.ip_forward = 1",
    ),
    "l4-duplicate-address": (
        "netns1",
        "172.18.0.10",
        "icmp",
        None,
        "address-duplicate",
        "netns1: ceth1 has 172.18.0.10",
    ),
    "l7-forward-no-established": (
        "netns1",
        "8.8.8.8",
        "icmp",
        None,
        "forward-blocked",
        "host: -P FORWARD DROP (iptables-nft)",
    ),
    "l7-legacy-forward-drop": (
        "netns0",
        "8.8.8.8",
        "icmp",
        None,
        "forward-blocked",
        "(iptables-legacy)",
    ),
    "l2-ceth0-never-moved": (
        "host",
        "172.18.0.10",
        "icmp",
        None,
        "link-wrong-netns",
        "host: has both ceth0 and veth0",
    ),
    "l5-bridge-slash32": (
        "host",
        "172.18.0.10",
        "icmp",
        None,
        "prefix-wrong",
        "host: br0 has 172.18.0.1/32; /16 expected",
    ),
    "l8-no-output-dnat": (
        "host",
        "10.0.2.15",
        "tcp",
        5000,
        "dnat-local-missing",
        "host: nothing listens on 10.0.2.15:5000",
    ),
    "l5-gateway-is-a-container": (
        "netns0",
        "10.0.2.15",
        "icmp",
        None,
        "gateway-wrong",
        "netns1: net.ipv4.ip_forward = 0",
    ),
}


def replay(name: str) -> WorldState:
    return WorldState.from_json(json.loads((STATES / f"{name}.json").read_text()))


@pytest.mark.parametrize("name", sorted(REPLAYS))
def test_a_recorded_broken_world_replays_to_its_cause(name: str) -> None:
    src, dst, proto, port, cause, evidence = REPLAYS[name]
    diag = Tracer(replay(name)).trace(src, dst, proto, port)
    assert diag is not None, name
    assert diag.cause == cause, (name, diag)
    assert any(evidence in item for item in diag.evidence), (name, diag.evidence)


def test_the_recorded_working_world_has_clear_paths_both_ways() -> None:
    state = replay("base-base4-base5-base6-base7")
    tracer = Tracer(state)
    for src, dst in [("netns0", "8.8.8.8"), ("netns1", "172.18.0.10"), ("host", "172.18.0.20")]:
        assert tracer.trace(src, dst) is None, (src, dst, tracer.trace(src, dst))
    trail = tracer.last_trail
    assert trail is not None and not trail.uncertain


def test_the_bridged_forward_drop_explains_br_netfilter() -> None:
    diag = Tracer(replay("l4-docker-forward-drop")).trace("netns0", "172.18.0.20")
    assert diag is not None and "br_netfilter" in diag.explanation
    assert "host: net.bridge.bridge-nf-call-iptables = 1" in diag.evidence


def test_the_wrong_namespace_is_named() -> None:
    diag = Tracer(replay("l6-forward-in-netns0")).trace("netns0", "8.8.8.8")
    assert diag is not None and "It is 1 in netns0" in diag.explanation
    assert "wrong namespace" in diag.explanation


def test_the_tracer_replays_as_an_unprivileged_user() -> None:
    """Fork, drop to nobody, trace: the tracer needs no root and no kernel."""
    state = replay("l7-netns0-input-drop")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no privileges from here on
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            diag = Tracer(state).trace("netns0", "8.8.8.8")
            os.write(write_end, f"{os.getuid()} {diag.cause if diag else None}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        answer = fh.read()
    os.waitpid(pid, 0)
    assert answer == "65534 firewall-blocked"


def test_strict_reverse_path_filtering_drops_what_would_be_answered_elsewhere() -> None:
    from dataclasses import replace

    state = replay("base-base4-base5-base6-base7")
    host = state.namespaces["host"]
    no_way_back = tuple(r for r in host.routes if r.dst != "172.18.0.0/16")
    for mode, cause in [(1, "rp-filter"), (0, "route-missing")]:
        changed = replace(host, routes=no_way_back, rp_filter_all=mode)
        world = replace(state, namespaces={**state.namespaces, "host": changed})
        diag = Tracer(world).trace("netns0", "10.0.2.15")
        assert diag is not None and diag.cause == cause, (mode, diag)
    strict = replace(host, routes=no_way_back, rp_filter_all=1)
    diag = Tracer(replace(state, namespaces={**state.namespaces, "host": strict})).trace(
        "netns0", "10.0.2.15"
    )
    assert diag is not None and "rp_filter = 1, strict" in diag.explanation


def test_a_static_arp_entry_with_a_wrong_mac_is_named() -> None:
    from dataclasses import replace

    from lab.state import Neighbour

    state = replay("base-base4-base5-base6-base7")
    ns0 = state.namespaces["netns0"]
    wrong = Neighbour("172.18.0.1", "ceth0", "02:00:00:00:00:01", "PERMANENT")
    broken = replace(
        state, namespaces={**state.namespaces, "netns0": replace(ns0, neighbours=(wrong,))}
    )
    diag = Tracer(broken).trace("netns0", "8.8.8.8")
    assert diag is not None and diag.cause == "neighbour-wrong"
    assert (
        "netns0: ip neigh: 172.18.0.1 dev ceth0 lladdr 02:00:00:00:00:01 PERMANENT" in diag.evidence
    )
    right_mac = state.namespaces["host"].link("br0").mac  # type: ignore[union-attr]
    fine = replace(wrong, mac=right_mac)
    ok = replace(state, namespaces={**state.namespaces, "netns0": replace(ns0, neighbours=(fine,))})
    assert Tracer(ok).trace("netns0", "8.8.8.8") is None


def test_every_cause_is_documented() -> None:
    from checks.causes import Cause

    root = Path(__file__).resolve().parent.parent
    docs = (root / "docs" / "lesson-format.md").read_text()
    readme = (root / "README.md").read_text()
    for cause in Cause:
        assert f"`{cause.value}`" in docs, cause
        assert f"`{cause.value}`" in readme, cause


def test_hairpin_nat_without_masquerade_is_a_packet_coming_home() -> None:
    from dataclasses import replace

    from lab.rules import merge
    from lab.state import parse_iptables_save

    state = replay("base-base4-base5-base6-base7")
    host, ns0 = state.namespaces["host"], state.namespaces["netns0"]
    dnat = parse_iptables_save(
        "*nat\n:PREROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -d 10.0.2.15/32 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000\n"
        "COMMIT\n"
    )
    published = replace(host, firewall=merge([host.firewall, dnat]))
    serving = replace(ns0, listening=(("172.18.0.10", 5000),))
    world = replace(state, namespaces={**state.namespaces, "host": published, "netns0": serving})
    assert Tracer(world).trace("netns1", "10.0.2.15", "tcp", 5000) is None
    diag = Tracer(world).trace("netns0", "10.0.2.15", "tcp", 5000)
    assert diag is not None and diag.cause == "masquerade-missing", diag
    assert "hairpin" in diag.explanation


def test_the_published_port_is_open_from_outside_when_only_output_is_missing() -> None:
    tracer = Tracer(replay("l8-no-output-dnat"))
    assert tracer.trace("internet", "10.0.2.15", "tcp", 5000) is None
    trail = tracer.last_trail
    assert trail is not None and any("PREROUTING DNAT 10.0.2.15" in hop for hop in trail.hops)
