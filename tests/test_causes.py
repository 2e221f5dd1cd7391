"""Every cause code comes out of a real broken world, with the key evidence.

Each test builds the article's network (or most of it) with plain commands in a
fresh world, breaks one thing, and runs one milestone through the real engine:
real packets, real kernel state, the tracer's diagnosis.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from checks.context import CheckContext
from checks.diagnose import Diagnosis, Tracer
from checks.engine import run_milestone
from checks.report import MilestoneResult
from lab.lessons import Milestone
from lab.state import read_world
from lab.world import World

pytestmark = pytest.mark.integration

CONTAINERS = """
ip netns add netns0; ip netns add netns1
ip link add veth0 type veth peer name ceth0 netns netns0
ip link add veth1 type veth peer name ceth1 netns netns1
ip -n netns0 link set lo up; ip -n netns0 link set ceth0 up
ip -n netns0 addr add 172.18.0.10/16 dev ceth0
ip -n netns1 link set lo up; ip -n netns1 link set ceth1 up
ip -n netns1 addr add 172.18.0.20/16 dev ceth1
"""
BRIDGE = """
ip link add br0 type bridge; ip link set br0 up
ip link set veth0 master br0 up; ip link set veth1 master br0 up
"""
GATEWAY = """
ip addr add 172.18.0.1/16 dev br0
ip -n netns0 route add default via 172.18.0.1
ip -n netns1 route add default via 172.18.0.1
"""
FORWARD = "echo 1 > /proc/sys/net/ipv4/ip_forward\n"
MASQ = "iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE\n"
SERVER = (
    "ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &\n"
    "for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done\n"
)
PUBLISH = (
    "iptables -t nat -A PREROUTING -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000\n"
    "iptables -t nat -A OUTPUT -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000\n"
)
ARTICLE = CONTAINERS + BRIDGE + GATEWAY + FORWARD + MASQ


def judge(world: World, script: str, check: str, **args: Any) -> MilestoneResult:
    world.run(script, check=True, timeout=30)
    return run_milestone(CheckContext(world), Milestone("m", "m", check, args))


def assert_cause(result: MilestoneResult, cause: str, *evidence: str) -> None:
    assert not result.passed
    assert result.cause == cause, (result.cause, result.explanation, result.evidence)
    text = "\n".join(result.evidence)
    for item in evidence:
        assert item in text, (item, result.evidence)


def test_the_full_article_world_passes(world: World) -> None:
    world.run(ARTICLE + SERVER + PUBLISH, check=True, timeout=30)
    ctx = CheckContext(world)
    checks: list[tuple[str, dict[str, object]]] = [
        ("ping", {"from": "netns0", "to": "172.18.0.20"}),
        ("ping", {"from": "netns1", "to": "8.8.8.8"}),
        ("nat_source", {"from": "netns0", "to": "8.8.8.8", "seen": "10.0.2.15"}),
        ("arp", {"from": "netns0", "to": "172.18.0.20"}),
        ("http", {"from": "internet", "to": "10.0.2.15", "port": 5000}),
        ("http", {"from": "host", "to": "10.0.2.15", "port": 5000}),
        ("masquerade", {"source": "172.18.0.0/16"}),
    ]
    for check, args in checks:
        result = run_milestone(ctx, Milestone("m", "m", check, args))
        assert result.passed, (check, args, result.explanation, result.evidence)


def test_netns_missing(world: World) -> None:
    assert_cause(judge(world, "", "ping", **{"from": "netns0", "to": "10.0.2.15"}), "netns-missing")


def test_link_missing_and_wrong_netns(world: World) -> None:
    r = judge(world, "ip netns add netns0", "link", ns="netns0", name="ceth0")
    assert_cause(r, "link-missing")
    r = judge(
        world, "ip link add veth0 type veth peer name ceth0", "link", ns="netns0", name="ceth0"
    )
    assert_cause(r, "link-wrong-netns", "host: has ceth0")


def test_link_down_on_the_peer(world: World) -> None:
    script = CONTAINERS + "ip addr add 172.18.0.11/16 dev veth0\n"  # veth0 left down
    r = judge(world, script, "ping", **{"from": "netns0", "to": "172.18.0.11"})
    assert_cause(r, "link-down")
    assert "veth0 in host, is down" in r.explanation


def test_address_missing(world: World) -> None:
    script = "ip netns add netns0\nip link add veth0 type veth peer name ceth0 netns netns0\n"
    script += "ip link set veth0 up; ip -n netns0 link set ceth0 up\n"
    r = judge(world, script, "ping", **{"from": "netns0", "to": "10.0.2.15"})
    assert_cause(r, "address-missing")


def test_route_missing(world: World) -> None:
    r = judge(world, CONTAINERS, "ping", **{"from": "host", "to": "172.18.0.10"})
    assert_cause(r, "route-missing", "internet: no route to 172.18.0.10 (lost here)")
    r = judge(world, BRIDGE, "ping", **{"from": "host", "to": "172.18.0.10"})
    assert_cause(r, "address-missing", "host: br0 has no IPv4 address")


def test_route_clash_names_the_winner_and_the_limbo(world: World) -> None:
    script = CONTAINERS + (
        "ip link set veth0 up; ip addr add 172.18.0.11/16 dev veth0\n"
        "ip link set veth1 up; ip addr add 172.18.0.21/16 dev veth1\n"
    )
    r = judge(world, script, "ping", **{"from": "netns1", "to": "172.18.0.21"})
    assert_cause(r, "route-clash", "172.18.0.0/16 dev veth1")
    assert "first one (172.18.0.0/16 dev veth0" in r.explanation
    assert "limbo" in r.explanation
    ok = run_milestone(
        CheckContext(world), Milestone("m", "m", "ping", {"from": "netns0", "to": "172.18.0.21"})
    )
    assert ok.passed


def test_not_bridged(world: World) -> None:
    script = CONTAINERS + "ip link add br0 type bridge; ip link set br0 up\n"
    script += "ip link set veth0 master br0 up; ip link set veth1 up\n"
    r = judge(world, script, "ping", **{"from": "netns0", "to": "172.18.0.20"})
    assert_cause(r, "not-bridged", "host: veth1 has no master")


def test_gateway_missing(world: World) -> None:
    r = judge(
        world,
        CONTAINERS + BRIDGE + "ip addr add 172.18.0.1/16 dev br0\n",
        "ping",
        **{"from": "netns0", "to": "10.0.2.15"},
    )
    assert_cause(r, "gateway-missing", "ping from netns0 to 10.0.2.15: Network is unreachable")


def test_gateway_unreachable(world: World) -> None:
    script = CONTAINERS + BRIDGE + "ip -n netns0 route add default via 172.18.0.1\n"
    r = judge(world, script, "ping", **{"from": "netns0", "to": "10.0.2.15"})
    assert_cause(r, "gateway-unreachable", "no neighbour answers ARP for 172.18.0.1")


def test_ip_forward_off(world: World) -> None:
    r = judge(world, CONTAINERS + BRIDGE + GATEWAY, "ping", **{"from": "netns0", "to": "8.8.8.8"})
    assert_cause(r, "ip-forward-off", "host: net.ipv4.ip_forward = 0 (dropped here)")


def test_masquerade_missing(world: World) -> None:
    r = judge(
        world,
        CONTAINERS + BRIDGE + GATEWAY + FORWARD,
        "ping",
        **{"from": "netns0", "to": "8.8.8.8"},
    )
    assert_cause(r, "masquerade-missing")
    assert "172.18.0.10" in r.explanation
    r = run_milestone(
        CheckContext(world),
        Milestone("m", "m", "nat_source", {"from": "netns0", "to": "8.8.8.8", "seen": "10.0.2.15"}),
    )
    assert_cause(r, "masquerade-missing", "with source 172.18.0.10")


def test_forward_blocked(world: World) -> None:
    r = judge(
        world, ARTICLE + "iptables -P FORWARD DROP\n", "ping", **{"from": "netns0", "to": "8.8.8.8"}
    )
    assert_cause(r, "forward-blocked", "host: -P FORWARD DROP")


def test_dnat_missing_and_local_missing(world: World) -> None:
    world.run(ARTICLE + SERVER, check=True, timeout=30)
    ctx = CheckContext(world)
    outside = run_milestone(
        ctx, Milestone("m", "m", "http", {"from": "internet", "to": "10.0.2.15", "port": 5000})
    )
    assert_cause(outside, "dnat-missing", "host: nothing listens on 10.0.2.15:5000")
    local = run_milestone(
        ctx, Milestone("m", "m", "http", {"from": "host", "to": "10.0.2.15", "port": 5000})
    )
    assert_cause(local, "dnat-local-missing")


def test_dnat_wrong(world: World) -> None:
    script = (
        ARTICLE
        + SERVER
        + (
            "iptables -t nat -A PREROUTING -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.20:5000\n"
        )
    )
    r = judge(world, script, "http", **{"from": "internet", "to": "10.0.2.15", "port": 5000})
    assert_cause(r, "dnat-wrong", "host: PREROUTING DNAT 10.0.2.15 -> 172.18.0.20:5000")
    r = run_milestone(
        CheckContext(world),
        Milestone(
            "m",
            "m",
            "dnat",
            {"chain": "PREROUTING", "dst": "10.0.2.15", "port": 5000, "to": "172.18.0.10:5000"},
        ),
    )
    assert_cause(r, "dnat-wrong")


def test_service_down(world: World) -> None:
    r = judge(world, ARTICLE, "http", **{"from": "host", "to": "172.18.0.10", "port": 5000})
    assert_cause(r, "service-down", "netns0: no socket listening on port 5000")


def test_failure_milestone_passes_only_for_the_right_reason(world: World) -> None:
    world.run(CONTAINERS + BRIDGE + GATEWAY, check=True)
    ctx = CheckContext(world)
    right = run_milestone(
        ctx,
        Milestone(
            "m",
            "m",
            "ping",
            {"from": "netns0", "to": "8.8.8.8", "expect": "no-reply", "cause": "ip-forward-off"},
        ),
    )
    assert right.passed
    wrong = run_milestone(
        ctx,
        Milestone(
            "m",
            "m",
            "ping",
            {
                "from": "netns0",
                "to": "8.8.8.8",
                "expect": "no-reply",
                "cause": "masquerade-missing",
            },
        ),
    )
    assert not wrong.passed and wrong.cause == "ip-forward-off"


def test_learner_forms_of_the_same_network_pass(world: World) -> None:
    """Checks judge the network, not the command text."""
    world.run(
        CONTAINERS
        + BRIDGE
        + GATEWAY
        + "sysctl -w net.ipv4.ip_forward=1\n"
        + "iptables -t nat -I POSTROUTING 1 -s 172.18.0.0/16 -o eth0 -j MASQUERADE\n",
        check=True,
    )
    ctx = CheckContext(world)
    for check, args in [
        ("ip_forward", {}),
        ("masquerade", {"source": "172.18.0.0/16"}),
        ("ping", {"from": "netns0", "to": "8.8.8.8"}),
    ]:
        assert run_milestone(ctx, Milestone("m", "m", check, args)).passed, check


def test_a_failing_probe_is_fast(world: World) -> None:
    # a hang guard, not a benchmark (bench/ measures the real figures)
    world.run(CONTAINERS + BRIDGE + GATEWAY, check=True)
    started = time.perf_counter()
    judge(world, "", "ping", **{"from": "netns0", "to": "8.8.8.8"})
    assert time.perf_counter() - started < 3


def test_two_pairs_without_a_bridge_are_not_bridged(world: World) -> None:
    script = CONTAINERS + "ip link set veth0 up; ip link set veth1 up\n"
    r = judge(world, script, "ping", **{"from": "netns0", "to": "172.18.0.20"})
    assert_cause(r, "not-bridged", "host: no bridge; veth0 and veth1 are unconnected")


def test_a_namespace_with_only_lo_lacks_a_link(world: World) -> None:
    r = judge(world, "ip netns add netns0", "ping", **{"from": "netns0", "to": "172.18.0.11"})
    assert_cause(r, "link-missing", "netns0: links are lo")


def test_a_check_right_after_a_failed_one_is_not_fooled_by_stale_arp(world: World) -> None:
    from checks.engine import check_lesson
    from lab.lessons import Course
    from tests.conftest import FIXTURE_COURSE

    lesson = Course(FIXTURE_COURSE).find(1)
    world.run(lesson.solution_script().replace("ip link set v-host up", "true"), check=True)
    assert not check_lesson(world, lesson).passed  # leaves a FAILED neighbour entry behind
    world.run("ip link set v-host up", check=True)
    assert check_lesson(world, lesson).passed


def test_firewall_blocked(world: World) -> None:
    r = judge(
        world,
        ARTICLE + "iptables -P INPUT DROP\n",
        "ping",
        **{"from": "netns0", "to": "172.18.0.1"},
    )
    assert_cause(r, "firewall-blocked", "host: -P INPUT DROP")
    r = judge(
        world,
        "iptables -P INPUT ACCEPT; iptables -A OUTPUT -d 8.8.8.8 -j DROP\n",
        "ping",
        **{"from": "host", "to": "8.8.8.8"},
    )
    assert_cause(r, "firewall-blocked", "host: -A OUTPUT -d 8.8.8.8/32 -j DROP")


# ------------------------------------------------ the kernel's truth, traced

BASE4 = CONTAINERS + BRIDGE
GW7 = ARTICLE


def traced(
    world: World, script: str, src: str, dst: str, proto: str = "icmp", port: int | None = None
) -> Diagnosis | None:
    """The tracer's answer on a real snapshot of the world after ``script`` (no probe)."""
    world.run(script, check=True, timeout=30)
    return Tracer(read_world(world)).trace(src, dst, proto, port)


