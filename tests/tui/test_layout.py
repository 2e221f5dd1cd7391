"""The screen's layout at 80x24, 120x36 and 200x50, without a world (``live=False``).

Room to read (reading mode, 60 columns of text at 120x36, diagrams never cut
silently), every panel reachable and usable at 80x24, the layout following a
resize, focus named in the top bar, the map scrolled from the keyboard, the
help scrollable, and the browser-safe keys (Ctrl+] then a letter).
"""

from __future__ import annotations

import asyncio
import copy
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Footer, Static
from textual.widgets._markdown import MarkdownFence

from lab.lessons import DEFAULT_LESSONS_DIR, load_course
from lab.model import WorldState
from lab.tui.app import LabApp
from lab.tui.help import HelpScreen, help_renderable
from lab.tui.keys import KEYS, PANELS, key_label
from lab.tui.milestones import Hints, Milestones

from .conftest import current
from .test_netmap import article_state, snap

pytestmark = pytest.mark.pilot  # the slow tier (tests/conftest.py)

Scenario = Callable[[LabApp, Pilot[Any]], Awaitable[None]]


def run(scenario: Scenario, size: tuple[int, int], lesson: str = "1") -> None:
    async def main() -> None:
        app = LabApp("layout", lesson, course=load_course(DEFAULT_LESSONS_DIR), live=False)
        async with app.run_test(size=size) as pilot:
            await app.lab.freeze(None, snap(article_state()), b"[host] ~ # ", ())
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


def top(app: LabApp) -> str:
    return "".join(
        str(app.lab.query_one(f"#{part}", Static).render()) for part in ("top-lesson", "top-score")
    )


def inside(app: LabApp, widget: Any) -> bool:
    region = widget.region
    return bool(
        region.width > 0 and region.right <= app.size.width and region.bottom <= app.size.height
    )


