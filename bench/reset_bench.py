"""Resets: a lesson's start state, built three ways, beside a naive baseline.

For each lesson, with a world of the same name already standing (as when a
learner resets), runs are interleaved so all see the same load:

* ``in_process``: :func:`lab.course_run.build_lesson` (destroy, create, ``start.sh``);
* ``baseline``: the same, but ``start.sh`` in its naive form, one ``ip`` or
  ``iptables`` process per command (:mod:`bench.naive`), run with ``World.run``;
* ``script`` / ``baseline_script``: only the script part of each (the world
  already created), where the two differ;
* ``cli``: a whole ``cnlab reset N --world W`` process (Python start, imports,
  preflight, lock, progress file).

Once per lesson, the snapshots of both builds are compared (:mod:`bench.fingerprint`).
"""

from __future__ import annotations

import time
from typing import Any

from bench.fingerprint import fingerprint
from bench.naive import count_commands, naive_script
from bench.options import Options
from bench.stats import ratio, summarize, timed
from bench.worlds import cnlab, scratch_world
from lab.course_run import build_lesson
from lab.lessons import Lesson
from lab.world import World


def _baseline(world: World, lesson: Lesson, script: str) -> float:
    """Seconds to build ``lesson``'s start state the naive way (what build_lesson does)."""
    started = time.perf_counter()
    world.create()
    result = world.run(script, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"naive {lesson.id} failed: {result.stderr.strip()[-300:]}")
    world.write_meta(lesson=lesson.id)
    return time.perf_counter() - started


def _script_only(world: World, script: str) -> float:
    """Seconds for ``script`` alone, in a world created just before (not timed)."""
    world.create()
    started = time.perf_counter()
    result = world.run(script, timeout=60)
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"start script failed: {result.stderr.strip()[-300:]}")
    return took


def bench_lesson(world: World, lesson: Lesson, opts: Options) -> dict[str, Any]:
    start = lesson.start_script()
    naive = naive_script(start)
    build_lesson(world, lesson)
    ours_state = fingerprint(world)
    _baseline(world, lesson, naive)
    same = fingerprint(world) == ours_state
    ours: list[float] = []
    base: list[float] = []
    ours_script: list[float] = []
    base_script: list[float] = []
    for _ in range(opts.runs):
        ours.append(timed(lambda: build_lesson(world, lesson)))
        base.append(_baseline(world, lesson, naive))
        ours_script.append(_script_only(world, start))
        base_script.append(_script_only(world, naive))
    cli = [
        timed(lambda: cnlab("reset", str(lesson.number), "--world", world.name))
        for _ in range(opts.process_runs)
    ]
    row: dict[str, Any] = {
        "in_process": summarize(ours),
        "baseline": summarize(base),
        "script": summarize(ours_script),
        "baseline_script": summarize(base_script),
        "cli": summarize(cli),
        "baseline_commands": count_commands(naive),
        "same_state": same,
    }
    row["ratio_in_process_to_baseline"] = ratio(row["in_process"], row["baseline"])
    row["ratio_script_to_baseline_script"] = ratio(row["script"], row["baseline_script"])
    return row


def run(opts: Options) -> dict[str, Any]:
    with scratch_world() as world:
        return {lesson.id: bench_lesson(world, lesson, opts) for lesson in opts.lessons()}