def test_bridged_frames_meet_forward_through_br_netfilter(world: World) -> None:
    r = judge(
        world,
        BASE4 + "iptables -P FORWARD DROP\n",
        "ping",
        **{"from": "netns0", "to": "172.18.0.20"},
    )
    assert_cause(r, "forward-blocked", "-P FORWARD DROP", "bridge-nf-call-iptables = 1")
    assert "br_netfilter" in r.explanation and "iptables-nft" in r.explanation


def test_per_interface_forwarding_off_names_the_interface(world: World) -> None:
    script = BASE4 + GATEWAY + FORWARD + "sysctl -qw net.ipv4.conf.br0.forwarding=0\n"
    diag = traced(world, script, "netns0", "8.8.8.8")
    assert diag is not None and diag.cause == "ip-forward-off"
    assert "net.ipv4.conf.br0.forwarding = 0" in "\n".join(diag.evidence)
    assert "br0" in diag.explanation


def test_ip_forward_written_in_the_wrong_namespace(world: World) -> None:
    script = (
        BASE4 + GATEWAY + "ip netns exec netns0 sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'\n"
    )
    r = judge(world, script, "ping", **{"from": "netns0", "to": "8.8.8.8"})
    assert_cause(r, "ip-forward-off", "netns0: net.ipv4.ip_forward = 1")
    assert "It is 1 in netns0" in r.explanation and "wrong namespace" in r.explanation


