"""The path view: a failing milestone's packet drawn above the map, hop by hop.

The pure part (:func:`hops`, :func:`path_text`) is fed a trace by hand; the
Pilot test asks the real check server for the trace of lesson 7's first
failing milestone in a real world at that lesson's start (no masquerade yet).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import progress
from lab.model import Trace
from lab.tui.app import LabApp
from lab.tui.pathview import hops, path_text
from lab.world import World

from .conftest import tui_world_name, wait_for

TRACE = Trace.from_json(
    {
        "src_ns": "netns0",
        "dst": "8.8.8.8",
        "proto": "icmp",
        "target": "8.8.8.8",
        "port": None,
        "reached": False,
        "cause": "forward-blocked",
        "steps": [
            {"ns": "netns0", "kind": "route", "decision": "via 172.18.0.1", "out_if": "ceth0"},
            {"ns": "host", "kind": "arrive", "decision": "received", "in_if": "br0"},
            {"ns": "host", "kind": "hook", "hook": "FORWARD", "decision": "drop"},
            {
                "ns": "host",
                "kind": "drop",
                "decision": "forward-blocked",
                "cause": "forward-blocked",
            },
        ],
    }
)


def test_hops_group_steps_and_mark_where_the_packet_dies() -> None:
    found = hops(TRACE)
    assert [(h.ns, h.dies) for h in found] == [("netns0", False), ("host", True)]
    assert found[1].lines == ("in on br0", "FORWARD drop", "DROP: forward-blocked")
    drawn = path_text(TRACE, current=0)
    assert "✗ host" in drawn.plain and "stopped: forward-blocked" in drawn.plain
    highlighted = [s for s in drawn.spans if "reverse" in str(s.style)]
    assert highlighted and "netns0" in drawn.plain[highlighted[0].start : highlighted[0].end]


@pytest.fixture
def lesson7_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    """The real course's lesson 7 at its start, in a world of this test."""
    from lab.course_run import build_lesson
    from lab.lessons import load_course

    monkeypatch.delenv("CNLAB_LESSONS", raising=False)
    monkeypatch.setenv("CNLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(progress, "STATE_ROOT", tmp_path / "state")
    world = World(tui_world_name(), keep_home=True)
    try:
        build_lesson(world, load_course().find("7"))
        yield world
    finally:
        world.destroy()


@pytest.mark.integration
def test_the_map_walks_the_failing_milestones_path(lesson7_world: World) -> None:
    async def main() -> None:
        app = LabApp(lesson7_world.name, "7")
        async with app.run_test(size=(160, 48)) as pilot:
            lab = app.lab
            failing = await wait_for(
                pilot,
                lambda: lab.report is not None and lab.report.first_failure is not None,
                30,
            )
            assert failing, "no check report with a failing milestone"
            await pilot.press("shift+f8")
            view = lab.pathview
            assert await wait_for(pilot, lambda: view.trace is not None, 30), view.render()
            trace = view.trace
            assert trace is not None and not trace.reached
            assert lab.report is not None
            first = lab.report.first_failure
            assert first is not None and trace.cause == first.cause
            path = hops(trace)
            assert path[0].ns == "netns0" and path[-1].dies
            assert not any(h.dies for h in path[:-1])
            assert view.current == 0
            walked = await wait_for(pilot, lambda: view.current == len(path) - 1, 30)
            assert walked, "the highlight never reached the hop where the packet dies"
            assert view.display and lab.netmap.display
            await pilot.press("shift+f8")
            await pilot.pause()
            assert not view.display and view.trace is None

    asyncio.run(main())
