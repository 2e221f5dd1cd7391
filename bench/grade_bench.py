#!/usr/bin/env python3
"""Benchmark: grade N submissions of one lesson, each in its own fresh world.

Not a timed test: it prints figures. The target is 100 submissions under 60 s
on a 2-core machine. By default it grades copies of the grading fixture
course's model answers (a mix of correct, partial and broken submissions) for
lesson 1; point CNLAB_LESSONS and --lesson/--submission elsewhere to measure a
real lesson. ``--class05`` grades the real lesson 5 (target: 100 under 30 s):
its reference solution (five ``ping -c 2``) and each broken variant of the
class fixture (tests/fixtures/class-05), in turn. Besides the wall time it
prints the CPU time of the grader and everything it started (user + system),
a figure other work on the machine changes far less than the wall time.

    .venv/bin/python bench/grade_bench.py              # 100 submissions, fork pool
    .venv/bin/python bench/grade_bench.py -n 20 --context spawn
    .venv/bin/python bench/grade_bench.py --class05    # real lesson 5, 100 submissions
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.lessons import Lesson

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
    parser.add_argument(
        "--class05",
        action="store_true",
        help="real lesson 5: its reference solution and the class-05 fixture's broken variants",
    )
    args = parser.parse_args()
    if args.class05:
        os.environ["CNLAB_LESSONS"] = ""  # the real course
        args.lesson = "5"
    os.environ.setdefault("CNLAB_LESSONS", str(FIXTURES))

    started = time.perf_counter()
    import checks.engine  # noqa: F401
    from lab.grading.runner import grade_all, load_submissions
    from lab.grading.sandbox import Limits
    from lab.lessons import load_course

    imports = time.perf_counter() - started
    lesson = load_course().find(args.lesson)
    scratch = tempfile.TemporaryDirectory(prefix="cnlab-bench-src-")
    sources = (
        [Path(p) for p in args.submission]
        if args.submission
        else class05_sources(lesson, Path(scratch.name))
        if args.class05
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
        cpu0 = _cpu()
        run = grade_all(lesson, subs, args.jobs, Limits(timeout=args.timeout), context=args.context)
        wall = time.perf_counter() - t0
        cpu = _cpu() - cpu0
    scratch.cleanup()

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
    print(
        f"cpu {cpu:.1f} s (grader and all it started, user + system; "
        f"{cpu / len(run.grades) * 1000:.0f} ms per submission); "
        f"load average {os.getloadavg()[0]:.1f}"
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
    goal = 30 if args.class05 else 60
    print(
        f"target: 100 submissions under {goal} s ->",
        "MET" if wall / len(run.grades) * 100 < goal else "MISSED",
    )
    return 0


def class05_sources(lesson: Lesson, folder: Path) -> list[Path]:
    """Lesson 5's reference solution (as its own file) and the class fixture's broken ones."""
    reference = folder / "reference.sh"
    reference.write_text(lesson.solution_script(), encoding="utf-8")
    broken = sorted(p for p in (ROOT / "tests" / "fixtures" / "class-05").glob("*.sh"))
    return [reference, *(p for p in broken if p.name != "correct.sh")]


def _cpu() -> float:
    """User + system seconds of this process and every child it has waited for."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    sys.exit(main())
