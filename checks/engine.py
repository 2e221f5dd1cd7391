"""Run a lesson's milestones against a live world and report, with diagnoses.

The engine never stops at the first failure: every milestone is judged, so a
learner (or a grader) sees the whole picture, and each failure carries one
cause code, an explanation and evidence.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from checks.context import CheckContext
from checks.kinds import EARLY, KINDS, PREPARE
from lab.i18n import _
from lab.inns import InNsError
from lab.lessons import Lesson, Milestone
from lab.model import LessonReport, MilestoneResult, Outcome
from lab.world import World


def run_milestone(ctx: CheckContext, milestone: Milestone) -> MilestoneResult:
    started = time.perf_counter()
    func = KINDS.get(milestone.check)
    if func is None:
        outcome = Outcome.fail(
            None,
            _("unknown check kind {milestone_check!r} (a lesson bug)").format(
                milestone_check=milestone.check
            ),
        )
    else:
        try:
            outcome = func(ctx, milestone.args)
        except KeyError as exc:
            outcome = Outcome.fail(
                None,
                _(
                    "the check could not run: milestone {milestone_id!r} ({milestone_check}) needs "
                    "the argument {exc} in lesson.toml (a lesson bug)"
                ).format(milestone_id=milestone.id, milestone_check=milestone.check, exc=exc),
            )
        except Exception as exc:  # a lesson bug or a wrecked world: one line, never a traceback
            # an InNsError carries the helper's traceback: its last line says what failed
            lines = [line for line in str(exc).splitlines() if line.strip()] or [repr(exc)]
            detail = lines[-1].strip()
            if not isinstance(exc, (InNsError, OSError)):  # a bug in the lesson's args
                detail = f"{type(exc).__name__}: {detail} (milestone {milestone.id!r})"
            outcome = Outcome.fail(
                None, _("the check could not run: {detail}").format(detail=detail)
            )
    took = round((time.perf_counter() - started) * 1000)
    return MilestoneResult.from_outcome(milestone.id, milestone.title, outcome, took)


def prepare_probes(ctx: CheckContext, milestones: Sequence[Milestone]) -> None:
    """Start the probes these milestones will send (a malformed milestone is left to its check)."""
    for milestone in milestones:
        prepare = PREPARE.get(milestone.check)
        if prepare is not None:
            try:
                prepare(ctx, milestone.args)
            except (KeyError, ValueError, TypeError, OSError):
                continue


def trace_failures(
    world: World, milestones: Sequence[Milestone], results: Sequence[MilestoneResult]
) -> None:
    """Keep, with each failing milestone that sends a packet, that packet's trace."""
    from checks.trace import for_milestone  # its probes load only when a trace is asked for

    done: dict[Any, Any] = {}
    for milestone, result in zip(milestones, results, strict=True):
        if not result.passed:
            result.trace = for_milestone(world, milestone.check, milestone.args, done)


def check_lesson(
    world: World,
    lesson: Lesson,
    timeout: float = 0.4,
    trace: bool = False,
    observe: bool = True,
) -> LessonReport:
    """Judge every milestone of ``lesson`` in ``world`` (call from a single-threaded process).

    The snapshot and the probes overlap: the lesson's probes start, all at once (each
    in its own child), while the snapshot is read, and send once stale neighbour
    entries are gone; each probe gets it when it is in, to judge where a lost
    packet ended (failing probes wait their grace together, and during the read).
    Probes that need the snapshot to be planned start after it. Then the
    milestones are judged in order, each collecting its probe's result.
    ``observe=False`` leaves out the milestones met by the learner looking
    (:attr:`Milestone.observes`): a grader judges the network a submission built,
    not what it looked at.
    """
    milestones = lesson.milestones if observe else lesson.network_milestones
    started = time.perf_counter()
    ctx = CheckContext(world, timeout=timeout)
    try:
        if any(m.check in PREPARE for m in milestones):
            # best effort: a namespace that cannot be entered (the learner put garbage
            # in /run/netns) is reported by the milestones that need it, one line each
            with contextlib.suppress(InNsError):
                ctx.begin_state()
            prepare_probes(ctx, [m for m in milestones if m.check in EARLY])
            ctx.release()  # once stale neighbour entries are gone: the probes send
            ctx.publish_state()
            prepare_probes(ctx, [m for m in milestones if m.check not in EARLY])
        results = [run_milestone(ctx, m) for m in milestones]
    finally:
        ctx.close()
    if trace:
        trace_failures(world, milestones, results)
    return LessonReport(
        lesson=lesson.id,
        world=world.name,
        milestones=results,
        duration_ms=round((time.perf_counter() - started) * 1000),
    )
