"""Attempts: which milestones a learner has tried, from the commands typed (pure)."""

from __future__ import annotations

from pathlib import Path

from lab.lessons import DEFAULT_LESSONS_DIR, load_course
from lab.model import LessonReport
from lab.tui.attempts import attempted
from lab.tui.milestones import milestones_text
from lab.tui.session import Session

COURSE = load_course(DEFAULT_LESSONS_DIR)


def test_looking_around_is_not_an_attempt_but_making_is() -> None:
    lesson = COURSE.find("1")
    ms = lesson.network_milestones
    assert attempted(ms, []) == set()
    assert attempted(ms, ["ip link", "ip route", "ip netns"]) == set()
    assert attempted(ms, ["sudo ip netns add netns0"]) == {"netns0-exists"}
    assert attempted(ms, ["sudo ip netns add netsn0"]) == {"netns0-exists"}  # a typo counts
    assert attempted(ms, ["iptables -N root_ns"]) == {"root-ns-chain", "netns0-own-firewall"}
    assert attempted(ms, ["iptables --list-rules"]) == set()
    # looking is what the observations are about: a look is an attempt of them only
    seen = {"host-stack-seen", "netns0-stack-seen"}
    assert attempted(lesson.milestones, ["ip route"]) == seen
    assert not attempted(lesson.milestones, ["sudo ip netns add netns0"]) & seen


def test_attempts_in_later_lessons() -> None:
    veth = COURSE.find("2").milestones
    got = attempted(veth, ["sudo ip link set veth0 up"])
    assert "veth0-up" in got and "ceth0-address" not in got
    assert "ping-veth0" in attempted(veth, ["ping -c 2 172.18.0.11"])
    forward = COURSE.find("6").milestones
    assert attempted(forward, ["sudo bash -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'"]) == {
        "ip-forward-on"
    }
    assert attempted(forward, ["ping -c 2 -W 1 8.8.8.8"]) == {"no-way-back", "no-way-back-seen"}
    masq = COURSE.find("7").milestones
    rule = "sudo iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE"
    assert "masquerade-rule" in attempted(masq, [rule])


REPORT = LessonReport.from_json(
    {
        "lesson": "01-namespace",
        "passed": False,
        "milestones": [
            {
                "id": "root-ns-chain",
                "passed": False,
                "cause": "state-wrong",
                "explanation": "Create it with `iptables -N ROOT_NS`.",
                "evidence": ["iptables -S in host: -P INPUT ACCEPT"],
            },
            {"id": "netns0-exists", "passed": False, "cause": "netns-missing", "explanation": "x"},
            {"id": "netns0-own-firewall", "passed": False, "cause": "netns-missing"},
        ],
    }
)


def test_the_cause_shows_once_attempted_or_after_a_hint(tmp_path: Path, tui_env: Path) -> None:
    lesson = COURSE.find("1")
    session = Session("attempts", COURSE)
    fresh = str(milestones_text(lesson, REPORT, revealed=session.revealed(lesson)))
    assert "iptables -N ROOT_NS" not in fresh and "state-wrong" not in fresh
    assert "not tried yet" in fresh
    session.record_commands(lesson, ["iptables -N root_ns"])
    tried = str(milestones_text(lesson, REPORT, revealed=session.revealed(lesson)))
    assert "cause: state-wrong" in tried and "Create it with `iptables -N ROOT_NS`." in tried
    other = Session("attempts-hint", COURSE)
    other.use_hint(lesson)
    hinted = str(milestones_text(lesson, REPORT, revealed=other.revealed(lesson)))
    assert "cause: state-wrong" in hinted
