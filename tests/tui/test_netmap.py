"""render_map on hand-made snapshots, written in the JSON shape of WorldState.to_json()."""

from __future__ import annotations

from typing import Any

from lab.model import WorldState
from lab.tui.netmap import clashes, render_map, wires


def snap(data: dict[str, Any]) -> WorldState:
    """The snapshot the check server's JSON gives back."""
    return WorldState.from_json(data)


def link(index: int, name: str, kind: str | None = None, **kw: Any) -> dict[str, Any]:
    base = {
        "index": index,
        "name": name,
        "kind": kind,
        "up": True,
        "carrier": True,
        "mac": "",
        "master": None,
        "peer_index": None,
        "peer_elsewhere": False,
        "addresses": [],
    }
    base.update(kw)
    return base


def route(dst: str, dev: str, gateway: str | None = None) -> dict[str, Any]:
    return {
        "dst": dst,
        "dev": dev,
        "gateway": gateway,
        "proto": "boot",
        "scope": "universe",
        "prefsrc": None,
        "linkdown": False,
    }


def ns(
    name: str,
    links: list[dict[str, Any]],
    routes: list[dict[str, Any]] | None = None,
    ip_forward: int = 0,
    rules: list[dict[str, Any]] | None = None,
    chains: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "links": links,
        "routes": routes or [],
        "ip_forward": ip_forward,
        "firewall": {"policies": {}, "chains": chains or {}, "rules": rules or []},
        "listening": [],
        "bridge_nf_call_iptables": 1,
    }


def article_state() -> dict[str, Any]:
    """Lesson 7 of the article: a bridge, two containers, forwarding and NAT."""
    host = ns(
        "host",
        [
            link(1, "lo", addresses=["127.0.0.1/8"]),
            link(2, "eth0", "veth", addresses=["10.0.2.15/24"], peer_index=2, peer_elsewhere=True),
            link(5, "veth0", "veth", master="br0", peer_index=4, peer_elsewhere=True),
            link(7, "veth1", "veth", master="br0", peer_index=6, peer_elsewhere=True),
            link(8, "br0", "bridge", addresses=["172.18.0.1/16"]),
        ],
        [route("default", "eth0", "10.0.2.2"), route("172.18.0.0/16", "br0")],
        ip_forward=1,
        rules=[
            {
                "table": "nat",
                "chain": "POSTROUTING",
                "text": "-s 172.18.0.0/16 ! -o br0 -j MASQUERADE",
            }
        ],
        chains={"filter": ["ROOT_NS"]},
    )
    inet = ns(
        "internet",
        [link(2, "eth0", "veth", peer_index=2, peer_elsewhere=True, addresses=["10.0.2.2/24"])],
    )
    ns0 = ns(
        "netns0",
        [
            link(1, "lo", up=False, carrier=False),
            link(
                4, "ceth0", "veth", peer_index=5, peer_elsewhere=True, addresses=["172.18.0.10/16"]
            ),
        ],
        [route("default", "ceth0", "172.18.0.1"), route("172.18.0.0/16", "ceth0")],
    )
    ns1 = ns(
        "netns1",
        [
            link(1, "lo"),
            link(
                6, "ceth1", "veth", peer_index=7, peer_elsewhere=True, addresses=["172.18.0.20/16"]
            ),
        ],
        [route("172.18.0.0/16", "ceth1")],
    )
    return {
        "world": "t",
        "taken_at": 1.0,
        "namespaces": {"host": host, "internet": inet, "netns0": ns0, "netns1": ns1},
    }


