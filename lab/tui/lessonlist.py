"""The lesson list: every lesson with a mark (✔ done, ▶ current) and milestones passed.

Choosing one (Enter or a click) posts :class:`LessonList.Chosen`; the screen
builds that lesson's start state.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
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
