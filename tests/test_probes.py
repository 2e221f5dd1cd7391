"""Probes travel the learner's path and check who answered (real worlds, real packets)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from checks.engine import check_lesson
from checks.report import LessonReport
from lab.course_run import build_lesson
from lab.lessons import load_course
from lab.world import World
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
LESSONS = ROOT / "lessons"


def _world_at(make_world: Callable[..., World], lesson: str, solved: bool = True) -> World:
    world = make_world("pr")
    found = load_course(LESSONS).find(lesson)
    build_lesson(world, found)
    if solved:
        world.run(found.solution_script(), check=True, record=True)  # as `cnlab solve`
    return world


def _check(world: World, lesson: str) -> LessonReport:
    return check_lesson(world, load_course(LESSONS).find(lesson))


def _failed(report: LessonReport) -> dict[str, str | None]:
    return {m.id: m.cause for m in report.milestones if not m.passed}


def test_ping_replies_pass_the_senders_input_chain(make_world: Callable[..., World]) -> None:
    """GW7 + `-P INPUT DROP` in netns0: a real ping loses every packet, so must the check."""
    world = _world_at(make_world, "07")
    world.run("ip netns exec netns0 iptables -P INPUT DROP", check=True)
    failed = _failed(_check(world, "07"))
    assert failed.get("ns0-internet") == "firewall-blocked"
    assert "ns1-internet" not in failed


def test_the_senders_output_chain_applies_too(make_world: Callable[..., World]) -> None:
    world = _world_at(make_world, "05")
    world.run("ip netns exec netns1 iptables -A OUTPUT -p icmp -j DROP", check=True)
    report = _check(world, "05")
    failed = _failed(report)
    # its echo requests and its echo replies (to the host's ping) both leave through OUTPUT
    assert set(failed) == {"ns1-to-eth0", "host-to-ns1"}
    assert None not in failed.values()
    evidence = next(m.evidence for m in report.milestones if m.id == "ns1-to-eth0")
    assert "Operation not permitted" in evidence[0]


def test_the_answer_must_come_from_the_named_namespace(make_world: Callable[..., World]) -> None:
    """netns1's address ends up on the host: the host pinging it only pings itself."""
    world = _world_at(make_world, "05")
    world.run(
        "ip -n netns1 addr flush dev ceth1\n"
        "ip link add cethx type veth peer name vethx\n"
        "ip addr add 172.18.0.20/16 dev cethx && ip link set cethx up && ip link set vethx up",
        check=True,
    )
    report = _check(world, "05")
    failed = _failed(report)
    assert failed.get("host-to-ns1") == "link-wrong-netns"
    host_to_ns1 = next(m for m in report.milestones if m.id == "host-to-ns1")
    assert "cethx" in host_to_ns1.explanation


def test_a_published_port_must_lead_to_the_container(make_world: Callable[..., World]) -> None:
    """A listener on the host itself answers 10.0.2.15:5000: that is not publishing netns0."""
    world = _world_at(make_world, "08", solved=False)
    world.run(
        "ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &\n"
        "python3 -m http.server --bind 10.0.2.15 5000 >/dev/null 2>&1 &\n"
        "for i in $(seq 50); do ss -ltn | grep -q 10.0.2.15:5000 && "
        "ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done",
        check=True,
    )
    failed = _failed(_check(world, "08"))
    assert failed.get("internet-to-published") == "dnat-missing"
    assert failed.get("host-to-published") == "dnat-local-missing"
    assert "host-to-server" not in failed


