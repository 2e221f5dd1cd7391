"""Every correct alternative way (tests/corpus/alternatives) gets full marks from the grader.

The sandbox takes a lot away (an allow-list of the machine, a read-only root,
fewer capabilities, seccomp); a correct submission must not notice. Each
alternative is graded as a student's file would be, in its own world, from its
lesson's start state: a fence that fails working networks is the worst bug.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from lab.grading.runner import grade_all, load_submissions
from lab.grading.sandbox import Limits
from lab.lessons import load_course
from tests.conftest import ROOT
from tests.test_alternatives import ALTERNATIVES, lesson_of
from tests.test_grading import leftovers

pytestmark = pytest.mark.integration


def test_every_alternative_scores_full_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNLAB_LESSONS", str(ROOT / "lessons"))
    course = load_course(ROOT / "lessons")
    failures: dict[str, object] = {}
    by_lesson = itertools.groupby(sorted(ALTERNATIVES, key=lesson_of), key=lesson_of)
    for lesson_id, scripts in by_lesson:
        run = grade_all(
            course.find(lesson_id),
            load_submissions([str(s) for s in scripts]),
            jobs=2,
            limits=Limits(timeout=30),
        )
        for g in run.grades:
            if not g.passed:
                failures[g.name] = (
                    g.status,
                    g.reason,
                    [(m.id, m.cause, m.evidence) for m in g.milestones if not m.passed],
                    g.output[-800:],
                )
    assert not failures, failures
    assert leftovers(os.getpid()) == {"worlds": [], "cgroups": [], "processes": []}


def test_the_corpus_is_there() -> None:
    assert len(ALTERNATIVES) >= 15 and all(isinstance(p, Path) for p in ALTERNATIVES)
