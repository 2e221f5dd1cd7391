"""Checks per lesson, failing (start state, with diagnoses) and passing (after solve).

For each lesson the world is built at the start state, then:

* ``warm_failing``: ``check`` requests to one long-lived ``python -m checks.server``
  (the TUI's path); the first request of each series is a warm-up and is not
  counted, every later one is timed from write to parsed reply;
* ``cold_failing``: a whole ``cnlab check N --world W --json`` process (Python
  start, imports of the check engine and pyroute2, the checks, progress file),
  timed by :func:`bench.worlds.timed_process`;

then ``cnlab solve N`` applies the reference solution and the same two are
measured as ``warm_passing`` and ``cold_passing``. ``engine_*_ms`` is the
time the engine itself reported for the last warm run (without the JSON trip).
Every report is verified: failing at the start, passing after the solution.
``warm_trace`` times the check server's ``trace`` of the first failing milestone that
sends a packet (``cnlab trace``: one probe, counters read before and after).
``corpus`` times the failing check of every broken world of the lesson
(``tests/corpus/broken``, see :mod:`bench.corpus`); ``start_ratio`` and each
case's ``ratio`` are failing over passing medians, ``corpus_worst`` the worst case.
``must_fail_probes`` counts milestones that pass only when a probe gets *no*
answer ("see it fail"): the probe decides by seeing where its packet ended
(:mod:`checks.fate`), not by waiting out its timeout.
"""

from __future__ import annotations

from typing import Any

from bench import corpus
from bench.options import Options
from bench.server import CheckServer
from bench.stats import summarize
from bench.worlds import CNLAB, cnlab, scratch_world, timed_process
from lab.course_run import build_lesson
from lab.lessons import Lesson
from lab.world import World


def must_fail_probes(lesson: Lesson) -> int:
    """Milestones whose probe must get no answer (decided by where the packet was seen to end)."""
    return sum(
        1
        for m in lesson.milestones
        if m.check in ("ping", "http")
        and m.args.get("expect", "reply") not in ("reply", "ok")
        and not (m.check == "http" and m.args.get("expect") == "refused")
    )


def _warm(
    server: CheckServer, lesson: Lesson, runs: int, want_pass: bool
) -> tuple[dict[str, Any], int, float]:
    first, reply = server.request("check", lesson=lesson.id)
    times: list[float] = []
    for _ in range(runs):
        took, reply = server.request("check", lesson=lesson.id)
        times.append(took)
    report = reply["report"]
    if bool(report["passed"]) != want_pass:
        raise RuntimeError(f"{lesson.id}: expected passed={want_pass}, got {report['passed']}")
    return summarize(times), int(report["duration_ms"]), first


def _warm_trace(server: CheckServer, lesson: Lesson, runs: int) -> dict[str, Any] | None:
    """``trace`` requests for the first failing milestone that sends a packet (the TUI's
    path view, ``cnlab check --trace``); None when no failing milestone sends one."""
    from checks.trace import CONNECTIVITY

    _, reply = server.request("check", lesson=lesson.id)
    failing = {m["id"] for m in reply["report"]["milestones"] if not m["passed"]}
    chosen = next(
        (m for m in lesson.milestones if m.id in failing and m.check in CONNECTIVITY), None
    )
    if chosen is None:
        return None
    times = []
    for _ in range(runs):
        took, answer = server.request("trace", lesson=lesson.id, milestone=chosen.id)
        if answer.get("trace") is None:
            return None
        times.append(took)
    return summarize(times)


def _cold(world: World, lesson: Lesson, runs: int) -> dict[str, Any]:
    argv = [*CNLAB, "check", str(lesson.number), "--world", world.name, "--json"]
    return summarize([timed_process(argv, check=False) for _ in range(runs)])


def bench_lesson(
    server: CheckServer, world: World, lesson: Lesson, opts: Options
) -> dict[str, Any]:
    build_lesson(world, lesson)
    failing, engine_failing, first = _warm(server, lesson, opts.runs, want_pass=False)
    cold_failing = _cold(world, lesson, opts.process_runs)
    trace = _warm_trace(server, lesson, opts.runs)
    cnlab("solve", str(lesson.number), "--world", world.name)
    passing, engine_passing, _ = _warm(server, lesson, opts.runs, want_pass=True)
    cold_passing = _cold(world, lesson, opts.process_runs)
    return {
        "warm_failing": failing,
        "warm_trace": trace,
        "warm_passing": passing,
        "cold_failing": cold_failing,
        "cold_passing": cold_passing,
        "first_request_ms": round(first * 1000, 2),
        "milestones": len(lesson.milestones),
        "must_fail_probes": must_fail_probes(lesson),
        "engine_failing_ms": engine_failing,
        "engine_passing_ms": engine_passing,
    }


def run(opts: Options) -> dict[str, Any]:
    with scratch_world() as world:
        build_lesson(world, opts.lessons()[0])
        server = CheckServer(world.name)
        try:
            server.request("ping")
            found = {
                lesson.id: bench_lesson(server, world, lesson, opts) for lesson in opts.lessons()
            }
            broken = corpus.broken_worlds()
            for lesson in opts.lessons():
                cases = corpus.cases_for(lesson, broken, 1 if opts.quick else None)
                found[lesson.id]["corpus"] = {
                    case.name: corpus.bench_case(server, world, lesson, case, opts.runs)
                    for case in cases
                }
                corpus.add_ratios(found[lesson.id])
            return found
        finally:
            server.close()
