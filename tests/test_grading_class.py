"""A class folder for real lessons, graded in one command: every report names the right cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, cnlab, host_fingerprint
from tests.test_grading import orphan_worlds

pytestmark = pytest.mark.integration
FIXTURES = ROOT / "tests" / "fixtures"

# submission -> (passed, causes of its failed milestones)
CLASS_08 = {
    "correct.sh": (True, set()),
    "no-server.sh": (False, {"service-down"}),
    "only-output.sh": (False, {"dnat-missing"}),
    "only-prerouting.sh": (False, {"dnat-local-missing"}),
    "wrong-target.sh": (False, {"dnat-wrong"}),
    "forward-dropped.sh": (False, {"forward-blocked"}),
    "forwarding-off.sh": (False, {"ip-forward-off"}),
    "sleeps-forever.sh": (False, {"service-down", "dnat-missing", "dnat-local-missing"}),
}
CLASS_05 = {
    "correct.sh": (True, set()),
    "no-default-routes.sh": (False, {"gateway-missing"}),
    "gateway-without-address.sh": (False, {"address-missing", "gateway-unreachable"}),
    "unplugged.sh": (False, {"not-bridged"}),
    "cable-down.sh": (False, {"link-down"}),
}


def grade(lesson: str, folder: Path, tmp_path: Path) -> dict[str, dict[str, object]]:
    out = tmp_path / "grades.json"
    run = cnlab(
        "grade",
        lesson,
        str(folder),
        "--timeout",
        "8",
        "--out",
        str(out),
        env={"CNLAB_LESSONS": ""},
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    return {s["name"]: s for s in report["submissions"]}


@pytest.mark.parametrize(
    ("lesson", "folder", "expected"),
    [("8", "class-08", CLASS_08), ("5", "class-05", CLASS_05)],
)
def test_class_folder_of_a_real_lesson(
    lesson: str, folder: str, expected: dict[str, tuple[bool, set[str]]], tmp_path: Path
) -> None:
    before = host_fingerprint()
    graded = grade(lesson, FIXTURES / folder, tmp_path)
    assert set(graded) == set(expected)
    for name, (passed, causes) in expected.items():
        sub = graded[name]
        milestones = sub["milestones"]
        assert isinstance(milestones, list)
        failed = [m for m in milestones if not m["passed"]]
        assert sub["passed"] is passed, (name, failed)
        assert {m["cause"] for m in failed} == causes, (name, failed)
        assert all(m["explanation"] for m in failed), name
    if "sleeps-forever.sh" in graded:
        assert graded["sleeps-forever.sh"]["status"] == "timeout"
    assert host_fingerprint() == before
    assert orphan_worlds() == []  # worlds of runs still going (other tests') aside
