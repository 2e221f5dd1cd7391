"""The verdict is the grader's: a submission cannot forge its status, and what an
instructor asks for (exit codes, --out, Gradescope) holds for hostile files too."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT, cnlab
from tests.security.conftest import CLASS, ENV, grade
from tests.test_grading import leftovers

pytestmark = pytest.mark.integration

FORGE = """\
ip netns add alpha
ls /proc/1/fd/ 2>&1 | head -3
for fd in /proc/1/fd/*; do echo "exit 0" > "$fd"; done 2>&1 | head -3
for fd in /proc/1/fd/*; do printf 'exit zz\\njunk\\xff\\n' > "$fd"; done 2>/dev/null
for fd in /proc/1/fd/*; do echo "exit 0" 2>/dev/null > "$fd" && echo "WROTE $fd"; done
sleep 100
"""


def test_submission_cannot_forge_its_status(tmp_path: Path) -> None:
    grades = grade("1", {"forge.sh": FORGE, "correct.sh": (CLASS / "correct.sh").read_text()},
                   tmp_path, timeout=4.0)  # fmt: skip
    forged = grades["forge.sh"]
    assert forged["status"] == "timeout", (forged["status"], forged["reason"], forged["output"])
    assert not forged["passed"] and forged["exit_code"] is None
    assert "Permission denied" in forged["output"]
    assert "WROTE" not in forged["output"]
    # the run as a whole was not broken by the junk
    assert grades["correct.sh"]["passed"]
    assert leftovers(os.getpid()) == {"worlds": [], "cgroups": [], "processes": []}


def test_windows_copy_scores_like_the_original(tmp_path: Path) -> None:
    text = (CLASS / "correct.sh").read_bytes()
    grades = grade("1", {"unix.sh": text, "windows.sh": text.replace(b"\n", b"\r\n")}, tmp_path)
    unix, windows = grades["unix.sh"], grades["windows.sh"]
    assert windows["score"] == unix["score"] == 3.0 and windows["passed"], (windows, unix)
    assert windows["notes"] and "CRLF" in windows["notes"][0]
    assert unix["notes"] == []


def test_fail_under_and_strict_make_exit_codes_a_grade(tmp_path: Path) -> None:
    partial = str(CLASS / "partial.sh")  # 2 of 3 milestones
    assert cnlab("grade", "1", partial, env=ENV, timeout=120).returncode == 0
    under = cnlab("grade", "1", partial, "--fail-under", "3", env=ENV, timeout=120)
    assert under.returncode == 3, under.stderr
    assert cnlab("grade", "1", partial, "--fail-under", "60%", env=ENV).returncode == 0
    assert cnlab("grade", "1", partial, "--strict", env=ENV, timeout=120).returncode == 3
    full = cnlab("grade", "1", str(CLASS / "correct.sh"), "--strict", env=ENV, timeout=120)
    assert full.returncode == 0, full.stderr


@pytest.mark.parametrize("kind", ["missing", "empty", "binary"])
def test_gradescope_always_writes_results(tmp_path: Path, kind: str) -> None:
    sub = tmp_path / "commands.sh"
    if kind == "empty":
        sub.write_text("\n")
    elif kind == "binary":
        sub.write_bytes(b"\x7fELF\x02\x01\x01\x00")
    results = tmp_path / "results.json"
    done = cnlab("grade", "1", str(sub), "--format", "gradescope", "--out", str(results), env=ENV)
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    assert data["score"] == 0
    assert {"missing": "not found", "empty": "empty", "binary": "binary"}[kind] in data["output"]
    assert [t["score"] for t in data["tests"]] == [0.0, 0.0, 0.0]
    assert "Traceback" not in done.stderr


def test_out_dash_and_a_fifo(tmp_path: Path) -> None:
    sub = str(CLASS / "correct.sh")
    dash = cnlab("grade", "1", sub, "--out", "-", env=ENV, timeout=120)
    assert dash.returncode == 0 and json.loads(dash.stdout)["summary"]["passed"] == 1
    assert not (ROOT / "-").exists()
    fifo = tmp_path / "report"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    done = cnlab("grade", "1", sub, "--out", str(fifo), env=ENV, timeout=120)
    reader.join(timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(got[0])["summary"]["passed"] == 1
    assert fifo.is_fifo()