def test_a_slash_32_names_the_prefix_not_the_default_route(world: World) -> None:
    script = (
        "ip netns add netns0\nip link add veth0 type veth peer name ceth0 netns netns0\n"
        "ip link set veth0 up; ip addr add 172.18.0.11/16 dev veth0\n"
        "ip -n netns0 link set lo up; ip -n netns0 link set ceth0 up\n"
        "ip -n netns0 addr add 172.18.0.10/32 dev ceth0\n"
    )
    r = judge(world, script, "ping", **{"from": "netns0", "to": "172.18.0.11"})
    assert_cause(r, "prefix-wrong", "netns0: ceth0 has 172.18.0.10/32; /16 expected")


def test_the_senders_own_input_chain_drops_the_replies(world: World) -> None:
    diag = traced(world, GW7 + "ip netns exec netns0 iptables -P INPUT DROP\n", "netns0", "8.8.8.8")
    assert diag is not None and diag.cause == "firewall-blocked"
    assert "netns0: -P INPUT DROP (iptables-nft)" in diag.evidence


def test_replies_need_their_own_way_through_forward(world: World) -> None:
    script = GW7 + "iptables -P FORWARD DROP\niptables -A FORWARD -i br0 -j ACCEPT\n"
    diag = traced(world, script, "netns0", "8.8.8.8")
    assert diag is not None and diag.cause == "forward-blocked"
    assert "ESTABLISHED" in diag.explanation
    fixed = "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    assert traced(world, fixed, "netns0", "8.8.8.8") is None


