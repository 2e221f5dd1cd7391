"""The learner's session: which lesson, what passed, hints, commands — saved at once.

Everything the screen shows about progress goes through :class:`Session`,
which writes :mod:`lab.progress` (atomically) after every change, so a killed
TUI restarts where it was: the current lesson, the milestones passed, the
hints already shown and every command typed (read from the world's events
file) per lesson. No Textual here; the app calls it from the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from lab import progress
from lab.course_run import pick_lesson, record_result
from lab.errors import LabError
from lab.i18n import _
from lab.lessons import Course, Lesson
from lab.model import LessonReport
from lab.tui.attempts import attempted


class Session:
    def __init__(self, world: str, course: Course) -> None:
        self.world = world
        self.course = course
        self.progress = progress.load(world)

    # --------------------------------------------------------------- lessons

    def start_lesson(self, ref: str | None, world_lesson: str | None) -> Lesson:
        """The lesson to open, as everywhere (:func:`lab.course_run.pick_lesson`): asked
        for, else the world's, else saved, else the first; one asked for that does not
        exist is passed over too (the screen opens rather than refuse)."""
        saved = self.progress.current
        try:
            lesson = pick_lesson(self.course, ref, world_lesson, saved)
        except LabError:
            lesson = pick_lesson(self.course, None, world_lesson, saved)
        return lesson or self.course.lessons[0]

    @property
    def lessons(self) -> tuple[Lesson, ...]:
        return self.course.lessons

    def set_current(self, lesson: Lesson) -> None:
        self.progress.current = lesson.id
        self.progress.lesson(lesson.id)
        self.save()

    def neighbour(self, lesson: Lesson, step: int) -> Lesson | None:
        index = self.lessons.index(lesson) + step
        return self.lessons[index] if 0 <= index < len(self.lessons) else None

    # -------------------------------------------------------------- recording

    def record_commands(self, lesson: Lesson, commands: Iterable[str]) -> int:
        entry = self.progress.lesson(lesson.id)
        added = 0
        for command in commands:
            if command.strip():
                entry.commands.append(command)
                added += 1
        if added:
            self.save()
        return added

    def earned(self, lesson: Lesson, report: LessonReport) -> LessonReport:
        """``report`` with what was earned kept: a failure the lesson wants the learner
        to see (:attr:`Milestone.reaches_failure`) stays met once it was observed, so
        going one step ahead (MASQUERADE during lesson 6) is never punished; what the
        learner has looked at (:attr:`Milestone.observes`) stays seen, a reset of the
        network included. Every other milestone says what the network does now."""
        entry = self.progress.lessons.get(lesson.id)
        seen = set(entry.passed) if entry else set()
        kinds = {m.id: m for m in lesson.milestones if m.reaches_failure or m.observes}
        keep = {mid for mid in kinds if mid in seen}
        milestones = [
            replace(
                result,
                passed=True,
                cause=None,
                evidence=[],
                explanation=_("You saw this earlier in this lesson.")
                if kinds[result.id].observes
                else _(
                    "You saw this failure earlier; your network has moved past it since, which "
                    "is fine."
                ),
                kept=True,
            )
            if result.id in keep and not result.passed
            else result
            for result in report.milestones
        ]
        return replace(report, milestones=milestones)

    def record_report(self, lesson: Lesson, report: LessonReport) -> bool:
        """Remember passed milestones; True when this report completes the lesson."""
        passed = [m.id for m in report.milestones if m.passed]
        changed, newly = record_result(self.progress, lesson.id, passed, report.passed)
        if changed:
            self.save()
        return newly

    def use_hint(self, lesson: Lesson) -> int:
        """Reveal one more hint; return how many are shown now."""
        entry = self.progress.lesson(lesson.id)
        if entry.hints_used < len(lesson.hints):
            entry.hints_used += 1
            self.save()
        return entry.hints_used

    def hints_shown(self, lesson: Lesson) -> list[str]:
        used = self.progress.lessons.get(lesson.id)
        return list(lesson.hints[: used.hints_used]) if used else []

    def revealed(self, lesson: Lesson) -> set[str]:
        """Milestones whose cause may be shown: attempted, or every one after a hint."""
        entry = self.progress.lessons.get(lesson.id)
        if entry is None:
            return set()
        if entry.hints_used or entry.solution_shown:
            return {m.id for m in lesson.milestones}
        return attempted(lesson.milestones, entry.commands)

    def mark_solution_shown(self, lesson: Lesson) -> None:
        self.progress.lesson(lesson.id).solution_shown = True
        self.save()

    def completed(self, lesson: Lesson) -> bool:
        entry = self.progress.lessons.get(lesson.id)
        return bool(entry and entry.completed)

    def passed_count(self, lesson: Lesson) -> int:
        entry = self.progress.lessons.get(lesson.id)
        ids = {m.id for m in lesson.milestones}
        return len(ids & set(entry.passed)) if entry else 0

    def unfinished(self) -> list[Lesson]:
        return [lesson for lesson in self.lessons if not self.completed(lesson)]

    def all_completed(self) -> bool:
        return all(self.completed(lesson) for lesson in self.lessons)

    def summary_markdown(self) -> str:
        lines = [
            _("# Course complete"),
            "",
            _("You built container networking by hand. What you did:"),
            "",
            _("| lesson | milestones | hints | solution seen | commands |"),
            "| --- | --- | --- | --- | --- |",
        ]
        for lesson in self.lessons:
            entry = self.progress.lessons.get(lesson.id)
            lines.append(
                f"| {lesson.number}. {lesson.title} "
                f"| {self.passed_count(lesson)}/{len(lesson.milestones)} "
                f"| {entry.hints_used if entry else 0}/{len(lesson.hints)} "
                f"| {'yes' if entry and entry.solution_shown else 'no'} "
                f"| {len(entry.commands) if entry else 0} |"
            )
        lines += ["", _("Press Escape to go back to the lab.")]
        return "\n".join(lines)

    def save(self) -> None:
        progress.save(self.progress)
