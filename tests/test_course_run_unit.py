"""The engine both faces of the lab share: which lesson is current, what a result records,
and the layering that keeps the command line free of Textual (no root needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lab import progress
from lab.course_run import pick_lesson, record_result
from lab.errors import LabError
from lab.lessons import load_course
from tests.conftest import FIXTURE_COURSE, ROOT

COURSE = load_course(FIXTURE_COURSE)
FIRST, SECOND = COURSE.lessons


def test_asked_for_beats_the_world_which_beats_progress() -> None:
    assert pick_lesson(COURSE, "2", FIRST.id, FIRST.id) is SECOND
    assert pick_lesson(COURSE, None, SECOND.id, FIRST.id) is SECOND
    assert pick_lesson(COURSE, None, None, SECOND.id) is SECOND
    assert pick_lesson(COURSE, None, None, None) is None


def test_a_lesson_removed_since_is_passed_over_but_one_asked_for_is_an_error() -> None:
    assert pick_lesson(COURSE, None, "09-gone", SECOND.id) is SECOND
    assert pick_lesson(COURSE, None, "09-gone", "10-gone") is None
    with pytest.raises(LabError, match="unknown lesson '9'"):
        pick_lesson(COURSE, "9", FIRST.id, None)


def test_recording_only_adds_and_says_when_a_lesson_is_newly_completed() -> None:
    prog = progress.Progress(world="unit")
    assert record_result(prog, FIRST.id, ["a"], completed=False) == (True, False)
    assert record_result(prog, FIRST.id, ["a"], completed=False) == (False, False)
    assert record_result(prog, FIRST.id, ["b"], completed=True) == (True, True)
    assert record_result(prog, FIRST.id, [], completed=True) == (False, False)
    assert prog.lesson(FIRST.id).passed == ["a", "b"]  # nothing earned is removed
    assert prog.lesson(FIRST.id).completed


def test_importing_the_command_line_loads_no_textual() -> None:
    """Only the verb that opens the TUI imports it (a learner's `cnlab check` stays light)."""
    probe = (
        "import sys, lab.cli\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'})\n"
        "      + sorted(m for m in sys.modules if m.startswith('lab.tui')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"
