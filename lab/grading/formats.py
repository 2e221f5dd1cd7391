"""Grade reports in three shapes: ours (JSON), JUnit XML, and Gradescope's results.json.

* **json**: :meth:`GradeRun.to_json`, documented field by field in docs/grading.md.
* **junit**: ``<testsuites>`` with one ``<testsuite>`` per submission and one
  ``<testcase>`` per milestone (a failed one carries ``<failure message=
  explanation type=cause>`` with the evidence as text), plus one testcase
  ``(run)`` that fails when the submission broke a limit (timeout, output,
  processes, memory) and errors when it could not be graded. The submission's
  output goes to ``<system-out>``. CI servers and most LMS importers read this.
* **gradescope**: the autograder's ``results.json``: ``score``, ``tests`` (name,
  score, max_score, output, status). Gradescope grades one submission per run,
  so one submission gives exactly that object; several give
  ``{"submissions": [{"submission": NAME, "results": {...}}, ...]}``.
"""

from __future__ import annotations

import json
import re
import socket
import time
import xml.etree.ElementTree as ET
from typing import Any

from lab.grading.runner import GradeRun
from lab.model import SubmissionGrade

FORMATS = ("json", "junit", "gradescope")

# XML 1.0 forbids most control characters even when escaped.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_BAD.sub("\ufffd", text)


def render(run: GradeRun, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(run.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return to_junit(run)
    if fmt == "gradescope":
        return json.dumps(to_gradescope(run), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def to_junit(run: GradeRun) -> str:
    lesson = run.lesson
    root = ET.Element("testsuites", name=f"cnlab grade {lesson.id}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    # Ant's strict form: each suite names its package (the lesson), a running id, when
    # (local time, no zone) and where (this machine) it ran.
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    host = socket.gethostname() or "localhost"
    for index, grade in enumerate(run.grades):
        suite = _suite(lesson.id, grade)
        suite.attrib = {
            "package": lesson.id,
            "id": str(index),
            **suite.attrib,
            "timestamp": stamp,
            "hostname": host,
        }
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{run.seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(lesson_id: str, grade: SubmissionGrade) -> ET.Element:
    total_s = grade.timing_ms.get("total", 0) / 1000
    suite = ET.Element("testsuite", name=grade.name)
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("lesson", lesson_id),
        ("submission", grade.submission),
        ("status", grade.status),
        ("score", f"{grade.score:g}"),
        ("max_score", f"{grade.max_score:g}"),
        ("exit_code", "" if grade.exit_code is None else str(grade.exit_code)),
        ("replay", grade.replay),
        *(("note", note) for note in grade.notes),
    ):
        ET.SubElement(props, "property", name=key, value=_xml_text(value))
    failures = errors = 0
    classname = f"{lesson_id}.{re.sub(r'[^A-Za-z0-9_-]', '_', grade.name)}"
    run_case = ET.SubElement(suite, "testcase", classname=classname, name="(run)")
    run_case.set("time", f"{grade.timing_ms.get('submission', 0) / 1000:.3f}")
    if grade.status == "error":
        ET.SubElement(run_case, "error", message=_xml_text(grade.reason or ""), type="error")
        errors += 1
    elif grade.status != "ok":
        ET.SubElement(run_case, "failure", message=_xml_text(grade.reason or ""), type=grade.status)
        failures += 1
    for m in grade.milestones:
        case = ET.SubElement(suite, "testcase", classname=classname, name=f"{m.id}: {m.title}")
        case.set("time", "0")
        if not m.passed:
            fail = ET.SubElement(
                case, "failure", message=_xml_text(m.explanation), type=m.cause or "failed"
            )
            fail.text = _xml_text("\n".join(m.evidence)) or None
            failures += 1
    out = ET.SubElement(suite, "system-out")
    out.text = _xml_text(grade.output)
    err = ET.SubElement(suite, "system-err")  # Ant always writes it, empty or not
    if grade.transcript_tail:
        err.text = _xml_text(f"--- the last lines on screen ({grade.replay}) ---\n")
        err.text += _xml_text(grade.transcript_tail)
    suite.set("tests", str(len(grade.milestones) + 1))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", f"{total_s:.3f}")
    return suite


def gradescope_results(grade: SubmissionGrade, lesson_number: int | None = None) -> dict[str, Any]:
    """Gradescope's results.json for one submission; tests numbered "5.1", "5.2"..."""
    tests = []
    for index, m in enumerate(grade.milestones, start=1):
        lines = [] if m.passed else [f"cause: {m.cause}" if m.cause else "", m.explanation]
        lines += [f"· {e}" for e in ([] if m.passed else m.evidence)]
        tests.append(
            {
                "name": m.title,
                "number": m.id if lesson_number is None else f"{lesson_number}.{index}",
                "score": m.points,
                "max_score": m.max_points,
                "status": "passed" if m.passed else "failed",
                "output": "\n".join(line for line in lines if line),
            }
        )
    summary = f"{grade.score:g}/{grade.max_score:g} milestones"
    if grade.status == "invalid":
        summary += f"; {grade.reason}"
    elif grade.status != "ok":
        summary += f"; the submission {grade.status}: {grade.reason}"
    summary += "".join(f"\nnote: {note}" for note in grade.notes)
    how = "typed at a prompt, line by line" if grade.replay == "typed" else "run as a script"
    summary += f"\nreplay: your commands were {how}"
    output = summary + "\n\n--- output of your commands ---\n" + grade.output
    if grade.transcript_tail:
        output += "\n\n--- the last lines on screen ---\n" + grade.transcript_tail
    return {
        "score": grade.score,
        "execution_time": round(grade.timing_ms.get("total", 0) / 1000, 3),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
    }


def to_gradescope(run: GradeRun) -> dict[str, Any]:
    if len(run.grades) == 1:
        return gradescope_results(run.grades[0], run.lesson.number)
    return {
        "submissions": [
            {"submission": g.name, "results": gradescope_results(g, run.lesson.number)}
            for g in run.grades
        ]
    }
