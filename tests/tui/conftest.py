"""Fixtures for the TUI tests: the fixture course, a private progress store, real worlds."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab import progress
from lab.world import World

ROOT = Path(__file__).resolve().parents[2]
TUI_COURSE = ROOT / "tests" / "fixtures" / "tui-course"
_counter = itertools.count()


def tui_world_name() -> str:
    return f"tui-test-{os.getpid()}-{next(_counter)}"


@pytest.fixture
def tui_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The fixture course and a progress store of this test only."""
    monkeypatch.setenv("CNLAB_LESSONS", str(TUI_COURSE))
    state_dir = tmp_path / "state"
    monkeypatch.setenv("CNLAB_STATE_DIR", str(state_dir))
    monkeypatch.setattr(progress, "STATE_ROOT", state_dir)
    return state_dir


@pytest.fixture
def tui_world(tui_env: Path) -> Iterator[World]:
    """A world name of this test (not built yet); destroyed at the end. A learner's
    world, as the TUI makes it: its home is in this test's state folder."""
    world = World(tui_world_name(), keep_home=True)
    yield world
    world.destroy()


@pytest.fixture
def built_world(tui_world: World) -> World:
    """The world at the start of the fixture course's lesson 1."""
    from lab.course_run import build_lesson
    from lab.lessons import load_course

    build_lesson(tui_world, load_course().find("1"))
    return tui_world


async def wait_for(pilot: object, cond: Callable[[], object], timeout: float = 10.0) -> bool:
    """Let the app run until ``cond()`` is true; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    return bool(cond())


def current(app: object) -> object:
    """The screen on top (read by a call, so that an earlier isinstance does not narrow it)."""
    return app.screen  # type: ignore[attr-defined]
