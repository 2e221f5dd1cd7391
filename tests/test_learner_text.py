"""No template syntax reaches the learner: every text they can see is rendered.

Titles, goals, hints, lesson texts, milestone titles and demo narration of
every lesson (the real course and the fixture courses) are read the way the
lab shows them; none may still contain ``{{``, ``{%`` or ``}}``. The cause
descriptions (what explanations are made of) are checked too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.causes import CAUSES
from lab.lessons import DEFAULT_LESSONS_DIR, Course, Lesson

ROOT = Path(__file__).resolve().parent.parent
COURSES = [
    DEFAULT_LESSONS_DIR,
    ROOT / "tests" / "fixtures" / "course",
    ROOT / "tests" / "fixtures" / "tui-course",
    ROOT / "tests" / "fixtures" / "grading-course",
]
TEMPLATE_MARKS = ("{{", "{%", "}}")


def visible_texts(lesson: Lesson) -> dict[str, str]:
    """Everything of ``lesson`` a learner can read, by where it is shown."""
    texts = {"title": lesson.title, "goal": lesson.goal, "text": lesson.text()}
    texts.update({f"hint {n}": hint for n, hint in enumerate(lesson.hints, 1)})
    texts.update({f"milestone {m.id}": m.title for m in lesson.milestones})
    for n, step in enumerate(lesson.solution_steps(), 1):
        texts[f"solution step {n}"] = "\n".join((*step.narration, step.command))
    return texts


def leftovers(texts: dict[str, str]) -> list[str]:
    return [
        f"{where}: {text[:80]!r}"
        for where, text in texts.items()
        if any(mark in text for mark in TEMPLATE_MARKS)
    ]


@pytest.mark.parametrize("root", COURSES, ids=lambda p: p.name)
def test_no_template_text_reaches_the_learner(root: Path) -> None:
    found = []
    for lesson in Course(root).lessons:
        found += [f"{lesson.id} {item}" for item in leftovers(visible_texts(lesson))]
    assert found == []


def test_hints_are_rendered_with_the_course_variables() -> None:
    lesson = Course(ROOT / "tests" / "fixtures" / "tui-course").find(1)
    assert lesson.hints[2] == (
        "Enter with `sudo nsenter --net=/var/run/netns/box bash`, then `ip link set lo up`."
    )


def test_the_check_finds_raw_template_text() -> None:
    assert leftovers({"hint 1": "ping {{ ns1 }}", "goal": "{% if x %}", "t": "ok"}) == [
        "hint 1: 'ping {{ ns1 }}'",
        "goal: '{% if x %}'",
    ]


def test_cause_descriptions_hold_no_template_text() -> None:
    assert leftovers(dict(CAUSES)) == []
