"""The record of what the learner ran (lab/record.py): pure, no root, no kernel."""

from __future__ import annotations

from pathlib import Path

from lab import record


def events(*rows: tuple[str, str, str]) -> str:
    return "".join(f"{n}.0\t{ns}\t{kind}\t{value}\n" for n, (ns, kind, value) in enumerate(rows))


NESTED = events(
    ("host", "cmd", "sudo ./inspect-net-stack.sh"),
    ("host", "done", "0"),
    ("host", "cmd", "sudo nsenter --net=/var/run/netns/netns0"),
    ("netns0", "done", "0"),  # the nested shell's first prompt: it ends nothing
    ("netns0", "cmd", "ip link; ip r"),
    ("netns0", "done", "0"),
    ("netns0", "cmd", "ping -c 2 -W 1 172.18.0.21"),
    ("netns0", "done", "1"),
    ("netns0", "cmd", "exit"),
    ("host", "done", "0"),
)


def test_a_done_ends_the_newest_line_of_its_own_namespace() -> None:
    lines = record.parse_events(NESTED)
    assert [(x.ns, x.text, x.status) for x in lines] == [
        ("host", "sudo ./inspect-net-stack.sh", 0),
        ("host", "sudo nsenter --net=/var/run/netns/netns0", 0),
        ("netns0", "ip link; ip r", 0),
        ("netns0", "ping -c 2 -W 1 172.18.0.21", 1),
        ("netns0", "exit", None),
    ]


def test_a_command_runs_where_its_network_is() -> None:
    cases = {
        "sudo ip netns exec netns1 ping -c1 8.8.8.8": ("netns1", "ping"),
        "ip -n netns1 addr": ("netns1", "ip"),
        "sudo nsenter --net=/var/run/netns/netns0 ip route": ("netns0", "ip"),
        "nsenter --net /run/netns/netns0 -- iptables -S": ("netns0", "iptables"),
        "sudo -E env A=1 ip link": ("host", "ip"),
        "sudo bash -c 'ip netns exec netns0 ip a'": ("netns0", "ip"),
    }
    for line, (ns, program) in cases.items():
        ran = record.commands_of(record.Line("host", line, 0, 0.0))
        assert [(r.ns, r.program) for r in ran] == [(ns, program)], line


def test_a_line_is_split_into_its_commands_and_a_bad_quote_is_kept() -> None:
    ran = record.commands_of(record.Line("host", "ip link && ip route | head; iptables -S", 0, 0))
    assert [r.words[:2] for r in ran] == [
        ("ip", "link"),
        ("ip", "route"),
        ("head",),
        ("iptables", "-S"),
    ]
    broken = record.commands_of(record.Line("host", "echo 'unclosed", 1, 0))
    assert broken[0].words == ("echo", "'unclosed")


def test_what_a_command_shows() -> None:
    def shows(line: str, what: str) -> bool:
        return record.shows(record.commands_of(record.Line("host", line, 0, 0))[0], what)

    for line in ("ip link", "ip l", "ip -c a", "ip addr show dev eth0", "ifconfig", "ip link show"):
        assert shows(line, "devices"), line
    for line in ("ip route", "ip r", "ip ro get 8.8.8.8", "route -n", "netstat -rn"):
        assert shows(line, "routes"), line
    for line in ("iptables -S", "iptables --list-rules", "iptables -t nat -nvL", "iptables-save"):
        assert shows(line, "firewall"), line
    for line in (
        "ip link add veth0 type veth",
        "ip addr add 1.2.3.4/24 dev x",
        "ip route add default",
    ):
        assert not shows(line, "devices") and not shows(line, "routes"), line
    assert not shows("iptables -N ROOT_NS", "firewall")
    assert all(shows("./inspect-net-stack.sh", w) for w in ("devices", "routes", "firewall"))


def test_looking_needs_the_namespace_and_a_command_that_worked() -> None:
    ran = record.parse(NESTED)
    assert record.looked(ran, "netns0", "devices") is not None
    assert record.looked(ran, "netns0", "routes") is not None
    assert record.looked(ran, "netns0", "firewall") is None  # not looked at in there
    assert record.looked(ran, "host", "firewall") is not None  # the article's script
    failed = record.parse(events(("host", "cmd", "ip -n netns9 link"), ("host", "done", "1")))
    assert record.looked(failed, "netns9", "devices") is None


def test_a_ping_seen_answered_or_not() -> None:
    ran = record.parse(NESTED)
    assert record.pinged(ran, "netns0", "172.18.0.21", reply=False) is not None
    assert record.pinged(ran, "netns0", "172.18.0.21", reply=True) is None
    assert record.pinged(ran, "host", "172.18.0.21", reply=False) is None  # not from there
    assert record.pinged(ran, "netns0", "172.18.0.2", reply=False) is None  # another address


def test_after_a_setting_was_written() -> None:
    ran = record.parse(
        events(
            ("netns0", "cmd", "ping -c1 8.8.8.8"),
            ("netns0", "done", "1"),
            ("host", "cmd", "cat /proc/sys/net/ipv4/ip_forward"),  # reading is not writing
            ("host", "done", "0"),
        )
    )
    assert record.pinged(ran, "netns0", "8.8.8.8", False) is not None
    assert record.pinged(ran, "netns0", "8.8.8.8", False, after="ip_forward") is None
    for write in (
        "sudo bash -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'",
        "sysctl -w net.ipv4.ip_forward=1",
        "echo 1 | sudo tee /proc/sys/net/ipv4/ip_forward",
    ):
        later = record.parse(
            events(
                ("netns0", "cmd", "ping -c1 8.8.8.8"),
                ("netns0", "done", "1"),
                ("host", "cmd", write),
                ("host", "done", "0"),
                ("host", "cmd", "ip netns exec netns0 ping -c1 8.8.8.8"),
                ("host", "done", "1"),
            )
        )
        assert record.pinged(later, "netns0", "8.8.8.8", False, after="ip_forward"), write


def test_a_lesson_kept_in_the_same_world_starts_its_own_record(tmp_path: Path) -> None:
    path = tmp_path / "events"
    path.write_text(NESTED)
    assert record.looked(record.read(path), "netns0", "devices") is not None
    record.mark_lesson(path, "02-veth")
    assert record.read(path) == []
    with open(path, "a") as fh:
        fh.write(events(("netns0", "cmd", "ip link"), ("netns0", "done", "0")))
    assert [r.words for r in record.read(path)] == [("ip", "link")]
