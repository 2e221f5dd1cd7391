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

from lab import i18n, priority
from lab.i18n import _
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
        _lessons = self.course.lessons  # load now: a bad lesson folder fails before drawing
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
            does = _(key.does)
            yield SystemCommand(
                does[0].upper() + does[1:],
                _("{fkey} or {prefix} {letter}").format(
                    fkey=key_label(key.fkey), prefix=PREFIX_LABEL, letter=key.letter
                ),
                partial(lab.run_action, key.action),
            )
        for lang in i18n.LANGUAGES:  # each named in its own language: anyone finds theirs
            if lang != i18n.language():
                yield SystemCommand(
                    f"Language / 语言: {i18n.NAMES[lang]}",
                    _("the lab in {name}; your shell stays as it is").format(name=i18n.NAMES[lang]),
                    partial(self.switch_language, lang),
                )
        for lesson in self.course.lessons:
            yield SystemCommand(
                _("Go to lesson {lesson_number}: {lesson_title}").format(
                    lesson_number=lesson.number, lesson_title=lesson.title
                ),
                _("asks before replacing your network"),
                lambda lesson=lesson: lab.request_lesson(lesson),
                discover=False,
            )
        yield SystemCommand(
            _("New shell in a tab (host or a namespace)"),
            _("Ctrl+T or {prefix} c").format(prefix=PREFIX_LABEL),
            lab.action_new_terminal,
        )
        yield SystemCommand(_("Quit"), "F10", self.exit)

    async def switch_language(self, lang: str) -> None:
        """The palette's language command: the whole lab in ``lang`` from now on."""
        await self.lab.switch_language(lang)
        self.course = self.lab.course


def run_app(world: str, lesson: str | None) -> int:
    """Run the lab until the learner quits; the exit status for ``cnlab``."""
    os.environ.setdefault("TEXTUAL_FPS", "60")
    priority.raise_priority()  # the learner waits on its redraws (shells: as before)
    app = LabApp(world, lesson)
    result = app.run()
    return int(result or 0)
