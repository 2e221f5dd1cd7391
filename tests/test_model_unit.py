"""The shared result model (lab/model.py): every type survives JSON, in the shape published.

Pure logic: no root, no world.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from checks.causes import Cause
from lab.model import (
    Diagnosis,
    LessonReport,
    MilestoneGrade,
    MilestoneResult,
    Outcome,
    Step,
    SubmissionGrade,
    Trace,
)
from tests.conftest import ROOT


def _wire(data: dict[str, Any]) -> dict[str, Any]:
    """What the other end of a pipe reads."""
    loaded: dict[str, Any] = json.loads(json.dumps(data))
    return loaded


TRACE = Trace(
    src_ns="netns0",
    dst="8.8.8.8",
    proto="icmp",
    port=None,
    target="8.8.8.8",
    reached=False,
    steps=(
        Step("netns0", "route", "via 172.18.0.1", "default via 172.18.0.1 dev ceth0", seen=True),
        Step("host", "drop", "drop", reason="no route", cause="route-missing", beat=("a", "b")),
    ),
    cause="route-missing",
    explanation="no route",
    sightings=("ceth0",),
)


def _report() -> LessonReport:
    return LessonReport(
        lesson="05-nat",
        world="w",
        duration_ms=12,
        milestones=[
            MilestoneResult("ping", "netns0 pings", True, evidence=["64 bytes"]),
            MilestoneResult(
                "out",
                "reach the internet",
                False,
                Cause.MASQUERADE_MISSING,
                "no MASQUERADE",
                ["iptables -t nat -S: empty"],
                trace=TRACE,
            ),
        ],
    )


def test_a_lesson_report_with_a_trace_comes_back_equal() -> None:
    report = _report()
    back = LessonReport.from_json(_wire(report.to_json()))
    assert back == report
    assert back.first_failure is not None and back.first_failure.trace == TRACE
    assert (
        back.result("ping") is report.milestones[0] or back.result("ping") == report.milestones[0]
    )
    assert back.result("nope") is None


def test_check_json_keeps_its_published_shape() -> None:
    data = _wire(_report().to_json())
    assert list(data) == ["lesson", "world", "passed", "duration_ms", "milestones"]
    assert list(data["milestones"][0]) == [
        "id",
        "title",
        "passed",
        "cause",
        "explanation",
        "evidence",
    ]
    assert data["milestones"][1]["cause"] == "masquerade-missing"
    step = data["milestones"][1]["trace"]["steps"][1]
    assert step == {
        "ns": "host",
        "kind": "drop",
        "decision": "drop",
        "beat": ["a", "b"],
        "reason": "no route",
        "cause": "route-missing",
    }


def test_a_grade_keeps_its_published_shape_and_comes_back() -> None:
    result = _report().milestones[1]
    grade = MilestoneGrade.of(result)
    assert (grade.points, grade.max_points, grade.cause) == (0.0, 1.0, "masquerade-missing")
    assert list(grade.to_json()) == [
        "id", "title", "passed", "points", "max_points", "cause", "explanation", "evidence",
    ]  # fmt: skip
    sub = SubmissionGrade(
        "/s/a.sh", "a.sh", "w", "ok", None, False, 1.0, 2.0,
        [MilestoneGrade.of(_report().milestones[0]), grade],
        timing_ms={"total": 5},
    )  # fmt: skip
    back = SubmissionGrade.from_json(_wire(sub.to_json()))
    assert back == sub
    assert back.milestones[0].points == 1.0


def test_a_milestone_not_checked_earns_nothing_and_names_why() -> None:
    grade = MilestoneGrade.not_checked("m", "M", "not checked: the world broke")
    assert not grade.passed and grade.points == 0.0 and grade.cause is None
    assert grade.explanation == "not checked: the world broke"


def test_an_outcome_from_a_diagnosis_carries_its_cause_and_where_to_look() -> None:
    diag = Diagnosis(Cause.ROUTE_MISSING, "no route", ["ip route: empty"], ("ip route",))
    assert Diagnosis.from_json(_wire(diag.to_json())) == diag
    outcome = Outcome.from_diagnosis(diag, "sent 1")
    assert outcome.cause == Cause.ROUTE_MISSING
    assert outcome.evidence == ["sent 1", "ip route: empty", "look further: ip route"]
    unexplained = Outcome.from_diagnosis(None)
    assert not unexplained.passed and unexplained.cause == Cause.UNEXPLAINED
    result = MilestoneResult.from_outcome("m", "M", Outcome.ok("fine"), 3)
    assert result.passed and result.cause is None and result.duration_ms == 3


def test_a_cause_published_later_is_read_back_as_its_code() -> None:
    data = _wire(MilestoneResult("m", "M", False, "some-new-cause").to_json())
    assert MilestoneResult.from_json(data).cause == "some-new-cause"


def test_reading_a_result_needs_no_netlink_nor_textual() -> None:
    """A reader of the model (the TUI, a grader's report) loads no pyroute2, scapy or Textual."""
    code = (
        "import sys, lab.model\n"
        "print(sorted(m for m in ('pyroute2', 'scapy', 'textual', 'lab.state') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"
