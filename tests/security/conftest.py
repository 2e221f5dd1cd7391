"""Attacks on the grader: each test is a submission (or an instructor's mistake)
that once broke a promise of docs/security.md ("Grading"), graded for real."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from lab.grading.runner import grade_all, load_submissions
from lab.grading.sandbox import Limits
from lab.lessons import load_course
from tests.conftest import ROOT

COURSE = ROOT / "tests" / "fixtures" / "grading-course"
CLASS = COURSE / "class-01"
ENV = {"CNLAB_LESSONS": str(COURSE)}


@pytest.fixture(autouse=True)
def grading_course(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CNLAB_LESSONS", str(COURSE))
    return COURSE


def grade(
    lesson: str, scripts: Mapping[str, str | bytes], tmp: Path, jobs: int = 2, **limits: Any
) -> dict[str, dict[str, Any]]:
    """Grade ``scripts`` (name -> content) in-process; name -> the JSON grade."""
    folder = tmp / f"subs-{time.monotonic_ns()}"
    folder.mkdir()
    for name, text in scripts.items():
        data = text.encode() if isinstance(text, str) else text
        (folder / name).write_bytes(data)
    run = grade_all(
        load_course().find(lesson),
        load_submissions([str(folder)]),
        jobs=jobs,
        limits=Limits(**{"timeout": 8.0, **limits}),
    )
    return {g.name: g.to_json() for g in run.grades}
