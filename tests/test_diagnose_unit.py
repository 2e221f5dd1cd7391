"""The tracer is pure logic: hand-made snapshots in, one cause out."""

from __future__ import annotations

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
    assert diag.cause is Cause.UNEXPLAINED and diag.cause == "unexplained" in CAUSES
    assert any("ip route get 172.18.0.21" in item for item in diag.evidence)
    assert any("iptables-save -c" in cmd for cmd in diag.look_further)
    assert any("nft list ruleset" in cmd for cmd in diag.look_further)
