"""Regenerate docs/screenshots/*.svg from the real lessons in a throwaway world.

Run as root: ``.venv/bin/python -m tests.tui.make_screenshots``. Each size
(80x24, 120x36, 200x50) gets: lesson 1 at its start with a hint, the goal
beside the network, a first wrong try (the failing milestone's cause shows), milestones turning green, the
help screen, reading mode, lesson 3's route clash after the demo (the map
marks the clash), then Ctrl+T asking where and a second shell inside netns0 in a
tab. Each size starts with no progress. The world is destroyed at
the end; progress goes to a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from lab import progress
from lab.world import World

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def wait(pilot: Pilot[Any], cond: Callable[[], object], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end and not cond():
        await pilot.pause(0.05)


async def shoot(size: tuple[int, int]) -> None:
    from lab.tui.app import LabApp

    world = World(f"tui-shots-{os.getpid()}")
    tag = f"{size[0]}x{size[1]}"

    def save(name: str) -> None:
        app.save_screenshot(str(OUT / f"{tag}-{name}.svg"))

    try:
        app = LabApp(world.name, "1", demo_char_delay=0.0, demo_pause=0.05)
        async with app.run_test(size=size) as pilot:
            await wait(pilot, lambda: app.lab.ready and app.lab.report is not None)
            await pilot.press("f2")
            await pilot.pause(0.5)
            save("1-lesson-start")
            await pilot.press("ctrl+right_square_bracket", "g")  # the goal beside the network
            goal = app.lab.netmap.query_one("#map-goal")

            def compared() -> bool:
                return "comparing" not in str(goal.render()) and "Goal" in str(goal.render())

            await wait(pilot, compared, 60)
            await pilot.pause(0.5)
            save("2-goal")
            await pilot.press("ctrl+right_square_bracket", "g")
            await pilot.press(*"sudo iptables -N root_ns", "enter")  # a first try, wrong case
            await pilot.pause(1.5)
            save("3-failing-milestone")
            for line in ("sudo iptables -N ROOT_NS", "sudo ip netns add netns0"):
                await pilot.press(*line, "enter")
                await pilot.pause(0.6)
            await wait(
                pilot,
                lambda: (
                    app.lab.netmap.state is not None and "netns0" in app.lab.netmap.state.namespaces
                ),
            )
            await pilot.pause(1.0)
            save("4-milestones-green")
            await pilot.press("f1")
            await pilot.pause(0.3)
            save("5-help")
            await pilot.press("escape")
            await pilot.press("f12")
            await pilot.pause(0.3)
            save("6-reading-mode")
            await pilot.press("f12")
            app.lab.open_lesson(app.course.find("3"))
            await wait(pilot, lambda: app.lab.ready and app.lab.lesson.number == 3)
            await pilot.pause(0.5)
            app.lab.start_demo()
            await wait(pilot, lambda: not app.lab.demo_running, 90)
            if not app.lab.netmap.display:
                await pilot.press("f8")
            await pilot.pause(1.5)
            save("7-route-clash-demo")
            await pilot.press("ctrl+t")  # a second shell, inside netns0
            await pilot.pause(0.3)
            save("8-new-shell-where")
            await pilot.press("2")
            await wait(pilot, lambda: len(app.lab.extra_terminals) == 1)
            await wait(pilot, lambda: "[netns0]" in app.lab.extra_terminals[0].text())
            await pilot.press(*"ip route", "enter")
            await pilot.pause(1.0)
            save("9-shell-tabs")
    finally:
        world.destroy()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in ((80, 24), (120, 36), (200, 50)):
        with tempfile.TemporaryDirectory() as tmp:  # each size starts with no progress
            progress.STATE_ROOT = Path(tmp)
            asyncio.run(shoot(size))
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
