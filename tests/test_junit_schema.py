"""The JUnit report is valid against the strict Ant/Jenkins JUnit schema.

``tests/fixtures/junit-ant.xsd`` is the shape Ant's XMLJUnitResultFormatter writes and
Jenkins reads (package, id, timestamp and hostname on every suite; properties, system-out
and system-err always present). A run with a passing, a failing and an unusable
submission (control characters in the output included) must validate; the schema must
reject a report that lacks what the strict form wants, or this test proves nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import xmlschema

from lab.grading.formats import to_junit
from lab.grading.runner import GradeRun
from lab.grading.sandbox import Limits
from lab.lessons import load_course
from lab.model import MilestoneGrade, SubmissionGrade
from tests.conftest import ROOT

SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "fixtures" / "junit-ant.xsd")
LESSON = load_course().find("2")


def _grade(name: str, passed: list[bool], status: str = "ok") -> SubmissionGrade:
    milestones = [
        MilestoneGrade(
            id=m.id,
            title=m.title,
            passed=ok,
            points=float(ok),
            max_points=1.0,
            cause=None if ok else "netns-missing",
            explanation="" if ok else "no netns0\x01",
            evidence=[] if ok else ["ip netns: <empty>"],
        )
        for m, ok in zip(LESSON.milestones, passed, strict=False)
    ]
    score = float(sum(passed))
    return SubmissionGrade(
        f"/subs/{name}",
        name,
        "w",
        status,
        None if status == "ok" else "could not be used",
        all(passed) and status == "ok",
        score,
        float(len(milestones)),
        milestones,
        output="out\x07put\n",
        timing_ms={"total": 1200, "submission": 800},
    )


def _report() -> str:
    n = len(LESSON.milestones)
    grades = [
        _grade("good.sh", [True] * n),
        _grade("half.sh", [True] + [False] * (n - 1)),
        _grade("empty.sh", [False] * n, status="invalid"),
        _grade("boom.sh", [False] * n, status="error"),
    ]
    return to_junit(GradeRun(LESSON, grades, 2, Limits(), 3.5))


def test_report_is_valid_against_the_ant_schema() -> None:
    report = _report()
    SCHEMA.validate(report)
    suites = ET.fromstring(report).findall("testsuite")
    assert [s.get("id") for s in suites] == ["0", "1", "2", "3"]
    assert {s.get("package") for s in suites} == {LESSON.id}


def test_schema_rejects_a_suite_without_hostname_or_system_err() -> None:
    root = ET.fromstring(_report())
    suite = root.find("testsuite")
    assert suite is not None
    del suite.attrib["hostname"]
    assert not SCHEMA.is_valid(ET.tostring(root, "unicode"))
    root = ET.fromstring(_report())
    suite = root.find("testsuite")
    assert suite is not None
    err = suite.find("system-err")
    assert err is not None
    suite.remove(err)
    assert not SCHEMA.is_valid(ET.tostring(root, "unicode"))
