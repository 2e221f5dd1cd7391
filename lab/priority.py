"""Scheduling priority for what the learner waits on: the TUI and its check server.

On a busy machine (a test suite running beside the lab, a class sharing one
server) the kernel's scheduler shares each core among the runnable processes
by weight, and the weight follows the *niceness*: at nice 0 a process weighs
1024, at nice -10 about 9500. The lab's own work comes in short bursts (a
check, a redraw) and sleeps in between, so running it at a better niceness
costs the other processes nothing while it sleeps and lets a burst finish
first. Only root (CAP_SYS_NICE) may lower a niceness; anyone else keeps theirs.

The learner's programs must not inherit it: a shell started by the TUI runs
at the niceness the lab had before (:func:`as_before`), so a ``yes >
/dev/null`` typed in the lab competes like any other program.
"""

from __future__ import annotations

import os

#: The niceness the lab asks for (what a desktop gives its sound server).
NICE = -10

_before: int | None = None  # the niceness before raise_priority changed it


def raise_priority(nice: int = NICE) -> int:
    """Run at niceness ``nice`` when that is better than now and allowed; the niceness
    the process ends up with (children forked from now on inherit it)."""
    global _before
    now = os.getpriority(os.PRIO_PROCESS, 0)
    if nice < now:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except OSError:  # not root (or no CAP_SYS_NICE): keep the inherited one
            return now
        if _before is None:
            _before = now
    return os.getpriority(os.PRIO_PROCESS, 0)


def as_before() -> list[str]:
    """An argv prefix that runs a program at the niceness this process had before
    :func:`raise_priority` (``[]`` when it never changed it)."""
    if _before is None:
        return []
    delta = _before - os.getpriority(os.PRIO_PROCESS, 0)
    return ["nice", "-n", str(delta)] if delta else []
