"""What the screen's workers tell it: typed messages, handled with ``@on`` on the loop.

Workers (a build in a thread, checks and world reads through the check server)
never touch the screen or its flags; they post one of these and the screen's
handlers update the panels and ask :class:`lab.tui.scheduler.Scheduler` what
to start next. So every change to what the learner sees happens in one place,
in order.
"""

from __future__ import annotations

from textual.message import Message

from lab.lessons import Lesson
from lab.model import LessonReport, WorldState


class BuildDone(Message):
    """``lesson``'s start state is built (in ``took`` seconds): a new shell may start."""

    def __init__(self, lesson: Lesson, took: float) -> None:
        super().__init__()
        self.lesson, self.took = lesson, took


class BuildFailed(Message):
    """Building ``lesson`` failed; ``error`` is one line for the learner."""

    def __init__(self, lesson: Lesson, error: str) -> None:
        super().__init__()
        self.lesson, self.error = lesson, error


class ReportReady(Message):
    """A check of ``lesson`` ended: a report, or ``error`` when the server could not answer."""

    def __init__(
        self,
        lesson: Lesson,
        report: LessonReport | None,
        error: str | None,
        took_ms: float,
        stages: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.lesson, self.report, self.error, self.took_ms = lesson, report, error, took_ms
        self.stages = stages or {}  # wall-clock stamps of this check (the debug profile)


class WorldRead(Message):
    """The world was read (``state``), or could not be (``error``)."""

    def __init__(self, state: WorldState | None, error: str | None) -> None:
        super().__init__()
        self.state, self.error = state, error


class WorldChanged(Message):
    """The world differs from the last read: the map redraws."""

    def __init__(self, state: WorldState) -> None:
        super().__init__()
        self.state = state
