"""The trace's pure parts: the model's steps on a hand-made snapshot, the words, the input."""

from __future__ import annotations

import pytest

from checks.netfilter import Flow
from checks.trace import DELIVER, DROP, NAT, ROUTE, _judged, _short, model, to_text
from lab.cli import _trace_target
from lab.errors import LabError
from lab.model import Step, Trace
from tests.test_diagnose_unit import clash_world


def test_the_clash_is_a_route_that_beat_its_twin_on_the_way_back() -> None:
    steps, found, _ = model(clash_world(), Flow("netns1", "172.18.0.21"))
    assert found is not None and found.cause == "route-clash"
    back = [s for s in steps if s.kind == ROUTE and s.ns == "host" and s.reply]
    assert back and back[0].out_if == "veth0"
    assert back[0].beat == ("172.18.0.0/16 dev veth1",)


def test_a_path_that_works_is_delivered_there_and_back() -> None:
    steps, found, _ = model(clash_world(), Flow("netns0", "172.18.0.11"))
    assert found is None
    assert [s.ns for s in steps if s.kind == DELIVER] == ["host"]
    assert [s.ns for s in steps if s.kind == "arrive"] == ["host", "netns0"]


def test_the_kernels_answer_decides_and_the_last_step_carries_the_cause() -> None:
    state, flow = clash_world(), Flow("netns1", "172.18.0.21", src="172.18.0.20")
    steps, found, trail = model(state, flow)
    lost = {"ok": False, "error": "lost: nobody has 172.18.0.20 on veth0", "fate_ns": "host"}
    judged = _judged(state, flow, "172.18.0.21", steps, found, trail, lost, [])
    assert not judged.reached and judged.model_agrees
    last = judged.steps[-1]
    assert (last.kind, last.ns, last.cause) == (DROP, "host", "route-clash")
    assert last.reason == "lost: nobody has 172.18.0.20 on veth0"
    # the model said "lost" but the reply came: the kernel wins, and the trace says so
    came = _judged(state, flow, "172.18.0.21", steps, found, trail, {"ok": True, "seen": []}, [])
    assert came.reached and not came.model_agrees and came.steps[-1].kind == DELIVER


def test_lines_fit_80_columns() -> None:
    long_rule = "-A POSTROUTING -s 172.18.0.0/16 ! -o br0 -m comment --comment x -j MASQUERADE"
    steps = (
        Step("host", "hook", "accept", long_rule, "iptables-nft", hook="POSTROUTING"),
        Step("host", NAT, "MASQUERADE", before="172.18.0.10", after="10.0.2.15"),
    )
    text = to_text(Trace("netns0", "8.8.8.8", "icmp", None, "8.8.8.8", True, steps))
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "172.18.0.10 -> 10.0.2.15" in text


def test_routes_are_short_as_the_lesson_writes_them() -> None:
    assert _short("10.0.2.0/24 dev eth0 proto kernel scope link src 10.0.2.2") == (
        "10.0.2.0/24 dev eth0"
    )


@pytest.mark.parametrize(
    ("typed", "proto", "want"),
    [
        ("8.8.8.8", None, ("8.8.8.8", "icmp", None)),
        ("10.0.2.15:5000", None, ("10.0.2.15", "tcp", 5000)),
        ("8.8.8.8:53", "udp", ("8.8.8.8", "udp", 53)),
        ("netns1", None, ("netns1", "icmp", None)),
    ],
)
def test_destinations(typed: str, proto: str | None, want: tuple[object, ...]) -> None:
    assert _trace_target(typed, proto) == want


@pytest.mark.parametrize(
    ("typed", "proto"),
    [("8.8.8.8:0", None), ("8.8.8.8:x", None), (":80", None), ("8.8.8.8:80", "icmp"), ("a", "tcp")],
)
def test_bad_destinations_are_one_line(typed: str, proto: str | None) -> None:
    with pytest.raises(LabError):
        _trace_target(typed, proto)