def test_legacy_and_nft_are_two_hooks_that_must_both_accept(world: World) -> None:
    script = GW7 + "iptables-legacy -A FORWARD -o eth0 -j DROP\n"
    diag = traced(world, script, "netns0", "8.8.8.8")
    assert diag is not None and diag.cause == "forward-blocked"
    assert "host: -A FORWARD -o eth0 -j DROP (iptables-legacy)" in diag.evidence
    assert "iptables-legacy" in diag.explanation


def test_native_nftables_masquerade_and_drop_are_read(world: World) -> None:
    script = (
        BASE4 + GATEWAY + FORWARD + "nft add table ip nat\n"
        "nft 'add chain ip nat postrouting { type nat hook postrouting priority 100; }'\n"
        "nft add rule ip nat postrouting ip saddr 172.18.0.0/16 oifname != br0 masquerade\n"
    )
    assert traced(world, script, "netns0", "8.8.8.8") is None
    drop = (
        "nft 'add table inet lab'\n"
        "nft 'add chain inet lab myforward { type filter hook forward priority 0; policy drop; }'\n"
    )
    diag = traced(world, drop, "netns0", "8.8.8.8")
    assert diag is not None and diag.cause == "forward-blocked"
    assert "inet lab myforward: policy drop (nftables)" in "\n".join(diag.evidence)


