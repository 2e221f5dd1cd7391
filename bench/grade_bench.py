#!/usr/bin/env python3
"""Benchmark: grade N submissions of one lesson, each in its own fresh world.

Not a timed test: it prints figures. The target is 100 submissions under 60 s
on a 2-core machine. By default it grades copies of the grading fixture
course's model answers (a mix of correct, partial and broken submissions) for
lesson 1; point CNLAB_LESSONS and --lesson/--submission elsewhere to measure a
real lesson.

    .venv/bin/python bench/grade_bench.py              # 100 submissions, fork pool
    .venv/bin/python bench/grade_bench.py -n 20 --context spawn
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "grading-course"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="number of submissions (100)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--lesson", default="1")
    parser.add_argument("--submission", action="append", help="file(s) to copy (repeatable)")
    parser.add_argument("--context", choices=["fork", "spawn"], default="fork")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    os.environ.setdefault("CNLAB_LESSONS", str(FIXTURES))

    started = time.perf_counter()
    import checks.engine  # noqa: F401
    from lab.grading.runner import grade_all, load_submissions
    from lab.grading.sandbox import Limits
    from lab.lessons import load_course

    imports = time.perf_counter() - started
    lesson = load_course().find(args.lesson)
    sources = (
        [Path(p) for p in args.submission]
        if args.submission
        else [
            FIXTURES / "class-01" / "correct.sh",
            FIXTURES / "class-01" / "partial.sh",
            FIXTURES / "class-01" / "broken.sh",
        ]
    )
    with tempfile.TemporaryDirectory(prefix="cnlab-bench-") as tmp:
        for i in range(args.n):
            src = sources[i % len(sources)]
            (Path(tmp) / f"{i:04d}-{src.name}").write_bytes(src.read_bytes())
        subs = load_submissions([tmp])
        t0 = time.perf_counter()
        run = grade_all(lesson, subs, args.jobs, Limits(timeout=args.timeout), context=args.context)
        wall = time.perf_counter() - t0

    stages = ("world", "start", "submission", "checks", "cleanup", "total")
    print(
        f"lesson {lesson.id}: {len(run.grades)} submissions, {args.jobs} jobs, "
        f"{args.context} pool, {os.cpu_count()} cores"
    )
    print(
        f"imports {imports:.2f} s; grading wall time {wall:.1f} s "
        f"({wall / len(run.grades) * 1000:.0f} ms per submission, "
        f"{len(run.grades) / wall:.1f} submissions/s)"
    )
    print(f"{'stage':<12}{'mean ms':>9}{'median':>9}{'p95':>9}{'max':>9}")
    for stage in stages:
        values = sorted(g.timing_ms.get(stage, 0) for g in run.grades)
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(
            f"{stage:<12}{statistics.mean(values):>9.0f}{statistics.median(values):>9.0f}"
            f"{p95:>9}{values[-1]:>9}"
        )
    statuses: dict[str, int] = {}
    for g in run.grades:
        statuses[g.status] = statuses.get(g.status, 0) + 1
    scores = [g.score for g in run.grades]
    print(
        f"statuses {statuses}; mean score {statistics.mean(scores):.2f}/"
        f"{run.grades[0].max_score:g}; passed {sum(g.passed for g in run.grades)}"
    )
    print(
        "target: 100 submissions under 60 s ->",
        "MET" if wall / len(run.grades) * 100 < 60 else "MISSED",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
