"""Running the course: build a lesson's start state, know which lesson is current, record results.

The lab has two faces, the ``cnlab`` command line and the TUI, and both do the same three
things with a world; they do them here, one way, so that the two faces never disagree::

    cnlab reset / check / export ─┐
    the TUI (new lesson, checks) ─┼─▶ course_run ─▶ world (namespaces) + progress (JSON)
    cnlab dev check, bench/ ──────┘

* **Building** a lesson destroys the world and runs the lesson's ``start.sh`` inside a
  fresh one: the start state is a script of the very ``ip`` and ``iptables`` commands the
  learner will type, so nothing about it is hidden in Python.
* **The current lesson** is the one asked for, else the one the world was built for (the
  network the learner is looking at), else the one saved in progress, else none (callers
  choose the first lesson, or ask the learner to name one).
* **Recording** a result only ever adds: a milestone passed stays passed in progress, even
  if the network changes afterwards; what the network does *now* is the next check's job.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from lab import progress
from lab.errors import LabError
from lab.i18n import _
from lab.lessons import Course, Lesson
from lab.world import World

_FEATURE_ERRORS = (
    "Unknown device type",
    "not supported",
    "Operation not supported",
    "No such file or directory",
    "can't initialize",
    "Protocol not supported",
)


def build_lesson(world: World, lesson: Lesson) -> float:
    """Destroy the world and build ``lesson``'s start state; return seconds taken.

    The world says ``ready`` only once the start state is complete: killed
    half-way, it is ``broken`` (and the next command cleans it up); if the start
    script fails, the half-built world is removed.
    """
    started = time.perf_counter()
    script = lesson.start_script()
    world.create(status="starting")
    try:
        result = world.run(script, timeout=60, shims=False)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise LabError(
                f"{lesson.path / 'start.sh'} failed (exit {result.returncode})"
                + (f": {lines[-1]}" if lines else "")
                + _missing_feature_hint(result.stderr)
            )
        world.write_meta(status="ready", lesson=lesson.id)
    except BaseException:
        world.destroy()
        raise
    return time.perf_counter() - started


def _missing_feature_hint(stderr: str) -> str:
    """A hint when a start script failed because this kernel or machine lacks something."""
    if any(text in stderr for text in _FEATURE_ERRORS):
        return _(
            " (this kernel or machine may lack a feature the lesson needs: fix the script, "
            "or run the lab on a kernel that has it)"
        )
    return ""


def pick_lesson(
    course: Course, ref: str | None, world_lesson: str | None, saved: str | None
) -> Lesson | None:
    """The current lesson: ``ref`` (asked for) > ``world_lesson`` > ``saved`` (progress).

    A lesson asked for that does not exist is an error (:class:`LabError`, one line);
    a world or progress naming a lesson the course no longer has is skipped.
    """
    if ref:
        return course.find(ref)
    for candidate in (world_lesson, saved):
        if candidate:
            try:
                return course.find(candidate)
            except LabError:  # a lesson removed since: fall through
                continue
    return None


def current_lesson(course: Course, world: World, ref: str | None = None) -> Lesson | None:
    """:func:`pick_lesson` for ``world``: its built lesson and its saved progress."""
    world_lesson = world.lesson if world.dir.exists() else None
    return pick_lesson(course, ref, world_lesson, progress.load(world.name).current)


def record_result(
    prog: progress.Progress, lesson_id: str, passed: Iterable[str], completed: bool
) -> tuple[bool, bool]:
    """Add milestones ``passed`` (and completion) to ``prog``; nothing earned is removed.

    Returns ``(changed, newly_completed)``; saving is the caller's (it knows what a
    failed save means to the learner).
    """
    entry = prog.lesson(lesson_id)
    changed = False
    for milestone in passed:
        if milestone not in entry.passed:
            entry.passed.append(milestone)
            changed = True
    newly = completed and not entry.completed
    if newly:
        entry.completed = True
        changed = True
    return changed, newly
