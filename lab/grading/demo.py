"""Replay a lesson's reference solution in the live world, for a class to watch.

Each step of ``solution.sh`` is shown (narration, then ``$ command``), typed
into one persistent ``bash -s`` inside the world, and its output printed. The
shell reads its input from a pipe byte by byte, so ``sudo nsenter ... bash``
followed by lines and ``exit`` behaves as when typed: after each command we
send a sentinel ``printf`` that whichever shell is current runs, and read up to
it. After every step the lesson's checks run and the milestones that turned
green are printed (``✔``), with a compact ``✔✔✘✘`` line of where the lesson is.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from typing import TextIO

from lab.errors import LabError
from lab.lessons import Lesson, Step
from lab.world import World

SENTINEL = "__cnlab_demo_done__"
STEP_TIMEOUT = 60.0


class Shell:
    """One bash inside the world that keeps its state (and nesting) between steps."""

    def __init__(self, world: World) -> None:
        self.proc = subprocess.Popen(
            [*world.enter_argv(), "bash", "-s"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=world.env(term="dumb"),
            cwd="/root" if os.path.isdir("/root") else "/",
            start_new_session=True,
        )
        self.count = 0

    def run(self, command: str, out: TextIO) -> int | None:
        """Type ``command``; copy its output to ``out`` as it comes; return its status."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.count += 1
        mark = f"{SENTINEL}{self.count}"
        self.proc.stdin.write(f"{command}\nprintf '\\n{mark} %s\\n' \"$?\"\n".encode())
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabError(f"the demo step {command!r} did not finish in {STEP_TIMEOUT:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise LabError("the demo's shell in the world exited unexpectedly")
            buf += chunk
            at = buf.find(f"\n{mark} ".encode())
            if at >= 0:
                end = buf.find(b"\n", at + 1 + len(mark))
                if end < 0:
                    continue
                out.write(buf[:at].decode(errors="replace") + ("\n" if at else ""))
                out.flush()
                status = buf[at + 1 + len(mark) : end].strip()
                return int(status) if status.isdigit() else None
            # Print complete lines as they arrive; keep a tail that may hold the mark.
            cut = buf.rfind(b"\n", 0, max(0, len(buf) - len(mark) - 2))
            if cut > 0:
                out.write(buf[: cut + 1].decode(errors="replace"))
                out.flush()
                buf = buf[cut + 1 :]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


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
    out.write(f"▶ demo of {lesson.id}: {lesson.title}  [{_marks(state)}]\n\n")
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
                out.write(f"(exit status {status})\n")
            report = check_lesson(world, lesson)
            now = {m.id: m.passed for m in report.milestones}
            for m in report.milestones:
                if m.passed and not state.get(m.id):
                    out.write(f"  ✔ {m.title}\n")
                elif not m.passed and state.get(m.id):
                    out.write(f"  ✘ {m.title} (no longer)\n")
            state = now
            out.write(f"  [{_marks(state)}] step {number}/{len(steps)}\n\n")
            out.flush()
            if pause and not step:
                time.sleep(pause)
    finally:
        shell.close()
    done = sum(state.values())
    out.write(f"■ {done}/{len(state)} milestones of {lesson.id}\n")
    return state
