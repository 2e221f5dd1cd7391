"""A packet's fate from where it was seen: pure logic on hand-built snapshots."""

from __future__ import annotations

from checks.fate import Sighting, judge, next_hop_missing, segment
from lab.rules import Firewall, parse_iptables_save
from lab.state import Link, Namespace, Route, WorldState


def _veth(index: int, name: str, peer: int, addr: str | None = None, **kw: object) -> Link:
    return Link(
        index,
        name,
        "veth",
        True,
        True,
        f"02:00:00:00:00:{index:02x}",
        peer_index=peer,
        peer_elsewhere=True,
        addresses=(addr,) if addr else (),
        **kw,  # type: ignore[arg-type]
    )


def _ns(name: str, links: list[Link], routes: list[Route], forward: int = 0) -> Namespace:
    lo = Link(1, "lo", None, True, True, "00:00:00:00:00:00", addresses=("127.0.0.1/8",))
    return Namespace(name, (lo, *links), tuple(routes), forward, Firewall())


def clash() -> WorldState:
    """Lesson 3: two host ends in 172.18.0.0/16, the route through veth0 first."""
    host = _ns(
        "host",
        [_veth(10, "veth0", 20, "172.18.0.11/16"), _veth(11, "veth1", 21, "172.18.0.21/16")],
        [Route("172.18.0.0/16", "veth0"), Route("172.18.0.0/16", "veth1")],
    )
    ns0 = _ns(
        "netns0", [_veth(20, "ceth0", 10, "172.18.0.10/16")], [Route("172.18.0.0/16", "ceth0")]
    )
    ns1 = _ns(
        "netns1", [_veth(21, "ceth1", 11, "172.18.0.20/16")], [Route("172.18.0.0/16", "ceth1")]
    )
    return WorldState("w", {"host": host, "netns0": ns0, "netns1": ns1})


def test_the_route_clash_reply_leaves_through_the_wrong_cable() -> None:
    state = clash()
    seen = Sighting("host", "veth1", "in", "172.18.0.20", "172.18.0.21", reply=False)
    fate = judge(state, seen, "netns1")
    assert fate is not None and fate.ns == "host"
    assert "out of veth0, where nobody has 172.18.0.20" in fate.reason


def test_a_request_that_can_be_answered_has_no_fate() -> None:
    state = clash()
    seen = Sighting("host", "veth0", "in", "172.18.0.10", "172.18.0.11", reply=False)
    assert judge(state, seen, "netns0") is None


def test_proxy_arp_on_the_segment_means_no_certainty() -> None:
    state = clash()
    assert next_hop_missing(state, "host", "172.18.0.20") is not None
    assert next_hop_missing(state, "host", "172.18.0.20", frozenset({"netns0"})) is None


def test_a_namespace_that_does_not_forward_ends_the_packet() -> None:
    state = clash()
    seen = Sighting("host", "veth0", "in", "172.18.0.10", "8.8.8.8", reply=False)
    fate = judge(state, seen, "netns0")
    assert fate is not None and "does not forward" in fate.reason


def test_a_link_kind_the_model_does_not_know_gives_no_fate() -> None:
    state = clash()
    odd = Link(30, "mv0", "macvlan", True, True, "02:00:00:00:00:30")
    assert segment(state, "host", odd) is None


def bridged(forward_drop_between_ports: bool) -> WorldState:
    """Lesson 4/5: two containers on br0; the host's FORWARD maybe drops br0 -> br0."""
    rules = "*filter\n:FORWARD ACCEPT [0:0]\n"
    if forward_drop_between_ports:
        rules += "-A FORWARD -i br0 -o br0 -j DROP\n"
    rules += "COMMIT\n"
    host = Namespace(
        "host",
        (
            Link(1, "lo", None, True, True, "00:00:00:00:00:00", addresses=("127.0.0.1/8",)),
            Link(5, "br0", "bridge", True, True, "02:00:00:00:00:05", addresses=("172.18.0.1/16",)),
            _veth(10, "veth0", 20, master="br0"),
            _veth(11, "veth1", 21, master="br0"),
        ),
        (Route("172.18.0.0/16", "br0"),),
        1,
        parse_iptables_save(rules),
        bridge_nf_call_iptables=1,
    )
    ns0 = _ns(
        "netns0", [_veth(20, "ceth0", 10, "172.18.0.10/16")], [Route("172.18.0.0/16", "ceth0")]
    )
    ns1 = _ns(
        "netns1", [_veth(21, "ceth1", 11, "172.18.0.20/16")], [Route("172.18.0.0/16", "ceth1")]
    )
    return WorldState("w", {"host": host, "netns0": ns0, "netns1": ns1})


def test_a_bridged_frame_meets_forward_under_br_netfilter() -> None:
    seen = Sighting("host", "veth0", "other-host", "172.18.0.10", "172.18.0.20", reply=False)
    fate = judge(bridged(True), seen, "netns0")
    assert fate is not None and "br_netfilter" in fate.reason
    assert judge(bridged(False), seen, "netns0") is None


def test_a_frame_for_the_gateway_is_not_judged_as_bridged() -> None:
    """To 8.8.8.8 the frame goes to br0 itself (routed): a br0 -> br0 DROP does not apply."""
    seen = Sighting("host", "veth0", "other-host", "172.18.0.10", "8.8.8.8", reply=False)
    assert judge(bridged(True), seen, "netns0") is None
