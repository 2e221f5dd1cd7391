"""``cnlab map`` draws the live world: on lesson 5's solution (a bridge br0 with two
namespaces cabled to it) every format shows the namespaces, the veth cables, the bridge
and its ports, the addresses and the routes; lesson 7's solution adds the MASQUERADE rule.
The dot output is checked by Graphviz itself (it makes the SVG), the Mermaid by shape.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from tests.conftest import cnlab, unique_world_name

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def solved() -> Iterator[str]:
    world = unique_world_name("map")
    try:
        for argv in (("reset", "5"), ("solve", "5")):
            done = cnlab(*argv, "--world", world, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
        yield world
    finally:
        cnlab("down", "--world", world)


def _map(world: object, fmt: str) -> str:
    done = cnlab("map", "--world", str(world), "--format", fmt)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_text_map_of_lesson_5(solved: object) -> None:
    text = _map(solved, "text")
    for line in (
        "[netns0]",
        "[netns1]",
        "link  br0 bridge UP 172.18.0.1/16",
        "link  ceth0 veth UP 172.18.0.10/16",
        "route default via 172.18.0.1 dev ceth0",
        "host:veth0 <-> netns0:ceth0",
        "host:veth1 <-> netns1:ceth1",
        "host:br0 <- veth0",
        "host:br0 <- veth1",
    ):
        assert line in text, line
    assert "nat" not in text  # no NAT before lesson 7


def test_mermaid_and_dot_and_svg(solved: object) -> None:
    mermaid = _map(solved, "mermaid")
    assert mermaid.startswith("flowchart LR")
    assert "host_veth0 <-->|veth| netns0_ceth0" in mermaid
    assert "host_veth1 -.-|port| host_br0" in mermaid
    dot = _map(solved, "dot")
    assert "host_veth0 -- netns0_ceth0" in dot and "subgraph cluster_netns1" in dot
    svg = ET.fromstring(_map(solved, "svg"))
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "172.18.0.10/16" in texts and "br0 bridge UP 172.18.0.1/16" in texts


def test_map_shows_nat_after_lesson_7() -> None:
    world = unique_world_name("map")
    try:
        for argv in (("reset", "7"), ("solve", "7")):
            assert cnlab(*argv, "--world", world, timeout=120).returncode == 0
        text = cnlab("map", "--world", world).stdout
        assert "nat   POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE" in text
    finally:
        cnlab("down", "--world", world)


def test_map_of_a_missing_world_is_one_line() -> None:
    done = cnlab("map", "--world", unique_world_name("nomap"))
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
