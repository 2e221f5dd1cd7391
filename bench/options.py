"""How much to measure: run counts per section, chosen by ``--quick`` and ``--runs``."""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.lessons import Lesson, load_course


@dataclass(frozen=True)
class Options:
    """Repetitions per kind of measurement.

    ``--runs N`` sets ``runs`` and scales the others: 5N world cycles, N/3 whole
    processes, N/2 TUI starts.
    """

    runs: int = 10  # in-process resets, warm checks
    world_runs: int = 50  # world create/destroy
    process_runs: int = 3  # whole `cnlab` processes (reset, check)
    tui_runs: int = 5  # TUI starts (each a fresh process)
    memory_worlds: int = 10  # worlds alive at once for the kernel memory estimate
    grade_submissions: int = 100
    lesson_refs: tuple[str, ...] = field(default_factory=tuple)  # empty: every lesson
    quick: bool = False

    @classmethod
    def make(cls, quick: bool, runs: int | None, lessons: tuple[str, ...]) -> Options:
        if quick:
            base = cls(
                runs=2,
                world_runs=5,
                process_runs=1,
                tui_runs=1,
                memory_worlds=2,
                grade_submissions=4,
                quick=True,
            )
        else:
            base = cls()
        if runs is not None:  # one knob: the others scale with it
            base = cls(
                runs=runs,
                world_runs=5 * runs,
                process_runs=max(1, runs // 3),
                tui_runs=max(1, runs // 2),
                memory_worlds=base.memory_worlds,
                grade_submissions=base.grade_submissions,
                quick=quick,
            )
        return cls(**{**base.__dict__, "lesson_refs": lessons})

    def lessons(self) -> list[Lesson]:
        course = load_course()
        if not self.lesson_refs:
            return list(course.lessons)
        return [course.find(ref) for ref in self.lesson_refs]
