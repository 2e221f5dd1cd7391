"""The milestones panel (live status, the first failure's diagnosis) and the hints panel.

:func:`milestones_text` and :func:`hints_text` are pure (the latest report as
a :class:`lab.model.LessonReport` in, rich text out); the widgets only display them. Hints have a panel
of their own so that asking for one never pushes the milestones out of view.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from checks.report import cause_line
from lab.i18n import _
from lab.lessons import Lesson
from lab.model import LessonReport, MilestoneResult


def milestones_text(
    lesson: Lesson,
    report: LessonReport | None,
    status: str = "",
    done_note: str | None = None,
    revealed: set[str] | None = None,
) -> Text:
    """The milestones panel as rich text (pure: tests and snapshots use it).

    ``revealed``: the milestones whose cause may be shown (attempted, or a hint
    was asked for; ``None``: all). The first failing one that is not revealed
    says only what is expected: the diagnosis would give the answer away.
    """
    results = {m.id: m for m in report.milestones} if report else {}
    passed = sum(1 for m in results.values() if m.passed)
    text = Text()
    if done_note is None:
        done_note = _("F4: next lesson")
    text.append(
        _("Milestones {passed}/{total}").format(passed=passed, total=len(lesson.milestones)),
        "bold",
    )
    if status:
        text.append(f"  {status}", "dim")
    text.append("\n")
    first_failure_done = False
    for milestone in lesson.milestones:
        result = results.get(milestone.id)
        if result is None:
            text.append("○ ", "dim")
            text.append(milestone.title + "\n", "dim")
            continue
        if result.passed:
            text.append("✔ ", "bold green")
            text.append(milestone.title + "\n", "green")
            if result.explanation:  # a failure the lesson wants you to reach, explained
                why = _("why: {explanation}").format(explanation=result.explanation)
                text.append(f"  {why}\n", "italic green")
            continue
        text.append("✘ ", "bold red")
        text.append(milestone.title + "\n")
        if not first_failure_done:
            first_failure_done = True
            if revealed is not None and milestone.id not in revealed:
                text.append(
                    _("  not tried yet: the cause shows once you try it (F2: hint)\n"), "dim"
                )
                continue
            _diagnosis(text, result)
    if report and report.passed:
        text.append(_("\nLesson complete! {done_note}\n").format(done_note=done_note), "bold green")
    return text


def _diagnosis(text: Text, result: MilestoneResult) -> None:
    """The first failure's cause, explanation and evidence, under its title."""
    if result.cause:
        text.append(f"  {cause_line(str(result.cause))}\n", "yellow")
    if result.explanation:
        text.append(f"  {result.explanation}\n", "italic")
    for item in result.evidence:
        text.append(f"  · {item}\n", "dim")


def hints_text(lesson: Lesson, hints: list[str]) -> Text:
    """The hints shown so far, numbered (empty when none was asked for)."""
    text = Text()
    if hints:
        text.append(
            _("Hints {shown}/{total}").format(shown=len(hints), total=len(lesson.hints)), "bold"
        )
        for number, hint in enumerate(hints, 1):
            text.append(f"\n{number}. {hint}")
    return text


class Milestones(VerticalScroll):
    """Live milestone status and the first failure's diagnosis."""

    def compose(self) -> ComposeResult:
        yield Static("", id="milestones-body")

    def show(
        self,
        lesson: Lesson,
        report: LessonReport | None,
        status: str = "",
        done_note: str | None = None,
        revealed: set[str] | None = None,
    ) -> None:
        self.query_one("#milestones-body", Static).update(
            milestones_text(lesson, report, status, done_note, revealed)
        )


class Hints(VerticalScroll):
    """The hints shown so far; hidden until the first one, scrolled to the newest."""

    def compose(self) -> ComposeResult:
        yield Static("", id="hints-body")

    def show(self, lesson: Lesson, hints: list[str]) -> None:
        self.query_one("#hints-body", Static).update(hints_text(lesson, hints))
        self.set_class(not hints, "-empty")  # hidden by app.tcss until the first hint
