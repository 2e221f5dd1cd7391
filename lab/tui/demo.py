"""The demo: the reference solution typed into the learner's own shell.

Each step's narration is shown above the shell, its command is typed key by
key, Enter is pressed, and the demo waits for the prompt to come back (a new
``done`` line in the world's events file, from whichever shell is in front,
nested ones included) before the next step: it waits on prompts, never on a
fixed deadline. First it presses Enter on an empty line, so the wait starts
from a prompt it saw (after a reset the new shell's first prompt may already
have been counted). A step whose prompt has not come back after
:data:`lab.typed.DEFAULT_SETTLE` seconds is still running in the foreground (a
server): like a learner, and like the replays of :mod:`lab.typed`, the demo
presses Ctrl-Z and types ``bg``. The milestones panel turns green by itself
because the app re-checks after every ``done``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from lab import typed
from lab.i18n import _
from lab.lessons import Step

POLL = 0.05


async def _prompt(done_count: Callable[[], int], before: int, within: float | None) -> bool:
    """Wait until a prompt came back after ``before``; False after ``within`` seconds."""
    end = None if within is None else time.monotonic() + within
    while done_count() <= before:
        if end is not None and time.monotonic() > end:
            return False
        await asyncio.sleep(POLL)
    return True


async def _enter(
    type_text: Callable[[str], None], done_count: Callable[[], int], text: str
) -> bool:
    """Type ``text`` and Enter, then wait for the prompt; Ctrl-Z and ``bg`` if it
    does not come back in time. False if even that gave no prompt."""
    before = done_count()
    type_text(text + "\r")
    if await _prompt(done_count, before, typed.DEFAULT_SETTLE):
        return True
    before = done_count()
    type_text("\x1a")  # Ctrl-Z: the foreground job stops, the shell's prompt returns
    if not await _prompt(done_count, before, typed.DEFAULT_LIMIT):
        return False
    before = done_count()
    type_text("bg\r")
    return await _prompt(done_count, before, typed.DEFAULT_LIMIT)


async def run_demo(
    steps: list[Step],
    type_text: Callable[[str], None],
    narrate: Callable[[str], None],
    done_count: Callable[[], int],
    char_delay: float = 0.02,
    pause: float = 0.8,
) -> bool:
    """Type ``steps``; True if every command got its prompt back."""
    ok = await _enter(type_text, done_count, "")  # a prompt seen before the first step
    total = sum(1 for s in steps if s.command)
    number = 0
    for step in steps:
        if step.command:
            number += 1
        head = f"demo {number}/{total}: " if step.command else "demo: "
        narrate(head + (" ".join(step.narration) or step.command))
        if not step.command:
            await asyncio.sleep(pause)
            continue
        lines = step.command.split("\n")
        for line in lines[:-1]:  # a continued command: the shell shows no prompt between
            await _type_keys(type_text, line + "\r", char_delay)
        await _type_keys(type_text, lines[-1], char_delay)
        ok = await _enter(type_text, done_count, "") and ok
        await asyncio.sleep(pause)
    narrate(
        _("demo finished") if ok else _("demo finished (a command did not give its prompt back)")
    )
    return ok


async def _type_keys(type_text: Callable[[str], None], text: str, char_delay: float) -> None:
    for char in text:
        type_text(char)
        if char_delay:
            await asyncio.sleep(char_delay)
