"""Grading at class scale: real worlds, real sandboxes, the real command line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml

from lab import progress
from lab.cli import main as cli_main
from lab.course_run import build_lesson
from lab.lessons import load_course
from lab.world import RUN_ROOT, World
from tests.conftest import ROOT, cnlab, host_fingerprint

pytestmark = pytest.mark.integration

COURSE = ROOT / "tests" / "fixtures" / "grading-course"
CLASS = COURSE / "class-01"
ENV = {"CNLAB_LESSONS": str(COURSE)}


@pytest.fixture
def grading_course(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CNLAB_LESSONS", str(COURSE))
    return COURSE


def leftovers(run_id: int | None = None) -> dict[str, list[str]]:
    """Worlds, cgroups and sandbox processes a grading run could have left behind."""
    prefix = f"grade-{run_id}-" if run_id is not None else "grade-"
    worlds = sorted(p.name for p in RUN_ROOT.glob(f"{prefix}*")) if RUN_ROOT.is_dir() else []
    if run_id is None:  # a grading run still going (another test process's): not a leak
        worlds = [w for w in worlds if not Path(f"/proc/{w.split('-')[1]}").exists()]
    groups = []
    for root in Path("/sys/fs/cgroup").rglob(f"cnlab-{prefix}*"):
        run = root.name.split("-")[2]
        if run_id is None and run.isdigit() and Path(f"/proc/{run}").exists():
            continue  # a grading run still going (another test process's): not a leak
        groups.append(str(root))
    procs = []
    listed = subprocess.run(
        ["pgrep", "-af", f"lab/grading/jail.py.*{prefix}"], capture_output=True, text=True
    ).stdout.splitlines()
    for line in listed:
        owner = re.search(r"grade-(\d+)-", line)
        if run_id is None and owner and Path(f"/proc/{owner.group(1)}").exists():
            continue  # a grading run still going (another test process's): not a leak
        procs.append(line.split()[0])
    return {"worlds": worlds, "cgroups": groups, "processes": procs}


def orphan_worlds() -> list[str]:
    """Grading worlds whose grader is gone: leaked ones. (Worlds of a grading run
    still going, e.g. another test process's, are not counted.)"""
    return [w for w in leftovers()["worlds"] if not Path(f"/proc/{w.split('-')[1]}").exists()]


def grade_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return cnlab("grade", *args, env=ENV, timeout=timeout)


# The documented shape of `cnlab grade --format json` (docs/grading.md): key -> type.
MILESTONE_SHAPE = {
    "id": str,
    "title": str,
    "passed": bool,
    "points": float,
    "max_points": float,
    "cause": (str, type(None)),
    "explanation": str,
    "evidence": list,
}
SUBMISSION_SHAPE = {
    "submission": str,
    "name": str,
    "world": str,
    "status": str,
    "reason": (str, type(None)),
    "passed": bool,
    "score": float,
    "max_score": float,
    "milestones": list,
    "exit_code": (int, type(None)),
    "output": str,
    "output_bytes": int,
    "output_truncated": bool,
    "timing_ms": dict,
    "enforced": dict,
    "notes": list,
    "replay": str,
    "transcript_tail": str,
}
TOP_SHAPE = {
    "format": str,
    "lesson": dict,
    "graded_at": str,
    "settings": dict,
    "summary": dict,
    "submissions": list,
}
STATUSES = {
    "ok",
    "invalid",
    "timeout",
    "output-limit",
    "pid-limit",
    "memory-limit",
    "killed",
    "setup-failed",
    "error",
}


def check_shape(data: dict[str, Any], shape: dict[str, Any], where: str) -> None:
    assert set(data) == set(shape), f"{where}: keys {sorted(data)} != {sorted(shape)}"
    for key, kind in shape.items():
        assert isinstance(data[key], kind), f"{where}.{key}: {type(data[key]).__name__}"


def validate_report(data: dict[str, Any]) -> None:
    check_shape(data, TOP_SHAPE, "report")
    assert data["format"] == "cnlab-grades/1"
    assert {"id", "number", "title", "milestones"} <= set(data["lesson"])
    assert {"submissions", "passed", "mean_score", "max_score", "duration_ms"} <= set(
        data["summary"]
    )
    for i, sub in enumerate(data["submissions"]):
        check_shape(sub, SUBMISSION_SHAPE, f"submissions[{i}]")
        assert sub["status"] in STATUSES
        assert set(sub["timing_ms"]) >= {"world", "start", "submission", "checks", "cleanup"}
        assert sub["score"] == sum(m["points"] for m in sub["milestones"])
        for j, m in enumerate(sub["milestones"]):
            check_shape(m, MILESTONE_SHAPE, f"submissions[{i}].milestones[{j}]")


def write_class(folder: Path) -> Path:
    folder.mkdir()
    for name in ("correct.sh", "partial.sh", "broken.sh"):
        (folder / name).write_bytes((CLASS / name).read_bytes())
    (folder / "flood.sh").write_text("ip netns add alpha\nyes cnlab\n")
    (folder / "sleeper.sh").write_text("ip netns add alpha\nip netns add beta\nsleep 1000\n")
    return folder


def test_class_folder_graded_in_one_command(tmp_path: Path) -> None:
    before = host_fingerprint()
    stale = leftovers()
    klass = write_class(tmp_path / "class")
    out = tmp_path / "grades.json"
    result = grade_cli("1", str(klass), "--jobs", "2", "--timeout", "4", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(out.read_text())
    validate_report(data)
    subs = {s["name"]: s for s in data["submissions"]}
    assert list(subs) == ["broken.sh", "correct.sh", "flood.sh", "partial.sh", "sleeper.sh"]

    correct = subs["correct.sh"]
    assert correct["status"] == "ok" and correct["passed"]
    assert correct["score"] == correct["max_score"] == 3.0
    assert "1 received" in correct["output"]

    partial = subs["partial.sh"]
    assert partial["status"] == "ok" and not partial["passed"]
    assert partial["score"] == 2.0
    ping = next(m for m in partial["milestones"] if m["id"] == "ping")
    assert not ping["passed"] and ping["cause"] and ping["explanation"]

    broken = subs["broken.sh"]
    assert broken["score"] < 2 and not broken["passed"]
    assert 'Object "lnk" is unknown' in broken["output"]
    assert any(m["cause"] == "netns-missing" for m in broken["milestones"])

    flood = subs["flood.sh"]
    assert flood["status"] == "output-limit" and not flood["passed"]
    assert "KiB of output" in flood["reason"]
    assert flood["output_truncated"] and len(flood["output"].encode()) <= 64 * 1024
    assert flood["milestones"][0]["passed"]  # partial credit still counted

    sleeper = subs["sleeper.sh"]
    assert sleeper["status"] == "timeout" and "4 s limit" in sleeper["reason"]
    assert sleeper["score"] == 2.0 and not sleeper["passed"]

    assert data["summary"]["submissions"] == 5 and data["summary"]["passed"] == 1
    assert "graded 5/5" in result.stderr
    assert host_fingerprint() == before
    # nothing new left behind (a machine may hold stale groups of older, killed runs)
    after = leftovers()
    assert {k: sorted(set(after[k]) - set(stale[k])) for k in after} == {
        "worlds": [],
        "cgroups": [],
        "processes": [],
    }


def test_formats_junit_and_gradescope(tmp_path: Path) -> None:
    junit = tmp_path / "grades.xml"
    subs = [str(CLASS / n) for n in ("correct.sh", "partial.sh")]
    result = grade_cli("01-pair", *subs, "--format", "junit", "--out", str(junit))
    assert result.returncode == 0, result.stderr
    xmlschema.validate(
        str(junit), xmlschema.XMLSchema(ROOT / "tests" / "fixtures" / "junit-ant.xsd")
    )
    xml = JUnitXml.fromfile(str(junit))
    suites = list(xml)
    assert [s.name for s in suites] == ["correct.sh", "partial.sh"]
    for suite in suites:
        names = [case.name for case in suite]
        assert names[0] == "(run)" and len(names) == 4  # the run + one per milestone
        assert suite.tests == 4
    partial = suites[1]
    failed = {case.name: case.result for case in partial if case.result}
    assert list(failed) == ["ping: alpha reaches beta (10.77.0.2)"]
    failure = failed["ping: alpha reaches beta (10.77.0.2)"][0]
    assert isinstance(failure, Failure) and not isinstance(failure, Error)
    assert failure.message and failure.type  # message = explanation, type = cause
    assert partial.failures == 1 and suites[0].failures == 0

    one = grade_cli("1", subs[1], "--format", "gradescope")
    assert one.returncode == 0, one.stderr
    results = json.loads(one.stdout)
    assert results["score"] == 2.0
    assert [t["max_score"] for t in results["tests"]] == [1.0, 1.0, 1.0]
    assert [t["score"] for t in results["tests"]] == [1.0, 1.0, 0.0]
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output"}
    assert results["tests"][2]["output"]  # the diagnosis, for the student

    many = grade_cli("1", *subs, "--format", "gradescope")
    wrapped = json.loads(many.stdout)
    assert [s["submission"] for s in wrapped["submissions"]] == ["correct.sh", "partial.sh"]
    assert wrapped["submissions"][0]["results"]["score"] == 3.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: ["9", str(CLASS / "correct.sh")], "unknown lesson '9'"),
        (lambda d: ["1", str(d / "missing.sh")], "missing.sh: submission file not found"),
        (lambda d: ["1", str(d / "bin.sh")], "bin.sh: binary file"),
        (lambda d: ["1", str(d / "huge.sh")], "huge.sh: too big for a submission"),
        (lambda d: ["1", str(d / "latin1.sh")], "latin1.sh: not UTF-8 text"),
        (lambda d: ["1", str(d / "empty")], "empty: folder has no submission files"),
        (lambda d: ["1", str(CLASS / "correct.sh"), "--jobs", "0"], "--jobs must be at least 1"),
        (lambda d: ["1", str(CLASS / "correct.sh"), "--timeout", "0"], "--timeout must be"),
        (lambda d: ["1", str(CLASS / "correct.sh"), "--out", str(d / "no/x")], "does not exist"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, make: Any, message: str) -> None:
    (tmp_path / "bin.sh").write_bytes(b"\x7fELF\x00\x01")
    (tmp_path / "huge.sh").write_text("true\n" * 100_000)
    (tmp_path / "latin1.sh").write_bytes("echo caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty").mkdir()
    result = grade_cli(*make(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert orphan_worlds() == []


def test_export_roundtrip_grades_full_marks(
    tmp_path: Path, grading_course: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(progress, "STATE_ROOT", tmp_path / "state")
    lesson = load_course().find("1")
    prog = progress.load("exp1")
    prog.current = lesson.id
    prog.lesson(lesson.id).commands = [s.command for s in lesson.solution_steps() if s.command]
    progress.save(prog)
    assert cli_main(["--world", "exp1", "export"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# cnlab submission\n# lesson: 01-pair (Two boxes and a cable)\n")
    assert "# world: exp1" in text and "ip netns add alpha\n" in text
    sub = tmp_path / "exported.sh"
    sub.write_text(text)
    result = grade_cli("1", str(sub))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["submissions"][0]["passed"]

    assert cli_main(["--world", "exp1", "export", "2"]) == 1
    assert "no commands recorded for 02-mark" in capsys.readouterr().err


def test_demo_replays_the_solution_with_milestones(make_world: Any, grading_course: Path) -> None:
    world: World = make_world("demo")
    build_lesson(world, load_course().find("1"))
    result = cnlab("--world", world.name, "demo", "1", "--speed", "0", env=ENV)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "# Two empty network stacks." in out
    assert "$ ip netns add alpha" in out
    assert "✔ alpha exists" in out and "✔ alpha reaches beta (10.77.0.2)" in out
    # Nested shell: commands typed after nsenter ran inside alpha, and `exit` came back.
    assert out.index("✔ alpha exists") < out.index("✔ beta exists")
    assert "■ 3/3 milestones of 01-pair" in out
    assert sorted(world.learner_namespaces()) == ["alpha", "beta"]

    gone = cnlab("--world", "no-such-world", "demo", "1", env=ENV)
    assert gone.returncode != 0 and "no world 'no-such-world'" in gone.stderr


def test_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    subs = []
    for n in range(3):
        sub = tmp_path / f"s{n}.sh"
        sub.write_text("ip netns add alpha\nsleep 1000\n")
        subs.append(str(sub))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "grade", "1", *subs, "--timeout", "60", "--jobs", "2"],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(leftovers(proc.pid)["processes"]) < 2:
        time.sleep(0.1)
    assert len(leftovers(proc.pid)["worlds"]) == 2, "two worlds should be running"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert leftovers(proc.pid) == {"worlds": [], "cgroups": [], "processes": []}


def test_grade_all_in_process_one_job(grading_course: Path, tmp_path: Path) -> None:
    from lab.grading.runner import grade_all, load_submissions
    from lab.grading.sandbox import Limits

    lesson = load_course().find("2")
    sub = tmp_path / "mark.sh"
    sub.write_text("sudo iptables -N MARKED\nip netns\n")
    run = grade_all(lesson, load_submissions([str(sub)]), jobs=1, limits=Limits(timeout=10))
    grade = run.grades[0]
    assert grade.passed and grade.score == 2.0, grade.to_json()
    assert "alpha" in grade.output  # the start state was there
    assert leftovers(os.getpid())["worlds"] == []
