"""The corpus of correct alternatives: other ways to complete lessons 2-8 pass every milestone.

Each ``tests/corpus/alternatives/*.sh`` starts with ``# lesson: ID`` and is what a
learner might type instead of the reference solution, from the lesson's start
state (nftables, iptables-legacy, Docker-style chains, SNAT, interface matches,
``ip -n``, ``ip netns exec``, ``sysctl -w``, DNAT without a port...). Checks
judge what the network does, so every one of them must pass, milestone by milestone
(the observation milestones, met by a learner looking, are not about the network).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checks.engine import check_lesson
from lab.course_run import build_lesson
from lab.lessons import load_course
from lab.world import World
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
CORPUS = ROOT / "tests" / "corpus" / "alternatives"
ALTERNATIVES = sorted(CORPUS.glob("*.sh"))


def lesson_of(script: Path) -> str:
    first = script.read_text().splitlines()[0]
    assert first.startswith("# lesson: "), f"{script.name}: first line must be '# lesson: ID'"
    return first.removeprefix("# lesson: ").strip()


def test_the_corpus_covers_lessons_2_to_8_at_least_15_ways() -> None:
    lessons = {lesson_of(s) for s in ALTERNATIVES}
    course = load_course(ROOT / "lessons")
    assert {course.find(lesson).number for lesson in lessons} == set(range(2, 9))
    assert len(ALTERNATIVES) >= 15


@pytest.mark.parametrize("script", ALTERNATIVES, ids=[s.stem for s in ALTERNATIVES])
def test_an_alternative_passes_every_milestone(
    script: Path, make_world: Callable[..., World]
) -> None:
    lesson = load_course(ROOT / "lessons").find(lesson_of(script))
    world = make_world("alt")
    build_lesson(world, lesson)
    ran = world.run(script.read_text())
    assert ran.returncode == 0, ran.stderr
    report = check_lesson(world, lesson, observe=False)  # the network; nobody looked
    failed = {m.id: (m.cause, m.explanation, m.evidence) for m in report.milestones if not m.passed}
    assert not failed, failed
