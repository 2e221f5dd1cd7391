"""The lab in Chinese at 80x24 and 120x36: the main screen (lesson 1's text, a failing
milestone and its cause, the map, the footer) and help, aligned although each Chinese
character takes two cells; and the palette's language switch, live.

As in test_snapshots.py the app runs with ``live=False`` and fixed content (a report as
the check server writes it in Chinese). Update with ``--snapshot-update``; copies of the
pictures are docs/screenshots/*-zh-main.svg and *-zh-help.svg (written by this file's
tests when ``CNLAB_WRITE_SCREENSHOTS=1``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from lab import i18n, progress
from lab.lessons import DEFAULT_LESSONS_DIR
from lab.model import LessonReport
from lab.tui.app import LabApp

from .test_netmap import article_state, snap

ROOT = Path(__file__).resolve().parents[2]
SHELL = (
    b"\x1b[1;32m[host]\x1b[0m ~ # sudo iptables -N ROOT_NS\r\n"
    b"\x1b[1;32m[host]\x1b[0m ~ # ip netns\r\n"
    b"\x1b[1;32m[host]\x1b[0m ~ # "
)
COMMANDS = ("sudo iptables -N ROOT_NS", "ip netns")
REPORT = LessonReport.from_json(
    {  # lesson 1 checked in Chinese: machine fields English, the words Chinese
        "lesson": "01-namespace",
        "world": "snapshot",
        "passed": False,
        "milestones": [
            {"id": "root-ns-chain", "title": "", "passed": True, "cause": None},
            {
                "id": "netns0-exists",
                "title": "",
                "passed": False,
                "cause": "netns-missing",
                "explanation": "没有名为 netns0 的网络命名空间。用 `ip netns add netns0` 创建它。",
                "evidence": ["ip netns list: none"],
            },
            {
                "id": "netns0-own-firewall",
                "title": "",
                "passed": False,
                "cause": "netns-missing",
                "explanation": "没有名为 netns0 的网络命名空间。用 `ip netns add netns0` 创建它。",
                "evidence": [],
            },
        ],
    }
)


@pytest.fixture
def zh_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The real course, read in Chinese, and a progress store of this test only."""
    monkeypatch.setenv("CNLAB_LESSONS", str(DEFAULT_LESSONS_DIR))
    state_dir = tmp_path / "state"
    monkeypatch.setenv("CNLAB_STATE_DIR", str(state_dir))
    monkeypatch.setattr(progress, "STATE_ROOT", state_dir)
    i18n.set_language("zh")
    yield state_dir
    i18n.set_language("en")


def zh_app() -> LabApp:
    i18n.set_language("zh")  # snap_compare may build the app after the fixture ran
    return LabApp("snapshot", "1", live=False)


async def freeze(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, LabApp)
    app.lab.session.use_hint(app.lab.lesson)  # a hint asked for: the cause may show
    await app.lab.freeze(REPORT, snap(article_state()), SHELL, COMMANDS)
    app.lab.show_map(True)
    app.set_focus(None)
    await pilot.pause()


SIZES = [(80, 24), (120, 36)]


def _keep(name: str, shown_as: str) -> None:
    """Copy the snapshot just compared to docs/screenshots (CNLAB_WRITE_SCREENSHOTS=1)."""
    if os.environ.get("CNLAB_WRITE_SCREENSHOTS") != "1":
        return
    source = Path(__file__).parent / "__snapshots__" / "test_snapshots_zh" / f"{name}.svg"
    if source.exists():
        shutil.copy(source, ROOT / "docs" / "screenshots" / f"{shown_as}.svg")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen_zh(snap_compare: Any, zh_env: Path, size: tuple[int, int]) -> None:
    assert snap_compare(zh_app(), terminal_size=size, run_before=freeze)
    _keep(f"test_main_screen_zh[{size[0]}x{size[1]}]", f"{size[0]}x{size[1]}-zh-main")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_zh(snap_compare: Any, zh_env: Path, size: tuple[int, int]) -> None:
    async def help_(pilot: Pilot[Any]) -> None:
        await freeze(pilot)
        await pilot.press("f1")
        pilot.app.set_focus(None)
        await pilot.pause()

    assert snap_compare(zh_app(), terminal_size=size, run_before=help_)
    _keep(f"test_help_zh[{size[0]}x{size[1]}]", f"{size[0]}x{size[1]}-zh-help")


def test_the_palette_switches_the_language_live(zh_env: Path) -> None:
    """English to Chinese and back through the palette's command, the shell untouched;
    the choice is saved with the progress."""
    asyncio.run(switch_both_ways())


async def switch_both_ways() -> None:
    i18n.set_language("en")
    app = LabApp("snapshot", "1", live=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.lab.freeze(REPORT, snap(article_state()), SHELL, COMMANDS)
        shell = app.lab.shell
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Language / 语言: 简体中文" in titles
        await app.switch_language("zh")
        await pilot.pause()
        assert i18n.language() == "zh"
        assert app.lab.lesson.title == "属于自己的网络栈"
        top = str(app.lab.query_one("#top-lesson").render())
        assert f"第 1/{len(app.lab.course.lessons)} 课：属于自己的网络栈" in top
        footer = [b.description for b in app.lab._bindings.key_to_bindings["f1"]]
        assert footer == ["帮助"]
        assert app.lab.shell is shell  # the learner's shell is the same one
        assert progress.load("snapshot").lang == "zh"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Language / 语言: English" in titles
        await app.switch_language("en")
        await pilot.pause()
        assert app.lab.lesson.title == "A network stack of its own"
        assert progress.load("snapshot").lang == "en"


def test_goal_lines_are_read_in_the_language_their_kind_stays_english(zh_env: Path) -> None:
    from lab.tui.statediff import shown

    line = "missing in netns0: route default via 172.18.0.1"
    assert shown(line) == ("netns0 里缺少", "route default via 172.18.0.1")
    assert shown("extra: the namespace box") == ("多出", "the namespace box")
    i18n.set_language("en")
    assert shown(line) == ("missing in netns0", "route default via 172.18.0.1")
