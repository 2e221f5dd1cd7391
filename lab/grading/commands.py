"""The ``cnlab grade``, ``cnlab export`` and ``cnlab demo`` verbs (declared in lab.cli).

Every bad input (unknown lesson, missing, binary or huge submission, a bad
option) is checked before any world is built and ends in one line naming the
thing and a non-zero exit status (2), never a traceback.

``grade`` exits 0 when every submission was graded (whatever the scores), 1 if
some could not be graded (status ``error``), 2 on bad input, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from lab import preflight, progress
from lab.errors import LabError
from lab.grading.runner import SubmissionGrade
from lab.lessons import Course, Lesson, load_course
from lab.world import World, locked, validate_name


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_grade(args: argparse.Namespace) -> int:
    from lab.grading.formats import FORMATS, render
    from lab.grading.runner import grade_all, load_submissions
    from lab.grading.sandbox import Limits

    preflight.require_all()
    if args.jobs < 1:
        raise LabError(f"--jobs must be at least 1 (got {args.jobs})", status=2)
    if not args.timeout > 0:
        raise LabError(f"--timeout must be a positive number of seconds (got {args.timeout})", 2)
    if args.format not in FORMATS:
        raise LabError(f"unknown --format {args.format!r} (use {', '.join(FORMATS)})", status=2)
    lesson = load_course().find(args.lesson)
    subs = load_submissions(args.submissions)
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise LabError(f"--out {out}: folder {out.parent} does not exist", status=2)
    if out is not None and out.is_dir():
        raise LabError(f"--out {out}: is a folder; give a file name", status=2)

    total = len(subs)
    done = [0]

    def show(grade: SubmissionGrade) -> None:
        done[0] += 1
        took = grade.timing_ms.get("total", 0) / 1000
        note = "" if grade.status == "ok" else f"  [{grade.status}: {grade.reason}]"
        print(
            f"graded {done[0]}/{total}: {grade.name}  {grade.score:g}/{grade.max_score:g}"
            f"  ({took:.1f} s){note}",
            file=sys.stderr,
        )

    old = signal.signal(signal.SIGTERM, _interrupt)
    try:
        run = grade_all(lesson, subs, args.jobs, Limits(timeout=args.timeout), on_result=show)
    finally:
        signal.signal(signal.SIGTERM, old)
    text = render(run, args.format)
    if out is None:
        sys.stdout.write(text)
    else:
        _write_atomic(out, text)
        print(f"wrote {args.format} report of {total} submission(s) to {out}", file=sys.stderr)
    return 1 if any(g.status == "error" for g in run.grades) else 0


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _lesson_of(course: Course, ref: str | None, world: World) -> Lesson:
    if ref:
        return course.find(ref)
    if world.dir.exists() and world.lesson:
        return course.find(world.lesson)
    current = progress.load(world.name).current
    if current:
        return course.find(current)
    raise LabError(
        f"world {world.name!r} has no current lesson: name one, e.g. `cnlab export 1`", 2
    )


def cmd_export(args: argparse.Namespace) -> int:
    world = World(validate_name(args.world))
    lesson = _lesson_of(load_course(), args.lesson, world)
    entry = progress.load(world.name).lessons.get(lesson.id)
    commands = entry.commands if entry else []
    if not commands:
        raise LabError(
            f"no commands recorded for {lesson.id} in world {world.name!r} "
            "(commands typed in the lab's shell are recorded)"
        )
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [
        "# cnlab submission",
        f"# lesson: {lesson.id} ({lesson.title})",
        f"# world: {world.name}",
        f"# exported: {stamp}",
        f"# grade it with: cnlab grade {lesson.id} FILE",
        *commands,
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lab.grading.demo import run_demo

    preflight.require_all()
    if not args.speed >= 0:
        raise LabError(f"--speed must be 0 or more (got {args.speed})", status=2)
    world = World(validate_name(args.world)).require()
    lesson = load_course().find(args.lesson)
    with locked(world.name):
        state = run_demo(world, lesson, step=args.step, speed=args.speed)
    return 0 if all(state.values()) else 1
