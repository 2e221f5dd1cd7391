"""Replay a lesson's reference solution in the live world, for a class to watch.

Each step of ``solution.sh`` is shown (narration, then ``$ command``), typed
into one interactive bash inside the world on a pseudo-terminal, exactly as a
learner types at the lab's prompt (:mod:`lab.typed`): ``sudo nsenter ...`` with
or without ``bash`` starts a nested shell that reads the next steps until
``exit``; the driver waits for the prompt to come back after each step, never a
fixed time. After every step the lesson's checks run and the milestones that
turned green are printed (``✔``), with a compact ``✔✔✘✘`` line of where the
lesson is.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from lab import typed
from lab.errors import LabError
from lab.i18n import _
from lab.lessons import Lesson, Step
from lab.world import World

# A reference step returns; one that has not after this long is put in the
# background (Ctrl-Z, bg), as a learner would, and the demo goes on.
STEP_SETTLE = 60.0


class Shell:
    """One interactive bash inside the world that keeps its state (and nesting)."""

    def __init__(self, world: World) -> None:
        try:
            self.typed = typed.in_world(world, settle=STEP_SETTLE)
        except typed.ShellError as exc:
            raise LabError(
                _("the demo's shell in world {world_name!r} did not start: {exc}").format(
                    world_name=world.name, exc=exc
                )
            ) from exc

    def run(self, command: str, out: TextIO) -> int | None:
        """Type ``command`` (several lines if continued); print its output; its status."""
        done: typed.Typed | None = None
        try:
            for line in command.split("\n"):
                done = self.typed.type(line)
                out.write(done.output)
                out.flush()
        except typed.ShellError as exc:
            raise LabError(
                _("the demo's shell in the world stopped: {exc}").format(exc=exc)
            ) from exc
        if done is None or done.outcome == "exited":
            raise LabError(_("the demo's shell in the world exited unexpectedly"))
        if done.outcome == "stuck":
            raise LabError(
                _("the demo step {command!r} never gave the prompt back").format(command=command)
            )
        if done.outcome == "backgrounded":
            out.write(
                _("(still running after {STEP_SETTLE:g} s: put in the background)\n").format(
                    STEP_SETTLE=STEP_SETTLE
                )
            )
        return done.status

    def close(self) -> None:
        self.typed.close()


def _marks(passed: dict[str, bool]) -> str:
    return "".join("✔" if ok else "✘" for ok in passed.values())


def run_demo(
    world: World,
    lesson: Lesson,
    step: bool = False,
    speed: float = 1.0,
    out: TextIO = sys.stdout,
    wait_key: bool = True,
) -> dict[str, bool]:
    """Replay ``lesson``'s solution in ``world``; return the final milestone states."""
    from checks.engine import check_lesson

    pause = 0.0 if speed <= 0 else 0.6 / speed
    steps: list[Step] = lesson.solution_steps()
    state = {m.id: m.passed for m in check_lesson(world, lesson).milestones}
    out.write(
        _("▶ demo of {lesson_id}: {lesson_title}  [{marks}]\n\n").format(
            lesson_id=lesson.id, lesson_title=lesson.title, marks=_marks(state)
        )
    )
    shell = Shell(world)
    try:
        for number, item in enumerate(steps, 1):
            for line in item.narration:
                out.write(f"# {line}\n")
            if not item.command:
                continue
            out.write(f"$ {item.command}\n")
            out.flush()
            if step and wait_key:
                sys.stdin.readline()
            elif pause:
                time.sleep(pause)
            status = shell.run(item.command, out)
            if status not in (0, None):
                out.write(_("(exit status {status})\n").format(status=status))
            report = check_lesson(world, lesson)
            now = {m.id: m.passed for m in report.milestones}
            for m in report.milestones:
                if m.passed and not state.get(m.id):
                    out.write(f"  ✔ {m.title}\n")
                elif not m.passed and state.get(m.id):
                    out.write(_("  ✘ {m_title} (no longer)\n").format(m_title=m.title))
            state = now
            out.write(f"  [{_marks(state)}] step {number}/{len(steps)}\n\n")
            out.flush()
            if pause and not step:
                time.sleep(pause)
    finally:
        shell.close()
    done = sum(state.values())
    out.write(
        _("■ {done}/{count} milestones of {lesson_id}\n").format(
            done=done, count=len(state), lesson_id=lesson.id
        )
    )
    return state