def test_reading_mode_gives_the_lesson_the_whole_screen(tui_env: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        text = app.lab.query_one("#text")
        await pilot.press("f12")
        await pilot.pause()
        assert not app.lab.query_one("#work").display
        assert app.lab.query_one("#side").region.width == 80
        assert text.has_focus and "reading" in top(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.lab.query_one("#work").display and app.lab.shell.has_focus
        assert app.lab.query_one("#side").region.width < 40

    run(scenario, (80, 24))


def test_the_text_has_sixty_columns_at_120x36(tui_env: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        markdown = app.lab.query_one("#lesson-md")
        assert markdown.content_region.width >= 60, markdown.content_region
        # and rows: the ten-lesson list opens only while it has the keys (Ctrl+O)
        lessons = app.lab.query_one("#lessons")
        assert not lessons.display and app.lab.query_one("#text").region.height >= 15
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert lessons.display and lessons.has_focus and inside(app, lessons)
        await pilot.resize_terminal(200, 50)  # tall enough: the list stays
        await pilot.press("escape")
        await pilot.pause()
        assert lessons.display

    run(scenario, (120, 36))


def test_wide_diagrams_show_that_they_continue(tui_env: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        fences = list(app.lab.query(MarkdownFence))
        assert fences
        wide = [f for f in fences if f.virtual_size.width > f.content_region.width]
        assert wide, "lesson 5 at 80x24 has a diagram wider than its panel"
        for fence in wide:
            assert fence.show_horizontal_scrollbar, "a diagram is cut with no sign"

    run(scenario, (80, 24), lesson="5")


def test_80x24_header_footer_lessons_and_hints(tui_env: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        score = app.lab.query_one("#top-score")
        count = len(app.lab.lesson.milestones)  # lesson 1's, however many it has
        assert inside(app, score) and f"0/{count} ✔" in top(app) and "checked in" not in top(app)
        footer = app.lab.query_one(Footer)
        shown = [k for k in KEYS if k.footer]
        keys = [w for w in footer.query("FooterKey")]
        # and ^t for a new shell, ^] for the browser-safe keys
        assert len(keys) == len(shown) + 2
        assert all(inside(app, k) for k in keys), [k.region for k in keys]
        # the lesson list is reachable and visible while it has the keys
        lessons = app.lab.query_one("#lessons")
        assert not lessons.display
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert lessons.display and lessons.has_focus and inside(app, lessons)
        assert "keys → lesson list" in top(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.lab.shell.has_focus and not lessons.display
        # hints get their own panel: asking for all of them keeps the milestones in view
        for _ in range(5):
            await pilot.press("f2")
        await pilot.pause()
        milestones = app.lab.query_one(Milestones)
        hints = app.lab.query_one(Hints)
        assert hints.display and milestones.region.height >= 4
        assert f"Milestones 0/{count}" in str(app.lab.query_one("#milestones-body").render())
        assert hints.region.y > milestones.region.y and inside(app, hints)

    run(scenario, (80, 24))


def test_the_layout_follows_a_resize(tui_env: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        assert app.lab.netmap.display and app.lab.has_class("-wide")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        assert app.lab.has_class("-narrow") and not app.lab.netmap.display
        assert app.lab.query_one("#side").region.width == 34
        await pilot.resize_terminal(200, 50)
        await pilot.pause(0.2)
        assert app.lab.netmap.display and app.lab.query_one("#side").region.width >= 100
        # a choice made with F8 holds across resizes
        await pilot.press("f8")
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.2)
        assert not app.lab.netmap.display

    run(scenario, (120, 36))


def test_focus_visits_every_panel_and_the_map_scrolls(tui_env: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        seen = []
        for _ in range(6):
            await pilot.press("ctrl+o")
            await pilot.pause()
            seen.append(top(app).split("keys → ")[-1].strip())
        assert seen[:4] == ["lesson list", "lesson text", "milestones", "map"]
        assert seen[4] == "shell"
        while not app.lab.netmap.has_focus:
            await pilot.press("ctrl+o")
        assert app.lab.netmap.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert app.lab.netmap.scroll_y > 0

    run(scenario, (120, 36))


def test_help_scrolls_at_80x24_and_says_how_to_close(tui_env: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one(VerticalScroll)
        close = app.screen.query_one("#help-close")
        assert inside(app, close) and close.region.y >= body.region.bottom
        assert body.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        console = Console(width=120, file=io.StringIO())
        console.print(help_renderable(app.screen.debug))
        text = console.file.getvalue()  # type: ignore[attr-defined]
        for key in KEYS:
            assert key_label(key.fkey) in text and f"Ctrl+] {key.letter}" in text
        assert "Ctrl+T" in text and "Ctrl+] c" in text  # a new shell, host or namespace
        for panel, _ in PANELS:  # F1 says how to reach every panel
            assert panel in text
        assert "last check took" in text  # the timings live here, not in the top bar
        await pilot.press("escape")
        assert current(app) is app.lab

    run(scenario, (80, 24))


def test_browser_safe_keys_reach_every_action(tui_env: Path) -> None:
    letters = [k.letter for k in KEYS]
    assert len(set(letters)) == len(letters) and not {"o", "c"} & set(letters)

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+right_square_bracket", "t")
        await pilot.pause()
        assert app.lab.reading
        await pilot.press("ctrl+right_square_bracket", "t")
        await pilot.pause()
        assert not app.lab.reading
        await pilot.press("ctrl+right_square_bracket", "h")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+right_square_bracket", "i")
        await pilot.pause()
        assert app.lab.session.hints_shown(app.lab.lesson)
        await pilot.press("ctrl+right_square_bracket", "o")
        await pilot.pause()
        assert "keys → lesson list" in top(app)
        # any other key cancels and is typed nowhere
        await pilot.press("ctrl+right_square_bracket", "x")
        await pilot.pause()
        assert app.screen is app.lab

    run(scenario, (120, 36))


def test_the_goal_beside_the_network_says_what_differs(tui_env: Path) -> None:
    """The goal is the lesson's start with its reference solution applied (here a
    hand-made one, so no world): missing, wrong and extra things, each marked."""

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        lesson = app.lab.lesson
        target = copy.deepcopy(article_state())
        target["namespaces"]["host"]["ip_forward"] = 0
        del target["namespaces"]["netns1"]
        target["namespaces"]["netns0"]["links"][1]["addresses"] = ["172.18.0.11/16"]
        reading: asyncio.Future[WorldState] = asyncio.get_running_loop().create_future()
        reading.set_result(snap(target))
        scripts = (lesson.start_script(), lesson.solution_script())
        app.lab._start_states[f"{lesson.id}+solved"] = (scripts, reading)
        goal = app.lab.netmap.query_one("#map-goal", Static)
        assert not goal.display
        await pilot.press("ctrl+right_square_bracket", "g")
        await pilot.pause(0.3)
        text = str(goal.render())
        assert goal.display and "Goal: the end of lesson 1 (its reference solution)" in text
        assert "extra: the namespace netns1" in text
        assert "missing in host: ip_forward 0" in text
        assert "wrong in netns0: ceth0 has 172.18.0.10/16 where the goal has 172.18.0.11/16" in (
            text
        )
        # a network that is the goal says so
        await app.lab.freeze(None, snap(target), b"", ())
        app.lab._refresh_goal()
        await pilot.pause(0.3)
        assert "✔ your network is the goal" in str(goal.render())
        await pilot.press("ctrl+right_square_bracket", "g")
        await pilot.pause()
        assert not goal.display

    run(scenario, (120, 36))