def test_docker_style_chains_publish_the_port(world: World) -> None:
    script = (
        GW7
        + SERVER
        + (
            "iptables -t nat -N DOCKER\n"
            "iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
            "iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n"
            "iptables -t nat -A DOCKER -i br0 -j RETURN\n"
            "iptables -t nat -A DOCKER -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000\n"
            "iptables -P FORWARD DROP\niptables -N DOCKER\n"
            "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "iptables -A FORWARD -o br0 -j DOCKER\niptables -A FORWARD -i br0 -j ACCEPT\n"
            "iptables -A DOCKER -d 172.18.0.10/32 -p tcp --dport 5000 -j ACCEPT\n"
        )
    )
    assert traced(world, script, "internet", "10.0.2.15", "tcp", 5000) is None
    assert traced(world, "", "host", "10.0.2.15", "tcp", 5000) is None
    diag = traced(
        world,
        "iptables -D DOCKER -d 172.18.0.10/32 -p tcp --dport 5000 -j ACCEPT\n",
        "internet",
        "10.0.2.15",
        "tcp",
        5000,
    )
    assert diag is not None and diag.cause == "forward-blocked"


def test_a_rule_the_model_cannot_judge_is_judged_by_the_kernels_counters(world: World) -> None:
    script = BASE4 + "iptables-legacy -A FORWARD -m physdev --physdev-is-bridged -j DROP\n"
    diag = traced(world, script, "netns0", "172.18.0.20")
    assert diag is None  # the model skips the physdev match: it cannot say
    r = judge(world, "", "ping", **{"from": "netns0", "to": "172.18.0.20"})
    assert_cause(r, "forward-blocked", "counted")
    assert (
        "-A FORWARD -m physdev --physdev-is-bridged -j DROP (iptables-legacy) counted"
        in "\n".join(r.evidence)
    )
    assert "kernel's own counters" in r.explanation