def test_http_checks_leave_no_line_in_the_servers_log(make_world: Callable[..., World]) -> None:
    world = _world_at(make_world, "08", solved=False)
    logfile = "http.log"  # in the world's home, the scripts' working directory
    world.run(
        f"ip netns exec netns0 python3 -u -m http.server --bind 172.18.0.10 5000 >{logfile} 2>&1 &\n"
        "iptables -t nat -A PREROUTING -d 10.0.2.15 -p tcp --dport 5000 "
        "-j DNAT --to-destination 172.18.0.10:5000\n"
        "iptables -t nat -A OUTPUT -d 10.0.2.15 -p tcp --dport 5000 "
        "-j DNAT --to-destination 172.18.0.10:5000\n"
        "for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; "
        "sleep 0.1; done",
        check=True,
    )
    report = _check(world, "08")
    assert report.passed, _failed(report)
    logged = world.run(f"cat {logfile}", check=True).stdout
    assert "GET" not in logged and "HTTP/1" not in logged


def _evidence(report: LessonReport, milestone: str) -> str:
    return " | ".join(next(m.evidence for m in report.milestones if m.id == milestone))


def test_the_route_clash_is_seen_not_waited_for(make_world: Callable[..., World]) -> None:
    """The reply's fate is observed (it leaves through veth0), not inferred from silence."""
    world = _world_at(make_world, "03")
    report = _check(world, "03")
    assert report.passed
    assert "out of veth0, where nobody has 172.18.0.20" in _evidence(report, "netns1-limbo")


def test_the_missing_masquerade_is_seen_not_waited_for(make_world: Callable[..., World]) -> None:
    world = _world_at(make_world, "06")
    report = _check(world, "06")
    assert report.passed
    assert "internet, which has no route back to 172.18.0.10" in _evidence(report, "no-way-back")


def test_a_drop_in_the_senders_input_is_seen_where_it_happens(
    make_world: Callable[..., World],
) -> None:
    world = _world_at(make_world, "07")
    world.run("ip netns exec netns0 iptables -P INPUT DROP", check=True)
    report = _check(world, "07")
    assert "netns0's INPUT hook drops it" in _evidence(report, "ns0-internet")


def test_a_connection_is_seen_where_it_dies(make_world: Callable[..., World]) -> None:
    """TCP probes watch too: Docker's FORWARD DROP, and a DNAT to nobody, seen at once."""
    world = _world_at(make_world, "08")
    world.run("iptables -P FORWARD DROP", check=True)
    report = _check(world, "08")
    assert _failed(report).get("internet-to-published") == "forward-blocked"
    assert "host's FORWARD hook drops it" in _evidence(report, "internet-to-published")
    world.run(
        "iptables -P FORWARD ACCEPT; iptables -t nat -F OUTPUT\n"
        "iptables -t nat -A OUTPUT -d 10.0.2.15 -p tcp --dport 5000 "
        "-j DNAT --to-destination 172.18.0.99:5000",
        check=True,
    )
    report = _check(world, "08")
    assert "dnat-output" in _failed(report)
    assert "where nobody has 172.18.0.99" in _evidence(report, "dnat-output")


def test_a_duplicate_address_answering_instead_is_caught(make_world: Callable[..., World]) -> None:
    """netns0 also has netns1's address and wins the host's ARP: netns0 answers, not netns1."""
    world = _world_at(make_world, "05")
    world.run(
        "ip -n netns0 addr add 172.18.0.20/16 dev ceth0\n"
        'mac=$(ip -n netns0 -br link show ceth0 | awk "{print \\$3}")\n'
        "ip neigh replace 172.18.0.20 lladdr $mac dev br0 nud permanent",
        check=True,
    )
    report = _check(world, "05")
    failed = _failed(report)
    assert failed.get("host-to-ns1") == "address-duplicate"
    host_to_ns1 = next(m for m in report.milestones if m.id == "host-to-ns1")
    assert "it arrived in netns0" in host_to_ns1.explanation


def test_dockers_forward_drop_on_a_bridge_is_seen_at_once(make_world: Callable[..., World]) -> None:
    """Bridged frames pass FORWARD under br_netfilter: the probe sees its frame die there."""
    world = _world_at(make_world, "04")
    world.run("iptables -P FORWARD DROP", check=True)
    report = _check(world, "04")
    assert _failed(report).get("ping-0-to-1") == "forward-blocked"
    assert "br_netfilter" in _evidence(report, "ping-0-to-1")
