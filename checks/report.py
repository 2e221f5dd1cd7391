"""What a check run produced, as a person reads it (``cnlab check`` without ``--json``).

The report itself is data of the shared model (:class:`lab.model.LessonReport`,
the shape ``cnlab check --json`` prints); this module only words it.
"""

from __future__ import annotations

from checks.causes import Cause
from lab.i18n import DEFAULT, _, language
from lab.model import LessonReport as LessonReport  # re-exported: the checks' result
from lab.model import MilestoneResult as MilestoneResult


def to_text(report: LessonReport) -> str:
    """The report in lines: a mark per milestone; a failure's cause, evidence and trace."""
    done = sum(m.passed for m in report.milestones)
    lines = [
        _("{lesson}: {done}/{total} milestones ({ms} ms)").format(
            lesson=report.lesson, done=done, total=len(report.milestones), ms=report.duration_ms
        )
    ]
    for m in report.milestones:
        lines.append(f"  {'✔' if m.passed else '✘'} {m.title}")
        if m.passed and m.explanation:
            lines.append("      " + _("why: {explanation}").format(explanation=m.explanation))
        if not m.passed:
            lines += _failure_lines(m)
    return "\n".join(lines)


def _failure_lines(m: MilestoneResult) -> list[str]:
    lines = []
    if m.cause:
        lines.append("      " + cause_line(m.cause))
    if m.explanation:
        lines.append(f"      {m.explanation}")
    lines += [f"      · {item}" for item in m.evidence]
    if m.trace is not None:
        from checks.trace import to_text as trace_text  # only when a trace was asked for

        lines += [f"      {line}" for line in trace_text(m.trace, explain=False).splitlines()]
    return lines


def cause_line(code: str) -> str:
    """``cause: route-clash`` (the code stays English: it is what tools and the docs key
    on); in another language, with the cause's description in that language."""
    line = _("cause: {code}").format(code=code)
    if language() != DEFAULT and code in Cause._value2member_map_:
        line += _(" ({description})").format(description=Cause(code).description)
    return line