def test_a_native_rule_the_model_cannot_judge_is_found_by_tracing_it(world: World) -> None:
    script = CONTAINERS + BRIDGE + "ip netns exec netns1 nft add table ip lab\n"
    script += (
        "ip netns exec netns1 nft 'add chain ip lab in { type filter hook input priority 0; }'\n"
    )
    script += "ip netns exec netns1 nft add rule ip lab in meta length 1-2000 drop\n"
    assert traced(world, script, "netns0", "172.18.0.20") is None  # not modelled: no guess
    r = judge(world, "", "ping", **{"from": "netns0", "to": "172.18.0.20"})
    assert_cause(
        r, "firewall-blocked", "netns1: ip lab in: rule meta length 1-2000 drop (nftables)"
    )
    left = world.run("ip netns exec netns1 nft list tables", check=True).stdout
    assert "cnlab_trace" not in left  # the tracing table is gone again


def test_the_bridge_layer_firewall_is_read(world: World) -> None:
    script = CONTAINERS + BRIDGE + "nft add table bridge lab\n"
    script += (
        "nft 'add chain bridge lab fw { type filter hook forward priority 0; policy drop; }'\n"
    )
    r = judge(world, script, "ping", **{"from": "netns0", "to": "172.18.0.20"})
    assert_cause(r, "forward-blocked", "host: bridge lab fw: policy drop (nftables)")
    assert "bridge-layer firewall" in r.explanation


def test_a_blackhole_route_is_named(world: World) -> None:
    script = CONTAINERS + BRIDGE + "ip -n netns0 route add blackhole 172.18.0.20\n"
    r = judge(world, script, "ping", **{"from": "netns0", "to": "172.18.0.20"})
    assert_cause(r, "route-missing", "netns0: ip route get 172.18.0.20 -> blackhole 172.18.0.20/32")


def test_an_unexplained_loss_says_what_was_checked_and_where_to_look(world: World) -> None:
    script = CONTAINERS + BRIDGE + "ip -n netns0 route add unreachable 172.18.0.20 table 100\n"
    script += "ip -n netns0 rule add to 172.18.0.20 table 100 pref 100\n"  # policy routing
    r = judge(world, script, "ping", **{"from": "netns0", "to": "172.18.0.20"})
    assert r.cause == "unexplained", (r.cause, r.evidence)
    text = "\n".join(r.evidence)
    assert "netns0: ip route get 172.18.0.20" in text
    assert "look further: ip netns exec netns0 ip route get 172.18.0.20" in text


def test_a_snapshot_changes_only_when_the_network_does(world: World) -> None:
    """Counters and learned ARP entries move with every packet: the snapshot leaves them out
    (the TUI re-checks when the snapshot changes; it must not re-check forever)."""
    world.run(GW7, check=True, timeout=30)
    before = read_world(world).to_json()
    world.run("ip netns exec netns0 ping -c 2 -i 0.2 8.8.8.8 >/dev/null", check=True)
    after = read_world(world).to_json()
    before.pop("taken_at")
    after.pop("taken_at")
    assert before == after
    world.run(
        "ip -n netns0 neigh replace 172.18.0.1 lladdr 02:00:00:00:00:01 dev ceth0 nud permanent\n"
    )
    static = read_world(world).namespaces["netns0"].neighbours
    assert [(n.ip, n.state) for n in static] == [("172.18.0.1", "PERMANENT")]
