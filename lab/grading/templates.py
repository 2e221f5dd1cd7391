"""Ready-made set-ups for the graders classes already use: GitHub Classroom and Gradescope.

Both services run every student's work on their own machines, so a class larger than one
machine is graded there, by the same ``cnlab grade`` an instructor runs by hand:

* ``cnlab classroom init LESSON [DIR]`` writes ``DIR/.github/workflows/classroom.yml``:
  check out the student's repository and cnlab, run cnlab's set-up, grade the submission
  once into JSON, then one ``autograding-command-grader`` step per milestone (``jq -e``
  on that milestone's ``passed``), so each milestone is worth its own points and partial
  credit works; the reporter step sends the total to Classroom. A GitHub-hosted runner is
  a full VM with passwordless sudo: the worlds' namespaces can be made there.
* ``cnlab gradescope init LESSON [DIR]`` writes ``setup.sh`` (run once when Gradescope
  builds its Ubuntu image: clone cnlab, run its set-up) and ``run_autograder`` (run for
  each submission: grade the uploaded file, write ``/autograder/results/results.json``).
  A submission that cannot be graded, and even a cnlab that cannot start (a container
  without the privileges worlds need), still gives a results.json with 0 and the reason.

The files are plain text written from the lesson's data (milestone ids and titles): a
lesson added as a folder gets its set-ups with no change here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

from lab.errors import LabError
from lab.lessons import Lesson, load_course

#: The cnlab repository the set-ups fetch when this checkout is not a GitHub clone
#: (``--repo OWNER/NAME`` to name another, e.g. your fork).
DEFAULT_REPO = "cnlab/cnlab"
GITHUB_REMOTE = re.compile(
    r"(?:https://|ssh://git@|git@)github\.com[:/]([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?"
)
SUBMISSION = "submission.sh"
GRADE_JSON = "cnlab-grade.json"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def step_id(index: int) -> str:
    return f"milestone-{index}"


def classroom_workflow(lesson: Lesson, repo: str = DEFAULT_REPO, ref: str = "main") -> str:
    """The GitHub Actions workflow that grades ``submission.sh`` for ``lesson``."""
    grade = (
        f"sudo .cnlab/.venv/bin/cnlab grade {lesson.number} {SUBMISSION} "
        f"--format json --out {GRADE_JSON} || true"
    )
    lines = [
        f"# Grades {SUBMISSION} (what `cnlab export {lesson.number}` gives the student)",
        f"# against lesson {lesson.id}: one test per milestone, one point each.",
        "# Written by `cnlab classroom init`; see docs/grading.md.",
        "name: Autograding Tests",
        "on:",
        "  push:",
        "  workflow_dispatch:",
        "  repository_dispatch:",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-22.04",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Check out the submission",
        "        uses: actions/checkout@v4",
        "      - name: Check out cnlab",
        "        uses: actions/checkout@v4",
        "        with:",
        f"          repository: {_q(repo)}",
        f"          ref: {_q(ref)}",
        "          path: .cnlab",
        "      - name: Set up cnlab (Debian packages and its virtual environment)",
        "        run: sudo .cnlab/scripts/setup.sh",
        "      - name: Grade the submission in a fresh world",
        f"        run: {_q(grade)}",
    ]
    ids = []
    for index, m in enumerate(lesson.network_milestones, start=1):
        sid = step_id(index)
        ids.append(sid)
        check = (
            f"jq -e '.grades[0].milestones[] | select(.id == \"{m.id}\") | .passed' {GRADE_JSON}"
        )
        lines += [
            f"      - name: {_q(f'{lesson.number}.{index} {m.title}')}",
            f"        id: {sid}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f"          test-name: {_q(f'{lesson.number}.{index} {m.title}')}",
            f"          command: {_q(check)}",
            "          timeout: 1",
            "          max-score: 1",
        ]
    lines += [
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *(
            f"          {sid.upper().replace('-', '_')}_RESULTS: "
            f'"${{{{ steps.{sid}.outputs.result }}}}"'
            for sid in ids
        ),
        "        with:",
        f"          runners: {','.join(ids)}",
    ]
    return "\n".join(lines) + "\n"


def gradescope_setup(repo: str = DEFAULT_REPO, ref: str = "main") -> str:
    url = f"https://github.com/{repo}.git"
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's Ubuntu image.
# Written by `cnlab gradescope init`; see docs/grading.md.
set -euo pipefail
apt-get update -q
apt-get install -y -q git
rm -rf /autograder/source/cnlab
git clone --depth 1 --branch {shlex.quote(ref)} {shlex.quote(url)} /autograder/source/cnlab
/autograder/source/cnlab/scripts/setup.sh
"""


