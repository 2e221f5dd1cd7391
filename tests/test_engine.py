"""The engine on the tiny fixture course: reports, progress, the check server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from checks.engine import check_lesson
from lab import priority
from lab.course_run import build_lesson
from lab.lessons import Course
from lab.world import World
from tests.conftest import FIXTURE_COURSE, ROOT

pytestmark = pytest.mark.integration


def test_start_fails_solution_passes_with_every_milestone_judged(world: World) -> None:
    course = Course(FIXTURE_COURSE)
    lesson = course.find(1)
    build_lesson(world, lesson)
    before = check_lesson(world, lesson)
    assert [m.passed for m in before.milestones] == [False, False, False]
    assert before.first_failure is before.milestones[0]
    world.run(lesson.solution_script(), check=True)
    after = check_lesson(world, lesson)
    assert after.passed
    assert after.to_json()["milestones"][2]["evidence"][0].startswith(
        "ping from box to 192.168.7.1: reply from 192.168.7.1 in"
    )


def test_unknown_check_kind_is_a_lesson_error_naming_file_and_milestone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from lab.errors import LabError

    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    toml = root / "02-outside" / "lesson.toml"
    toml.write_text(toml.read_text().replace('check = "ping"', 'check = "teleport"'))
    with pytest.raises(LabError) as caught:
        Course(root).find(2)
    assert str(toml) in caught.value.message
    assert "unknown check kind 'teleport'" in caught.value.message


def test_check_server_protocol(world: World) -> None:
    build_lesson(world, Course(FIXTURE_COURSE).find(2))
    proc = subprocess.run(
        [sys.executable, "-m", "checks.server", "--world", world.name],
        input='{"op":"check","lesson":"2"}\n{"op":"state"}\nnot json\n{"op":"check","lesson":"9"}\n'
        '{"op":"ping"}\n',
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"CNLAB_LESSONS": str(FIXTURE_COURSE), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        timeout=60,
        check=True,
    )
    check, state, bad, unknown, ping = (json.loads(line) for line in proc.stdout.splitlines())
    assert check["report"]["milestones"][0]["cause"] == "gateway-missing"
    assert set(state["state"]["namespaces"]) == {"host", "internet", "box"}
    assert bad["error"].startswith("bad request")
    assert unknown["error"].startswith("unknown lesson '9'")
    # root: the server the learner waits for runs ahead of a busy machine's other work
    assert ping["nice"] == min(priority.NICE, os.getpriority(os.PRIO_PROCESS, 0))


def test_the_check_server_never_asks_for_a_worse_priority() -> None:
    now = os.getpriority(os.PRIO_PROCESS, 0)
    assert priority.raise_priority(min(now + 5, 19)) == now
    assert os.getpriority(os.PRIO_PROCESS, 0) == now
