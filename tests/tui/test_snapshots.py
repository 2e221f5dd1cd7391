"""Snapshots at 80x24, 120x36 and 200x50: the main screen (with a failing milestone
and its cause), reading mode, help and the goal beside the network; the "new shell:
where?" question at 80x24.

The app runs with ``live=False`` (no world, no pty, no timers) and is handed a
fixed report, a fixed world state and fixed shell output, so nothing in the
picture depends on a clock or a kernel. Update with ``--snapshot-update``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from lab.model import LessonReport, WorldState
from lab.tui.app import LabApp
from lab.tui.dialogs import PlaceScreen

from .test_netmap import article_state, route, snap

pytestmark = pytest.mark.pilot  # the slow tier (tests/conftest.py)

SHELL = (
    b"\x1b[1;32m[host]\x1b[0m / # sudo ip netns add box\r\n"
    b"\x1b[1;32m[host]\x1b[0m / # ip netns\r\nbox\r\n"
    b"\x1b[1;32m[host]\x1b[0m / # sudo iptables -N hostmark\r\n"
    b"\x1b[1;32m[host]\x1b[0m / # "
)
COMMANDS = ("sudo ip netns add box", "ip netns", "sudo iptables -N hostmark")
REPORT = LessonReport.from_json(
    {
        "lesson": "01-first",
        "world": "snapshot",
        "passed": False,
        "milestones": [
            {
                "id": "box-exists",
                "title": "The namespace box exists",
                "passed": True,
                "cause": None,
                "explanation": "",
                "evidence": [],
            },
            {
                "id": "mark",
                "title": "The host's firewall has the HOSTMARK chain",
                "passed": False,
                "cause": "state-wrong",
                "explanation": "The filter table of host has no chain HOSTMARK.",
                "evidence": ["iptables -S in host: -P INPUT ACCEPT"],
            },
            {
                "id": "lo-up",
                "title": "Loopback is up inside box",
                "passed": False,
                "cause": "link-down",
                "explanation": "lo in box is down.",
                "evidence": [],
            },
        ],
    }
)


def frozen_app() -> LabApp:
    return LabApp("snapshot", "1", live=False)


async def freeze(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, LabApp)
    await app.lab.freeze(REPORT, snap(article_state()), SHELL, COMMANDS)
    app.lab.show_map(True)
    app.set_focus(None)
    await pilot.pause()


SIZES = [(80, 24), (120, 36), (200, 50)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare: Any, tui_env: Path, size: tuple[int, int]) -> None:
    assert snap_compare(frozen_app(), terminal_size=size, run_before=freeze)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reading_mode(snap_compare: Any, tui_env: Path, size: tuple[int, int]) -> None:
    async def reading(pilot: Pilot[Any]) -> None:
        await freeze(pilot)
        await pilot.press("f12")
        pilot.app.set_focus(None)
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=size, run_before=reading)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare: Any, tui_env: Path, size: tuple[int, int]) -> None:
    async def help_(pilot: Pilot[Any]) -> None:
        await freeze(pilot)
        await pilot.press("f1")
        pilot.app.set_focus(None)
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=size, run_before=help_)


def goal_state() -> dict[str, Any]:
    """The lesson's goal as a scratch world would read it: here the article's network
    with netns1 at another address and no MASQUERADE rule."""
    target = article_state()
    target["namespaces"]["netns1"]["links"][1]["addresses"] = ["172.18.0.30/16"]
    target["namespaces"]["host"]["firewall"]["rules"] = []
    return target


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_goal(snap_compare: Any, tui_env: Path, size: tuple[int, int]) -> None:
    async def goal(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, LabApp)
        live = article_state()  # and a route that clashes with the bridge's
        live["namespaces"]["host"]["routes"].append(route("172.18.0.0/16", "veth0"))
        await app.lab.freeze(REPORT, snap(live), SHELL, COMMANDS)
        lesson = app.lab.lesson
        reading: asyncio.Future[WorldState] = asyncio.get_running_loop().create_future()
        reading.set_result(snap(goal_state()))
        scripts = (lesson.start_script(), lesson.solution_script())
        app.lab._start_states[f"{lesson.id}+solved"] = (scripts, reading)
        await pilot.press("f11")
        await pilot.pause()
        app.set_focus(None)
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=size, run_before=goal)


def test_new_shell_asks_where(snap_compare: Any, tui_env: Path) -> None:
    async def where(pilot: Pilot[Any]) -> None:
        await freeze(pilot)
        pilot.app.push_screen(PlaceScreen(pilot.app.lab.places()))  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=where)
