"""The demo: the reference solution typed into the learner's own shell.

Each step's narration is shown above the shell, its command is typed key by
key, Enter is pressed, and the demo waits for the prompt to come back (a new
``done`` line in the world's events file, from whichever shell is in front,
nested ones included) before the next step. The milestones panel turns green
by itself because the app re-checks after every ``done``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from lab.lessons import Step


async def run_demo(
    steps: list[Step],
    type_text: Callable[[str], None],
    narrate: Callable[[str], None],
    done_count: Callable[[], int],
    char_delay: float = 0.02,
    pause: float = 0.8,
    step_timeout: float = 30.0,
) -> bool:
    """Type ``steps``; True if every command got its prompt back in time."""
    ok = True
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
        before = done_count()
        for char in step.command.replace("\\\n", "\\\r"):
            type_text(char)
            if char_delay:
                await asyncio.sleep(char_delay)
        type_text("\r")
        deadline = time.monotonic() + step_timeout
        while done_count() <= before:
            if time.monotonic() > deadline:
                ok = False
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(pause)
    narrate("demo finished" if ok else "demo finished (a command did not return in time)")
    return ok
