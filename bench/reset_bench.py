"""Resets: a lesson's start state, built three ways, beside a naive baseline.

For each lesson, with a world of the same name already standing (as when a
learner resets), runs are interleaved so all see the same load:

* ``in_process``: :func:`lab.course_run.build_lesson` (destroy, create, ``start.sh``);
* ``baseline``: the same, but ``start.sh`` in its naive form, one ``ip`` or
  ``iptables`` process per command (:mod:`bench.naive`), run with ``World.run``;
* ``script`` / ``baseline_script``: only the script part of each (the world
  already created), where the two differ;
* ``cli``: a whole ``cnlab reset N --world W`` process (Python start, imports,
  preflight, lock, progress file), alternating run by run with
* ``shell``: the whole-process baseline, one plain bash script that tears down and
  builds the same sealed world and the same start state, one process per command
  (:mod:`bench.shell_world`), in a world of its own.

Both whole processes are timed by :func:`bench.worlds.timed_process`. Once per
lesson, the snapshots of the builds are compared (:mod:`bench.fingerprint`): the
naive in-process build and the bash script must both give ``cnlab reset``'s state.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from bench.fingerprint import fingerprint
from bench.naive import count_commands, naive_script
from bench.options import Options
from bench.shell_world import reset_script
from bench.stats import ratio, summarize, timed
from bench.worlds import CNLAB, scratch_world, timed_process
from lab.course_run import build_lesson
from lab.lessons import Lesson
from lab.world import World


def _baseline(world: World, lesson: Lesson, script: str) -> float:
    """Seconds to build ``lesson``'s start state the naive way (what build_lesson does)."""
    started = time.perf_counter()
    world.create()
    result = world.run(script, timeout=60, shims=False)  # the real tools, as build_lesson
    if result.returncode != 0:
        raise RuntimeError(f"naive {lesson.id} failed: {result.stderr.strip()[-300:]}")
    world.write_meta(lesson=lesson.id)
    return time.perf_counter() - started


def _script_only(world: World, script: str) -> float:
    """Seconds for ``script`` alone, in a world created just before (not timed)."""
    world.create()
    started = time.perf_counter()
    result = world.run(script, timeout=60, shims=False)
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"start script failed: {result.stderr.strip()[-300:]}")
    return took


def _processes(world: World, shell_world: World, lesson: Lesson, runs: int) -> dict[str, Any]:
    """``cnlab reset`` and the bash baseline as whole processes, alternately."""
    script = reset_script(shell_world, lesson.id, naive_script(lesson.start_script()))
    with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="cnlab-bench-") as fh:
        fh.write(script)
        fh.flush()
        shell_argv = ["bash", fh.name]
        cli_argv = [*CNLAB, "reset", str(lesson.number), "--world", world.name]
        timed_process(cli_argv)
        timed_process(shell_argv)
        same = fingerprint(shell_world) == fingerprint(world)
        cli: list[float] = []
        shell: list[float] = []
        for _ in range(runs):
            cli.append(timed_process(cli_argv))
            shell.append(timed_process(shell_argv))
    return {"cli": summarize(cli), "shell": summarize(shell), "shell_same_state": same}


def bench_lesson(world: World, shell_world: World, lesson: Lesson, opts: Options) -> dict[str, Any]:
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
    row: dict[str, Any] = {
        "in_process": summarize(ours),
        "baseline": summarize(base),
        "script": summarize(ours_script),
        "baseline_script": summarize(base_script),
        "baseline_commands": count_commands(naive),
        "same_state": same,
        **_processes(world, shell_world, lesson, opts.runs),
    }
    row["ratio_in_process_to_baseline"] = ratio(row["in_process"], row["baseline"])
    row["ratio_script_to_baseline_script"] = ratio(row["script"], row["baseline_script"])
    row["ratio_cli_to_shell"] = ratio(row["cli"], row["shell"])
    return row


def run(opts: Options) -> dict[str, Any]:
    with scratch_world() as world, scratch_world() as shell_world:
        return {
            lesson.id: bench_lesson(world, shell_world, lesson, opts) for lesson in opts.lessons()
        }
