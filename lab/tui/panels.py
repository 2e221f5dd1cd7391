"""The side panels: the lesson list, the lesson text and the milestones.

They only display what the app hands them (lessons, progress counts, the
latest check report as a dict, hints shown); none of them touches the world.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Markdown, OptionList, Static
from textual.widgets.option_list import Option

from lab.lessons import Lesson


class LessonList(OptionList):
    """Every lesson with a mark (✔ done, ▶ current) and milestones passed."""

    class Chosen(Message):
        def __init__(self, lesson_id: str) -> None:
            super().__init__()
            self.lesson_id = lesson_id

    def show(self, lessons: list[tuple[Lesson, int, bool]], current: str) -> None:
        """``lessons``: (lesson, milestones passed, completed) in course order."""
        self.clear_options()
        options = []
        for lesson, passed, done in lessons:
            mark = "✔" if done else ("▶" if lesson.id == current else " ")
            label = Text.assemble(
                (f"{mark} ", "bold green" if done else "bold"),
                f"{lesson.number}. {lesson.title} ",
                (f"{passed}/{len(lesson.milestones)}", "dim"),
            )
            options.append(Option(label, id=lesson.id))
        self.add_options(options)
        for index, (lesson, _, _) in enumerate(lessons):
            if lesson.id == current:
                self.highlighted = index

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))


class LessonText(VerticalScroll):
    """The lesson's Markdown, scrollable."""

    DEFAULT_CSS = "LessonText > Markdown { margin: 0 1 0 0; }"

    def compose(self) -> ComposeResult:
        yield Markdown("", id="lesson-md")

    async def show(self, markdown: str) -> None:
        await self.query_one(Markdown).update(markdown)
        self.scroll_home(animate=False)


def milestones_text(
    lesson: Lesson,
    report: dict[str, Any] | None,
    hints: list[str],
    status: str = "",
) -> Text:
    """The milestones panel as rich text (pure: tests and snapshots use it)."""
    results = {m.get("id"): m for m in (report or {}).get("milestones", [])}
    passed = sum(1 for m in results.values() if m.get("passed"))
    text = Text()
    text.append(f"Milestones {passed}/{len(lesson.milestones)}", "bold")
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
        if result.get("passed"):
            text.append("✔ ", "bold green")
            text.append(milestone.title + "\n", "green")
            continue
        text.append("✘ ", "bold red")
        text.append(milestone.title + "\n")
        if not first_failure_done:
            first_failure_done = True
            if result.get("cause"):
                text.append(f"  cause: {result['cause']}\n", "yellow")
            if result.get("explanation"):
                text.append(f"  {result['explanation']}\n", "italic")
            for item in result.get("evidence") or []:
                text.append(f"  · {item}\n", "dim")
    if report and report.get("passed"):
        text.append("\nLesson complete! F4: next lesson\n", "bold green")
    if hints:
        text.append(f"\nHints {len(hints)}/{len(lesson.hints)}\n", "bold")
        for number, hint in enumerate(hints, 1):
            text.append(f"{number}. {hint}\n")
    return text


class Milestones(VerticalScroll):
    """Live milestone status, the first failure's diagnosis, and hints shown."""

    def compose(self) -> ComposeResult:
        yield Static("", id="milestones-body")

    def show(
        self,
        lesson: Lesson,
        report: dict[str, Any] | None,
        hints: list[str],
        status: str = "",
    ) -> None:
        self.query_one("#milestones-body", Static).update(
            milestones_text(lesson, report, hints, status)
        )
