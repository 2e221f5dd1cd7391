"""Observation milestones: a lesson completes when the learner has *seen* it, not only built it.

Lesson 1 of the real course, typed at a real interactive prompt (lab/typed.py):
building everything is not enough while the learner has looked at nothing; the
article's way of looking (``inspect-net-stack.sh`` on the host, then ``ip``
and ``iptables`` inside ``netns0`` entered by a no-program ``nsenter``) completes it.
A grader, which judges the network a script built, leaves observations out.
One world, one shell: a few seconds.
"""

from __future__ import annotations

import pytest

from checks.engine import check_lesson
from lab import typed
from lab.course_run import build_lesson
from lab.lessons import load_course
from lab.world import World
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def _passed(world: World, lesson_ref: str, observe: bool = True) -> dict[str, bool]:
    lesson = load_course(ROOT / "lessons").find(lesson_ref)
    return {m.id: m.passed for m in check_lesson(world, lesson, observe=observe).milestones}


def test_lesson_one_completes_once_the_learner_has_looked(world: World) -> None:
    lesson = load_course(ROOT / "lessons").find("1")
    build_lesson(world, lesson)
    shell = typed.in_world(world, settle=2.0)
    try:
        # built without looking: the network milestones pass, the observations do not
        shell.type("sudo iptables -N ROOT_NS")
        shell.type("sudo ip netns add netns0")
        report = check_lesson(world, lesson)
        state = {m.id: m for m in report.milestones}
        assert [k for k, m in state.items() if not m.passed] == [
            "host-stack-seen",
            "netns0-stack-seen",
        ]
        assert state["netns0-stack-seen"].cause == "not-seen"
        assert "inside netns0" in state["netns0-stack-seen"].explanation
        # a grader judges only the network: complete without the observations
        graded = check_lesson(world, lesson, observe=False)
        assert graded.passed and [m.id for m in graded.milestones] == [
            "root-ns-chain",
            "netns0-exists",
            "netns0-own-firewall",
        ]

        shell.type("sudo ./inspect-net-stack.sh")  # the article's script, in the home
        assert _passed(world, "1")["host-stack-seen"]
        inner = shell.type("sudo nsenter --net=/var/run/netns/netns0")  # no program
        assert inner.namespace == "netns0"
        shell.type("ip link")
        shell.type("ip route")
        partly = check_lesson(world, lesson)
        seen = next(m for m in partly.milestones if m.id == "netns0-stack-seen")
        assert not seen.passed and "the firewall rules inside netns0" in seen.explanation
        shell.type("iptables --list-rules")
        assert check_lesson(world, lesson).passed
    finally:
        shell.close()


def test_a_ping_seen_failing_is_a_ping_sent_from_there(world: World) -> None:
    """Lesson 3's limbo is seen by a ping from netns1 that got no reply (exit status 1),
    whichever way the learner got into netns1; a ping from elsewhere is not it."""
    lesson = load_course(ROOT / "lessons").find("3")
    build_lesson(world, lesson)
    world.run(lesson.solution_script().split("# The cable is plugged in")[0], check=True)
    shell = typed.in_world(world, settle=2.0)
    try:
        shell.type("ping -c 1 -W 1 172.18.0.21")  # from the host: answered, and not it
        assert not _passed(world, "3")["limbo-seen"]
        out = shell.type("sudo ip netns exec netns1 ping -c 1 -W 1 172.18.0.21")
        assert out.status == 1, out.output
        assert _passed(world, "3")["limbo-seen"]
    finally:
        shell.close()