def test_narrow_map_stacks_boxes_and_fits() -> None:
    lines = render_map(snap(article_state()), 46)
    assert all(len(line) <= 46 for line in lines)
    text = "\n".join(lines)
    assert lines[0].startswith("┌─ host · ip_forward on")
    assert "eth0   UP 10.0.2.15/24 ↔ internet" in text
    assert "veth0  UP ⊂ br0 ↔ netns0:ceth0" in text
    assert "br0    bridge UP 172.18.0.1/16" in text
    assert "ports: veth0, veth1" in text
    assert "default via 10.0.2.2 dev eth0" in text
    assert "nat POSTROUTING: -s 172.18.0.0/16 ! -o br0" in text  # wrapped, not cut
    assert "-j MASQUERADE" in text
    assert "filter chains: ROOT_NS" in text
    assert "lo     DOWN" in text  # netns0's loopback
    assert "ceth0  UP 172.18.0.10/16 ↔ host:veth0" in text
    assert "internet ·" not in text  # the simulated internet has no box
    assert text.index("─ host") < text.index("─ netns0") < text.index("─ netns1")
    assert "veth pairs:" not in text


def test_wide_map_uses_columns_and_lists_wires() -> None:
    lines = render_map(snap(article_state()), 160)
    assert all(len(line) <= 160 for line in lines)
    assert "host" in lines[0] and "netns0" in lines[0] and "netns1" in lines[0]
    assert len(lines) < len(render_map(snap(article_state()), 46))
    assert lines[-1].startswith("veth pairs:")
    assert "host:veth0 ═══ netns0:ceth0" in lines[-1]
    assert "host:veth1 ═══ netns1:ceth1" in lines[-1]


def test_route_clash_is_marked() -> None:
    state = {
        "namespaces": {
            "host": ns(
                "host",
                [
                    link(3, "veth0", "veth", peer_index=2, peer_elsewhere=True),
                    link(5, "veth1", "veth", peer_index=2, peer_elsewhere=True),
                ],
                [
                    route("172.18.0.0/16", "veth0"),
                    route("172.18.0.0/16", "veth1"),
                    route("default", "eth0", "10.0.2.2"),
                ],
            )
        }
    }
    assert clashes(snap(state).namespaces["host"]) == {"172.18.0.0/16"}
    text = "\n".join(render_map(snap(state), 60))
    assert "⚠ 172.18.0.0/16 dev veth0  CLASH" in text
    assert "⚠ 172.18.0.0/16 dev veth1  CLASH" in text
    assert "⚠ 172.18.0.0/16: 2 routes, kernel uses dev veth0" in text
    assert "  default via 10.0.2.2 dev eth0" in text  # not marked


def test_veth_states_and_unknown_peer() -> None:
    state = {
        "namespaces": {
            "host": ns(
                "host",
                [
                    link(
                        3,
                        "veth0",
                        "veth",
                        up=True,
                        carrier=False,
                        peer_index=9,
                        peer_elsewhere=True,
                    )
                ],
            ),
            "netns0": ns(
                "netns0",
                [
                    link(
                        9,
                        "ceth0",
                        "veth",
                        up=False,
                        carrier=False,
                        peer_index=3,
                        peer_elsewhere=True,
                    )
                ],
            ),
        }
    }
    text = "\n".join(render_map(snap(state), 50))
    assert "veth0  NO-CARRIER ↔ netns0:ceth0" in text
    assert "ceth0  DOWN ↔ host:veth0" in text
    assert wires(snap(state)) == ["host:veth0 ═══ netns0:ceth0  (a side is down)"]
    lonely = {
        "namespaces": {
            "host": ns("host", [link(3, "veth9", "veth", peer_index=42, peer_elsewhere=True)])
        }
    }
    assert "↔ ?" in "\n".join(render_map(snap(lonely), 50))
    alone = snap(lonely)
    assert alone.peer("host", alone.namespaces["host"].links[0]) is None


def test_same_namespace_veth_pair_and_empty_state() -> None:
    state = {
        "namespaces": {
            "host": ns(
                "host", [link(3, "a", "veth", peer_index=4), link(4, "b", "veth", peer_index=3)]
            )
        }
    }
    text = "\n".join(render_map(snap(state), 40))
    assert "a      UP ↔ b" in text and "routes: none" in text
    assert render_map(snap({}), 80) == ["(no world state yet)"]
    assert all(len(line) <= 20 for line in render_map(snap(article_state()), 5))
