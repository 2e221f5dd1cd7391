"""What a check run produced, as a person reads it (``cnlab check`` without ``--json``).

The report itself is data of the shared model (:class:`lab.model.LessonReport`,
the shape ``cnlab check --json`` prints); this module only words it.
"""

from __future__ import annotations

from lab.model import LessonReport as LessonReport  # re-exported: the checks' result
from lab.model import MilestoneResult as MilestoneResult


def to_text(report: LessonReport) -> str:
    """The report in lines: a mark per milestone; a failure's cause, evidence and trace."""
    done = sum(m.passed for m in report.milestones)
    lines = [
        f"{report.lesson}: {done}/{len(report.milestones)} milestones ({report.duration_ms} ms)"
    ]
    for m in report.milestones:
        lines.append(f"  {'✔' if m.passed else '✘'} {m.title}")
        if m.passed and m.explanation:
            lines.append(f"      why: {m.explanation}")
        if not m.passed:
            lines += _failure_lines(m)
    return "\n".join(lines)


def _failure_lines(m: MilestoneResult) -> list[str]:
    lines = []
    if m.cause:
        lines.append(f"      cause: {m.cause}")
    if m.explanation:
        lines.append(f"      {m.explanation}")
    lines += [f"      · {item}" for item in m.evidence]
    if m.trace is not None:
        from checks.trace import to_text as trace_text  # only when a trace was asked for

        lines += [f"      {line}" for line in trace_text(m.trace, explain=False).splitlines()]
    return lines
