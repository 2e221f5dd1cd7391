"""The grading scheduler survives a job whose process dies or hangs.

``multiprocessing.Pool`` waits forever for the task of a worker that died, and
forks replacement workers from a thread. The scheduler forks one child per
submission from a single-threaded parent instead; these tests make one child
die and one hang (by replacing the job itself inside the children) and check
that the others are graded and the lost ones get an ``error`` grade naming why.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lab.grading import runner
from lab.grading.runner import Submission, grade_all, load_submissions
from lab.grading.sandbox import Limits
from lab.lessons import Lesson, load_course
from lab.model import SubmissionGrade
from lab.world import World
from tests.test_grading import COURSE

pytestmark = pytest.mark.integration


def _fake_job(lesson: Lesson, sub: Submission, run_id: int, limits: Limits) -> SubmissionGrade:
    """Stands in for grade_one inside the forked children: dies, hangs or grades."""
    if sub.name.startswith("dies"):
        os._exit(9)
    if sub.name.startswith("hangs"):
        time.sleep(3600)
    world = World(runner.world_name(run_id, sub.index))
    return runner._grade(lesson, sub, world, None, None, "graded by the stand-in", {})


def test_a_dead_or_hung_job_costs_only_its_own_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNLAB_LESSONS", str(COURSE))
    monkeypatch.setattr(runner, "grade_one", _fake_job)
    monkeypatch.setattr(runner, "JOB_GRACE_S", 2.0)
    for name in ("a.sh", "dies.sh", "hangs.sh", "b.sh", "c.sh"):
        (tmp_path / name).write_text("true\n")
    subs = load_submissions([str(tmp_path)])
    run = grade_all(load_course().find("1"), subs, jobs=2, limits=Limits(timeout=1.0))
    by_name = {g.name: g for g in run.grades}
    assert [g.name for g in run.grades] == [s.name for s in subs]  # input order
    assert {n: g.reason for n, g in by_name.items() if n[0] in "abc"} == dict.fromkeys(
        ("a.sh", "b.sh", "c.sh"), "graded by the stand-in"
    )
    assert by_name["dies.sh"].status == "error"
    assert "ended without a grade (exit 9)" in (by_name["dies.sh"].reason or "")
    assert by_name["hangs.sh"].status == "error"
    assert "did not finish in time" in (by_name["hangs.sh"].reason or "")
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _is_child(int(p))]


def _is_child(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid()
