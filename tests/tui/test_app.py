"""The lab screen driven headlessly (App.run_test + Pilot) against real worlds.

These tests use the real check server (``python -m checks.server``) and the
fixture course ``tests/fixtures/tui-course``. Each builds its own world,
named ``tui-test-<pid>-<n>``, destroyed at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from lab import progress
from lab.tui.app import LabApp
from lab.tui.dialogs import ConfirmScreen, PlaceScreen, TextScreen
from lab.tui.help import HelpScreen
from lab.tui.lessonlist import LessonList
from lab.world import World

from .conftest import current, wait_for

pytestmark = pytest.mark.integration

Scenario = Callable[[LabApp, Pilot[Any]], Awaitable[None]]


def run(world: World, scenario: Scenario, size: tuple[int, int] = (120, 36), **kw: Any) -> None:
    async def main() -> None:
        kw.setdefault("demo_pause", 0.05)
        app = LabApp(world.name, kw.pop("lesson", None), demo_char_delay=0, **kw)
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


def screen_text(app: LabApp) -> str:
    return "\n".join(app.lab.shell.display_lines())


async def prompt(app: LabApp, pilot: Pilot[Any], where: str = "host") -> None:
    ok = await wait_for(pilot, lambda: f"[{where}]" in screen_text(app), 10)
    assert ok, f"no [{where}] prompt; screen:\n{screen_text(app)}"


async def type_line(pilot: Pilot[Any], line: str) -> None:
    await pilot.press(*line, "enter")


def passed(app: LabApp, milestone: str) -> bool:
    result = app.lab.report.result(milestone) if app.lab.report else None
    return result is not None and result.passed


def test_typing_a_command_turns_a_milestone_green(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        assert await wait_for(pilot, lambda: app.lab.report is not None, 15)
        assert not passed(app, "box-exists")
        await pilot.press(*"ip netns add box")
        started = time.monotonic()
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: passed(app, "box-exists"), 5)
        # how fast is for the benchmarks (no timed assertions in tests); print it
        print(f"command to milestone: {time.monotonic() - started:.2f} s")
        panel = str(app.lab.query_one("#milestones-body").render())
        assert "✔ The namespace box exists" in panel
        assert "✘ The host's firewall has the HOSTMARK chain" in panel
        # the map follows the world within a second or two
        assert await wait_for(
            pilot,
            lambda: app.lab.netmap.state is not None and "box" in app.lab.netmap.state.namespaces,
            3,
        )

    run(built_world, scenario, lesson="1")


def test_shell_keys_nested_shells_and_exit(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        shell = app.lab.shell
        await prompt(app, pilot)
        # Tab completion reaches bash
        await pilot.press(*"ech", "tab")
        assert await wait_for(pilot, lambda: "# echo " in shell.text() + " ", 3)
        await pilot.press("ctrl+u")
        # Ctrl-C reaches ping, the foreground job
        await type_line(pilot, "ping 127.0.0.1")
        assert await wait_for(pilot, lambda: "icmp_seq=2" in shell.text(), 5)
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: "packet loss" in shell.text(), 3)
        # colours: the prompt is bold green
        row = shell.screen_.buffer[shell.screen_.cursor.y]
        assert row[0].fg == "green" and row[0].bold
        # a nested shell in a namespace, and back
        await type_line(pilot, "ip netns add box")
        await type_line(pilot, "sudo nsenter --net=/var/run/netns/box bash")
        await prompt(app, pilot, "box")
        await type_line(pilot, "ip link set lo up")
        assert await wait_for(pilot, lambda: passed(app, "lo-up"), 5)
        await type_line(pilot, "exit")
        await pilot.pause(0.3)
        # bash exits: the screen offers a new shell
        await type_line(pilot, "exit")
        assert await wait_for(pilot, lambda: shell.exited, 5)
        assert "press Enter for a new shell" in shell.text()
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: shell.running and not shell.exited, 5)
        await prompt(app, pilot)
        # scrollback: more than 1000 lines are kept, Shift+PgUp scrolls back
        await type_line(pilot, "seq 1 1500")
        assert await wait_for(pilot, lambda: "1500" in shell.text(), 5)
        assert len(shell.screen_.history.top) >= 1000
        await pilot.press("shift+pageup")
        assert shell.scrollback > 0
        await pilot.press("space")
        assert shell.scrollback == 0

    run(built_world, scenario, lesson="1")


def test_reset_hint_navigation_and_restore(built_world: World, tui_env: Any) -> None:
    async def first_run(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        await type_line(pilot, "ip netns add box")
        assert await wait_for(pilot, lambda: passed(app, "box-exists"), 5)
        # hint
        await pilot.press("f2")
        panel = str(app.lab.query_one("#hints-body").render())
        assert "Hints 1/3" in panel and "ip netns add NAME" in panel
        # reset (confirmed): the namespace is gone, a new shell starts
        await pilot.press("f5")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: not app.lab.building and app.lab.ready, 15)
        assert built_world.learner_namespaces() == []
        await prompt(app, pilot)
        assert await wait_for(pilot, lambda: app.lab.report is not None, 10)
        assert not passed(app, "box-exists")
        # next lesson from an unfinished one: asked first, then its start state is built
        await pilot.press("f4")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Lesson 1 is not finished (1/3 milestones)" in app.screen.question
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.lab.lesson.id == "02-second" and app.lab.ready)
        assert built_world.lesson == "02-second"
        assert built_world.learner_namespaces() == ["box"]
        await prompt(app, pilot)
        await type_line(pilot, "echo remembered")
        assert await wait_for(
            pilot,
            lambda: (
                "echo remembered" in progress.load(built_world.name).lesson("02-second").commands
            ),
            5,
        )

    run(built_world, first_run, lesson="1")
    saved = progress.load(built_world.name)
    assert saved.current == "02-second"
    assert saved.lesson("01-first").hints_used == 1
    assert "ip netns add box" in saved.lesson("01-first").commands
    assert "box-exists" in saved.lesson("01-first").passed

    async def second_run(app: LabApp, pilot: Pilot[Any]) -> None:
        # no lesson asked for: the saved one opens, the world is not rebuilt
        assert app.lab.lesson.id == "02-second"
        await prompt(app, pilot)
        assert built_world.learner_namespaces() == ["box"]
        await pilot.press("f3")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.lab.lesson.id == "01-first" and app.lab.ready)
        panel = str(app.lab.query_one("#hints-body").render())
        assert "Hints 1/3" in panel

    run(built_world, second_run)


def test_demo_types_the_solution_and_milestones_turn_green(built_world: World) -> None:
    """Cost: about 5 s (the demo pauses 1 s after each of its steps)."""

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        await pilot.press("f7")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        narration = app.lab.query_one("#narration")
        assert app.lab._demo is not None and app.lab._demo.group == "demo"  # a Textual worker
        assert await wait_for(pilot, lambda: "demo 1/" in str(narration.render()), 15)
        assert app.lab.shell.locked
        # the learner types while the demo types (it pauses 1 s after each step): refused
        await pilot.press(*"zqzq")
        assert await wait_for(pilot, lambda: any("The demo is typing" in n for n in notes(app)))
        ok = await wait_for(pilot, lambda: bool(app.lab.report and app.lab.report.passed), 30)
        assert ok, screen_text(app)
        assert await wait_for(pilot, lambda: "demo finished" in str(narration.render()), 10)
        text = app.lab.shell.text()
        assert "sudo nsenter --net=/var/run/netns/box bash" in text
        assert "zq" not in text, text
        assert not app.lab.shell.locked  # the shell is the learner's again
        saved = progress.load(built_world.name).lesson("01-first")
        assert saved.completed and saved.solution_shown  # the summary says "solution seen: yes"

    run(built_world, scenario, lesson="1", demo_pause=1.0)


def test_missing_world_is_built_and_typing_never_quits(tui_world: World) -> None:
    """No dialog on a fresh world: the keys typed for the shell (``n`` of ``netns``,
    ``y``) answered a "Build (y) / Quit (n)" question and quit the lab (browser view)."""

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await pilot.press(*"sudo ip netns add netns0")  # typed at once, as in a browser
        assert app.is_running and app.screen is app.lab
        assert await wait_for(pilot, lambda: app.lab.ready, 15)
        assert tui_world.state() == "ready"
        assert tui_world.lesson == "01-first"
        await prompt(app, pilot)
        await pilot.press("ctrl+u")  # what was typed while the world was built reached the shell
        await type_line(pilot, "ip netns add box")
        assert await wait_for(pilot, lambda: passed(app, "box-exists"), 5), screen_text(app)

    run(tui_world, scenario)


def test_a_confirmation_ignores_letters(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        await pilot.press("f6")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"yes no netns")
        assert isinstance(app.screen, ConfirmScreen), "a letter answered the dialog"
        await pilot.press("escape")
        assert current(app) is app.lab
        assert not progress.load(built_world.name).lesson("01-first").solution_shown

    run(built_world, scenario, lesson="1")


def test_finishing_the_last_lesson_shows_a_summary(built_world: World) -> None:
    prog = progress.load(built_world.name)
    prog.lesson("01-first").completed = True
    progress.save(prog)

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        assert await wait_for(pilot, lambda: app.lab.ready and app.lab.lesson.number == 2, 15)
        await prompt(app, pilot)
        await type_line(pilot, "ip netns add other")
        assert await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), 10)
        assert "Course complete" in app.screen.markdown  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.screen is app.lab, app.screen_stack

    run(built_world, scenario, lesson="2")


def test_help_solution_and_map_toggle(built_world: World) -> None:
    """Cost: a scratch world for the goal (its start and solution), a few seconds."""

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("f6")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, TextScreen)
        assert "sudo ip netns add box" in app.screen.markdown
        await pilot.press("escape")
        assert progress.load(built_world.name).lesson("01-first").solution_shown
        assert app.lab.shell.has_focus
        shown = app.lab.netmap.display
        await pilot.press("f8")
        await pilot.pause()
        assert app.lab.netmap.display is not shown
        # the goal: lesson 1's start with its reference solution, read from a scratch world
        await pilot.press("f11")
        goal = app.lab.netmap.query_one("#map-goal", Static)

        def goal_says(what: str) -> bool:
            return what in str(goal.render())

        assert await wait_for(pilot, lambda: goal_says("missing: the namespace box"), 30), str(
            goal.render()
        )
        assert goal_says("missing in host: iptables -t filter chain HOSTMARK")
        await type_line(pilot, "ip netns add box")  # a namespace whose loopback is still down
        wrong = "wrong in box: lo has DOWN where the goal has UP"
        assert await wait_for(pilot, lambda: goal_says(wrong), 15), str(goal.render())
        assert not goal_says("missing: the namespace box")

    run(built_world, scenario, lesson="1")


FINISH_LESSON_1 = (
    "ip netns add box",
    "iptables -N HOSTMARK",
    "ip netns exec box ip link set lo up",
)


def notes(app: LabApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_moving_on_keeps_a_network_that_is_the_next_start(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        for line in FINISH_LESSON_1:
            await type_line(pilot, line)
        assert await wait_for(pilot, lambda: app.lab.session.completed(app.lab.lesson), 10)
        await type_line(pilot, "echo still-the-same-shell")
        await pilot.press("f4")
        assert await wait_for(pilot, lambda: app.lab.lesson.id == "02-second", 30)
        assert app.screen is app.lab  # nothing was asked
        assert built_world.lesson == "02-second"
        assert built_world.learner_namespaces() == ["box"]
        assert "still-the-same-shell" in app.lab.shell.text()  # the shell was not restarted
        assert await wait_for(
            pilot, lambda: any("your network is its start state" in n for n in notes(app)), 5
        )
        # the learner's next command counts for lesson 2
        await type_line(pilot, "ip netns add other")
        assert await wait_for(pilot, lambda: passed(app, "other-exists"), 10)

    run(built_world, scenario, lesson="1")


def test_moving_on_asks_when_the_network_differs_and_keeps_it_on_no(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        for line in (*FINISH_LESSON_1, "ip netns add mine"):
            await type_line(pilot, line)
        assert await wait_for(pilot, lambda: app.lab.session.completed(app.lab.lesson), 10)
        await pilot.press("f4")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30)
        question = app.screen.question  # type: ignore[attr-defined]
        assert "differs from lesson 2's start state: extra: the namespace mine" in question
        await pilot.press("escape")
        assert app.lab.lesson.id == "01-first"
        assert sorted(built_world.learner_namespaces()) == ["box", "mine"]
        # the lesson list asks too
        app.lab.on_lesson_list_chosen(LessonList.Chosen("02-second"))
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30)
        await pilot.press("escape")
        assert app.lab.lesson.id == "01-first"
        assert sorted(built_world.learner_namespaces()) == ["box", "mine"]

    run(built_world, scenario, lesson="1")


def test_after_the_last_lesson_the_course_end_is_said(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        assert await wait_for(pilot, lambda: app.lab.ready and app.lab.lesson.number == 2, 15)
        await prompt(app, pilot)
        await type_line(pilot, "ip netns add other")
        assert await wait_for(pilot, lambda: app.lab.session.completed(app.lab.lesson), 10)
        said = "That was the last lesson. Still unfinished: 1"
        assert await wait_for(pilot, lambda: any(said in n for n in notes(app)), 5), notes(app)
        assert not any("F4 opens the next one" in n for n in notes(app))
        panel = str(app.lab.query_one("#milestones-body").render())
        assert said in panel
        await pilot.press("f4")
        assert app.screen is app.lab
        assert await wait_for(pilot, lambda: sum(said in n for n in notes(app)) == 2, 5)

    run(built_world, scenario, lesson="2")


def test_a_cause_shows_once_the_learner_tries(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        assert await wait_for(pilot, lambda: app.lab.report is not None, 15)

        def panel() -> str:
            return str(app.lab.query_one("#milestones-body").render())

        assert "not tried yet" in panel() and "cause:" not in panel()
        await type_line(pilot, "ip netns")  # looking around gives nothing away
        await type_line(pilot, "ip netns add bx")  # a typo: an attempt
        assert await wait_for(pilot, lambda: "cause: netns-missing" in panel(), 5), panel()

    run(built_world, scenario, lesson="1")


def test_the_map_shows_the_world_after_a_rebuild_without_a_command(built_world: World) -> None:
    """The map used to stay on "building lesson N…" when the rebuilt world drew the
    same map as before (its cache said "already drawn"); BuildDone now redraws it."""

    def map_text(app: LabApp) -> str:
        return str(app.lab.netmap.query_one("#map-body", Static).render())

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        assert await wait_for(pilot, lambda: "host ·" in map_text(app), 10), map_text(app)
        for round_ in range(1, 4):
            await pilot.press("f5")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("enter")

            def rebuilt(n: int = round_) -> bool:
                return app.lab.builds_done >= n and app.lab.ready

            assert await wait_for(pilot, rebuilt, 15)
            assert await wait_for(pilot, lambda: "host ·" in map_text(app), 10), map_text(app)
            assert "building" not in map_text(app)

    run(built_world, scenario, lesson="1")


def test_several_terminals_as_tabs(built_world: World) -> None:
    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        tabs = app.lab.query_one("#terms")
        assert tabs.has_class("-single")  # one shell: no tab bar
        await pilot.press("ctrl+right_square_bracket", "c")
        assert await wait_for(pilot, lambda: len(app.lab.extra_terminals) == 1, 5)
        second = app.lab.extra_terminals[0]
        assert await wait_for(pilot, lambda: "[host]" in second.text(), 10), second.text()
        assert second.has_focus and not tabs.has_class("-single")
        # a long-running program in one tab, commands in the other
        await type_line(pilot, "sleep 300")
        await pilot.press("ctrl+right_square_bracket", "tab")
        await pilot.pause()
        assert app.lab.shell.has_focus
        await type_line(pilot, "ip netns add box")
        assert await wait_for(pilot, lambda: passed(app, "box-exists"), 10)
        await pilot.press("ctrl+right_square_bracket", "tab")
        await pilot.pause()
        assert second.has_focus
        prompts = second.text().count("[host]")
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: second.text().count("[host]") > prompts, 10)
        await type_line(pilot, "iptables -N HOSTMARK")  # commands count from any tab
        assert await wait_for(pilot, lambda: passed(app, "mark"), 20), second.text()
        # Ctrl+T asks where once the world has a namespace: a shell inside box
        assert await wait_for(pilot, lambda: "box" in app.lab.places(), 10)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, PlaceScreen)
        await pilot.press("2")
        assert await wait_for(pilot, lambda: len(app.lab.extra_terminals) == 2, 5)
        inside = app.lab.extra_terminals[1]
        assert await wait_for(pilot, lambda: "[box]" in inside.text(), 10), inside.text()
        assert inside.has_focus and app.lab.terminal_titles[inside] == "box"
        assert "keys → shell: box" in str(app.lab.query_one("#top-score", Static).render())
        # exit closes a tab; another shell inside box comes back with Ctrl+T
        await type_line(pilot, "exit")
        assert await wait_for(pilot, lambda: len(app.lab.extra_terminals) == 1, 5)
        assert inside not in app.lab.terminal_titles and app.lab.active_terminal().has_focus
        await pilot.press("ctrl+t")
        await pilot.press("2")
        assert await wait_for(pilot, lambda: len(app.lab.extra_terminals) == 2, 5)
        inside = app.lab.extra_terminals[1]
        assert await wait_for(pilot, lambda: "[box]" in inside.text(), 10), inside.text()
        # a reset ends the world's processes: the extra tabs go, the host shell stays
        await pilot.press("f5")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.lab.ready and not app.lab.extra_terminals, 15)
        assert tabs.has_class("-single") and not second.running and not inside.running
        await prompt(app, pilot)

    run(built_world, scenario, lesson="1")
