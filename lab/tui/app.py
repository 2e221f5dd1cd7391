"""The Textual app: a thin shell around :class:`lab.tui.labscreen.LabScreen`.

It loads the course (a broken lesson folder is a one-line error before
anything is drawn), opens the one screen, moves the command palette to F9
(bash needs Ctrl+P) and offers every screen action in the palette, named as
in :mod:`lab.tui.keys`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

from lab.lessons import Course, load_course
from lab.tui.keys import KEYS, PREFIX_LABEL, key_label
from lab.tui.labscreen import LabScreen
from lab.world import World, validate_name


class LabApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "cnlab"
    COMMAND_PALETTE_BINDING = "f9"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (45, "-tall")]
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
        for key in KEYS:
            if key.action.startswith("app."):
                continue
            yield SystemCommand(
                key.does[0].upper() + key.does[1:],
                f"{key_label(key.fkey)} or {PREFIX_LABEL} {key.letter}",
                partial(lab.run_action, key.action),
            )
        for lesson in self.course.lessons:
            yield SystemCommand(
                f"Go to lesson {lesson.number}: {lesson.title}",
                "asks before replacing your network",
                lambda lesson=lesson: lab.request_lesson(lesson),
                discover=False,
            )
        yield SystemCommand(
            "New shell in a tab (host or a namespace)",
            f"Ctrl+T or {PREFIX_LABEL} c",
            lab.action_new_terminal,
        )
        yield SystemCommand("Quit", "F10", self.exit)


def run_app(world: str, lesson: str | None) -> int:
    """Run the lab until the learner quits; the exit status for ``cnlab``."""
    os.environ.setdefault("TEXTUAL_FPS", "60")
    app = LabApp(world, lesson)
    result = app.run()
    return int(result or 0)
