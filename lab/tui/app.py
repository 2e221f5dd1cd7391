"""The Textual app: a thin shell around :class:`lab.tui.labscreen.LabScreen`.

It loads the course (a broken lesson folder is a one-line error before
anything is drawn), opens the one screen, moves the command palette to F9
(bash needs Ctrl+P) and offers every screen action in the palette.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

from lab.lessons import Course, load_course
from lab.tui.labscreen import LabScreen
from lab.world import World, validate_name


class LabApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "cnlab"
    COMMAND_PALETTE_BINDING = "f9"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        world: str,
        lesson: str | None = None,
        course: Course | None = None,
        check_argv: list[str] | None = None,
        demo_char_delay: float = 0.02,
        demo_pause: float = 0.8,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.world = World(validate_name(world), keep_home=True)
        self.course = course or load_course()
        _ = self.course.lessons  # load now: a bad lesson folder fails before drawing
        if lesson is not None:
            lesson = self.course.find(lesson).id  # an unknown lesson: one line, no drawing
        self.lab = LabScreen(
            self.world,
            self.course,
            lesson,
            check_argv=check_argv,
            demo_char_delay=demo_char_delay,
            demo_pause=demo_pause,
            live=live,
        )

    def on_mount(self) -> None:
        self.push_screen(self.lab)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        lab = self.lab
        yield SystemCommand("Help: keys", "F1", lab.action_help)
        yield SystemCommand("Next hint", "F2", lab.action_hint)
        yield SystemCommand("Previous lesson", "F3", lambda: lab.action_lesson(-1))
        yield SystemCommand("Next lesson", "F4", lambda: lab.action_lesson(1))
        yield SystemCommand("Reset this lesson", "F5 (asks first)", lab.action_reset)
        yield SystemCommand("Show the solution", "F6 (asks first)", lab.action_solution)
        yield SystemCommand("Run the demo", "F7", lab.action_demo)
        yield SystemCommand("Show/hide the map", "F8", lab.action_toggle_map)
        for lesson in self.course.lessons:
            yield SystemCommand(
                f"Go to lesson {lesson.number}: {lesson.title}",
                "builds its start state",
                lambda lesson=lesson: lab.open_lesson(lesson),
                discover=False,
            )
        yield SystemCommand("Quit", "F10", self.exit)


def run_app(world: str, lesson: str | None) -> int:
    """Run the lab until the learner quits; the exit status for ``cnlab``."""
    os.environ.setdefault("TEXTUAL_FPS", "60")
    app = LabApp(world, lesson)
    result = app.run()
    return int(result or 0)
