"""``cnlab trace`` on real worlds: the steps one probe took, asserted as data (not wording).

Each state is built the way a learner would (``cnlab reset N``, ``cnlab solve N``,
``cnlab shell -c``), then one trace runs through the real command line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import cnlab, unique_world_name


@pytest.fixture
def named() -> Iterator[str]:
    name = unique_world_name("trc")
    yield name
    cnlab("--world", name, "down")


def _build(name: str, lesson: str, script: str = "") -> None:
    for argv in (("reset", lesson), ("solve", lesson)):
        done = cnlab("--world", name, *argv, timeout=120)
        assert done.returncode == 0, done.stderr
    if script:
        done = cnlab("--world", name, "shell", "-c", script)
        assert done.returncode == 0, done.stderr


def _trace(name: str, *argv: str) -> dict[str, Any]:
    done = cnlab("--world", name, "trace", *argv, "--json")
    assert done.stdout.strip(), done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == (0 if found["reached"] else 1)
    return found


def _steps(found: dict[str, Any], **want: Any) -> list[dict[str, Any]]:
    return [s for s in found["steps"] if all(s.get(k) == v for k, v in want.items())]


def _index(found: dict[str, Any], **want: Any) -> int:
    for i, step in enumerate(found["steps"]):
        if all(step.get(k) == v for k, v in want.items()):
            return i
    raise AssertionError(f"no step {want} in {found['steps']}")


def test_lesson7_happy_path_there_and_back(named: str) -> None:
    _build(named, "7")
    found = _trace(named, "--from", "netns0", "8.8.8.8")
    assert found["reached"] and found["cause"] is None and found["model_agrees"]
    order = [
        _index(found, ns="netns0", kind="route", out_if="ceth0"),
        _index(found, ns="host", kind="arrive", in_if="br0", seen=True),
        _index(found, ns="host", kind="hook", hook="FORWARD", decision="accept"),
        _index(found, ns="host", kind="nat", decision="MASQUERADE", before="172.18.0.10"),
        _index(found, ns="internet", kind="arrive", in_if="eth0", seen=True),
        _index(found, ns="internet", kind="deliver"),
        _index(found, ns="host", kind="nat", decision="conntrack", reply=True),
        _index(found, ns="netns0", kind="arrive", in_if="ceth0", reply=True, seen=True),
        _index(found, ns="netns0", kind="deliver", reply=True),
    ]
    assert order == sorted(order)
    masq = _steps(found, kind="nat", decision="MASQUERADE")[0]
    assert masq["after"] == "10.0.2.15" and masq["out_if"] == "eth0"
    assert masq["counted"], "the kernel's counter of the MASQUERADE rule moved"
    assert "veth0" in _steps(found, ns="netns0", kind="neighbour")[0]["rule"]
    back = _steps(found, kind="nat", decision="conntrack")[0]
    assert (back["before"], back["after"]) == ("10.0.2.15", "172.18.0.10")
    # UDP asks for no answer: the datagram seen arriving in the internet got there
    datagram = _trace(named, "--from", "netns0", "8.8.8.8:53", "--udp")
    assert datagram["reached"] and datagram["proto"] == "udp"
    assert _steps(datagram, ns="internet", kind="arrive", seen=True)
    assert datagram["steps"][-1]["kind"] == "deliver" and datagram["steps"][-1]["ns"] == "internet"


def test_route_clash_the_reply_leaves_through_veth0(named: str) -> None:
    _build(named, "3")
    found = _trace(named, "--from", "netns1", "172.18.0.21")
    assert not found["reached"] and found["cause"] == "route-clash"
    reply_route = _steps(found, ns="host", kind="route", reply=True)[0]
    assert reply_route["out_if"] == "veth0"
    assert any("veth1" in beaten for beaten in reply_route["beat"])
    assert found["steps"][-1]["kind"] == "drop"
    assert found["steps"][-1]["cause"] == "route-clash"


def test_forwarding_off_stops_at_the_host(named: str) -> None:
    _build(named, "7", "echo 0 > /proc/sys/net/ipv4/ip_forward")
    found = _trace(named, "--from", "netns0", "8.8.8.8")
    assert not found["reached"] and found["cause"] == "ip-forward-off"
    assert _steps(found, ns="host", kind="arrive", in_if="br0", seen=True)
    assert not _steps(found, ns="internet")
    assert found["steps"][-1]["ns"] == "host" and found["steps"][-1]["kind"] == "drop"
    # cnlab check --trace keeps the trace of every failing milestone that sends a packet
    done = cnlab("--world", named, "check", "7", "--trace", "--json")
    report = json.loads(done.stdout)
    failed = [m for m in report["milestones"] if not m["passed"]]
    assert done.returncode == 1 and failed
    for milestone in failed:
        kept = milestone["trace"]
        assert not kept["reached"] and kept["steps"][-1]["kind"] == "drop"
        assert kept["cause"] == milestone["cause"] == "ip-forward-off"
    text = cnlab("--world", named, "check", "7", "--trace").stdout
    assert text.count("trace netns0 -> 8.8.8.8") >= 1
    plain = json.loads(cnlab("--world", named, "check", "7", "--json").stdout)
    assert all("trace" not in m for m in plain["milestones"])


def test_forward_drop_with_br_netfilter(named: str) -> None:
    _build(named, "4", "iptables -P FORWARD DROP")
    found = _trace(named, "--from", "netns0", "netns1")
    assert not found["reached"] and found["cause"] == "forward-blocked"
    bridge = _steps(found, ns="host", kind="bridge")[0]
    assert bridge["br_netfilter"] and (bridge["in_if"], bridge["out_if"]) == ("veth0", "veth1")
    drop = _steps(found, ns="host", kind="hook", hook="FORWARD", decision="drop")[0]
    assert drop["br_netfilter"] and drop["rule"] == "-P FORWARD DROP"
    assert drop["counted"], "the kernel counted the probe on the FORWARD policy"
    assert not _steps(found, ns="netns1", kind="arrive")


@pytest.mark.parametrize(
    ("script", "backend"),
    [
        ("iptables-legacy -P FORWARD DROP", "iptables-legacy"),
        (
            "nft add table inet f && "
            "nft 'add chain inet f gate { type filter hook forward priority 0; policy drop; }'",
            "nftables",
        ),
    ],
    ids=["legacy", "nftables"],
)
def test_forward_drop_names_its_backend(named: str, script: str, backend: str) -> None:
    _build(named, "4", script)
    found = _trace(named, "--from", "netns0", "netns1")
    assert not found["reached"] and found["cause"] == "forward-blocked"
    drop = _steps(found, ns="host", kind="hook", hook="FORWARD", decision="drop")[0]
    assert drop["br_netfilter"] and drop["backend"] == backend


def test_missing_dnat(named: str) -> None:
    _build(named, "8", "iptables -t nat -F PREROUTING")
    found = _trace(named, "--from", "internet", "10.0.2.15:5000")
    assert not found["reached"] and found["cause"] == "dnat-missing"
    assert found["proto"] == "tcp" and found["port"] == 5000
    assert _steps(found, ns="host", kind="arrive", in_if="eth0", seen=True)
    assert not _steps(found, kind="nat", hook="PREROUTING")
    assert not _steps(found, ns="netns0")
    # the host's own connection still passes the nat OUTPUT chain's DNAT, there and back
    local = _trace(named, "10.0.2.15:5000")
    assert local["reached"] and local["src_ns"] == "host"
    dnat = _steps(local, ns="host", kind="nat", hook="OUTPUT")
    assert [(d["before"], d["after"]) for d in dnat] == [("10.0.2.15:5000", "172.18.0.10:5000")]
    assert len(_steps(local, ns="host", kind="hook", hook="OUTPUT")) == 1
    assert _steps(local, ns="netns0", kind="arrive", in_if="ceth0", seen=True)
    back = _steps(local, ns="host", kind="nat", decision="conntrack", reply=True)
    assert back and back[0]["after"] == "10.0.2.15:5000"


def test_input_drop_stops_the_reply_in_the_sender(named: str) -> None:
    _build(named, "7", "ip netns exec netns0 iptables -P INPUT DROP")
    found = _trace(named, "--from", "netns0", "8.8.8.8")
    assert not found["reached"] and found["cause"] == "firewall-blocked"
    drop = _steps(found, ns="netns0", kind="hook", hook="INPUT", decision="drop")[0]
    assert drop["reply"] and drop["rule"] == "-P INPUT DROP"
    assert _steps(found, ns="internet", kind="deliver")
    assert _steps(found, ns="netns0", kind="arrive", reply=True, seen=True)


def test_bad_input_is_one_line_and_a_failure(named: str) -> None:
    _build(named, "2")
    for argv in (["nosuch"], ["8.8.8.8:99999"], ["8.8.8.8:80", "--icmp"], ["x", "--from", "no"]):
        done = cnlab("--world", named, "trace", *argv)
        assert done.returncode != 0 and not done.stdout
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