def gradescope_run(lesson: Lesson) -> str:
    return f"""#!/usr/bin/env bash
# Gradescope runs this for each submission: grade the uploaded file against lesson
# {lesson.id} and write results.json (one test per milestone, numbered
# {lesson.number}.1, {lesson.number}.2, ...). Written by `cnlab gradescope init`.
# AUTOGRADER_ROOT and CNLAB_BIN change where it looks (the tests use a fake tree).
set -uo pipefail
root=${{AUTOGRADER_ROOT:-/autograder}}
cnlab=${{CNLAB_BIN:-$root/source/cnlab/.venv/bin/cnlab}}
results=$root/results/results.json
mkdir -p "$root/results"
rm -f "$results"

# The submission: {SUBMISSION} if uploaded, else the one file there is (a missing
# one is graded as missing: 0 points and why).
shopt -s nullglob dotglob
files=("$root"/submission/*)
submission=$root/submission/{SUBMISSION}
if [ ! -e "$submission" ] && [ "${{#files[@]}}" -ge 1 ]; then
  submission=${{files[0]}}
fi

"$cnlab" grade {lesson.number} "$submission" --format gradescope --out "$results" \\
  --jobs 1 2> "$root/results/cnlab.log"
status=$?
cat "$root/results/cnlab.log" >&2
if [ ! -s "$results" ]; then
  # cnlab could not grade at all (e.g. a container without the privileges worlds need):
  # the student still sees 0 and the reason, never an autograder failure.
  python3 - "$results" "$root/results/cnlab.log" "$status" <<'PY'
import json, sys
reason = open(sys.argv[2], errors="replace").read().strip().splitlines()
reason = reason[-1] if reason else "cnlab exited with status " + sys.argv[3]
json.dump({{"score": 0, "output": "not graded: " + reason, "tests": []}}, open(sys.argv[1], "w"))
PY
fi
exit 0
"""


def _write(path: Path, text: str, force: bool, mode: int = 0o644) -> None:
    if path.exists() and not force:
        raise LabError(f"{path} exists: not overwritten (--force to replace it)", status=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def github_repo(remote_url: str) -> str | None:
    """``OWNER/NAME`` of a GitHub remote URL (https or ssh form), else None."""
    found = GITHUB_REMOTE.fullmatch(remote_url.strip())
    return found.group(1) if found else None


def checkout_repo() -> str | None:
    """The GitHub repository this cnlab was cloned from (its ``origin``), if any: an
    instructor who works from a fork gets set-ups that fetch that fork."""
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return github_repo(done.stdout) if done.returncode == 0 else None


def _repo(raw: str | None) -> str:
    if raw is None:
        return checkout_repo() or DEFAULT_REPO
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", raw):
        raise LabError(f"--repo wants OWNER/NAME on GitHub (got {raw!r})", status=2)
    return raw


def cmd_classroom(args: argparse.Namespace) -> int:
    lesson = load_course().find(args.lesson)
    folder = Path(args.dir)
    target = folder / ".github" / "workflows" / "classroom.yml"
    repo = _repo(args.repo)
    _write(target, classroom_workflow(lesson, repo, args.ref), args.force)
    starter = folder / SUBMISSION
    if not starter.exists():
        _write(starter, f"# cnlab export {lesson.number} > {SUBMISSION}, then commit it\n", False)
    print(f"wrote {target} ({len(lesson.network_milestones)} milestones, one point each)")
    print(f"it fetches cnlab from github.com/{repo}@{args.ref} (--repo/--ref to change)")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    lesson = load_course().find(args.lesson)
    folder = Path(args.dir)
    repo = _repo(args.repo)
    _write(folder / "setup.sh", gradescope_setup(repo, args.ref), args.force, 0o755)
    _write(folder / "run_autograder", gradescope_run(lesson), args.force, 0o755)
    print(f"wrote {folder / 'setup.sh'} and {folder / 'run_autograder'}: zip them for Gradescope")
    print(f"setup.sh fetches cnlab from github.com/{repo}@{args.ref} (--repo/--ref to change)")
    return 0
