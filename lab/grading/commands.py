"""The ``cnlab grade``, ``cnlab export`` and ``cnlab demo`` verbs (declared in lab.cli).

Every bad input (unknown lesson, missing, binary or huge submission, a bad
option) is checked before any world is built and ends in one line naming the
thing and a non-zero exit status (2), never a traceback.

``grade`` exits 0 when every submission was graded (whatever the scores), 1 if
some could not be graded (status ``error``), 2 on bad input, 3 when
``--fail-under``/``--strict`` is given and a submission falls short (so that a
command grader such as GitHub Classroom's, which passes on exit 0, is right),
130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import stat
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from lab import preflight, progress
from lab.course_run import current_lesson
from lab.errors import LabError
from lab.lessons import Course, Lesson, load_course
from lab.model import SubmissionGrade
from lab.world import World, locked, validate_name


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def refuse_ungradable(lesson: Lesson) -> None:
    """One line and exit 2 for a lesson the sandbox cannot grade fairly: a correct
    submission would fail there (see :data:`lab.grading.jail.NEEDS_WRITABLE_PROC`)."""
    from lab.grading.jail import NEEDS_WRITABLE_PROC

    if any(m.check in NEEDS_WRITABLE_PROC for m in lesson.milestones):
        raise LabError(
            f"lesson {lesson.id} cannot be graded: its rootless namespace needs a writable "
            "/proc/PID/uid_map, which the grading sandbox keeps read-only (docs/grading.md)",
            status=2,
        )


def cmd_grade(args: argparse.Namespace) -> int:
    from lab.grading.cgroups import scope_argv
    from lab.grading.formats import FORMATS, render
    from lab.grading.runner import grade_all, load_submissions
    from lab.grading.sandbox import Limits

    preflight.require_all()
    scoped = scope_argv([sys.executable, *sys.orig_argv[1:]], dict(os.environ))
    if scoped is not None:
        # Pure cgroup v2 under systemd: run again in a scope that systemd
        # delegates to us, where the sandboxes' limits can be set (see cgroups).
        sys.stdout.flush()
        sys.stderr.flush()
        os.execvpe(scoped[0], scoped, {**os.environ, "CNLAB_GRADE_SCOPE": "1"})
    if args.jobs < 1:
        raise LabError(f"--jobs must be at least 1 (got {args.jobs})", status=2)
    if not args.timeout > 0:
        raise LabError(f"--timeout must be a positive number of seconds (got {args.timeout})", 2)
    if args.format not in FORMATS:
        raise LabError(f"unknown --format {args.format!r} (use {', '.join(FORMATS)})", status=2)
    bar = parse_fail_under(getattr(args, "fail_under", None))
    lesson = load_course().find(args.lesson)
    refuse_ungradable(lesson)
    # Gradescope shows the student whatever results.json says: a file that cannot
    # be graded still gets one (0 points and why), never an autograder failure.
    replay = getattr(args, "replay", "auto")
    subs = load_submissions(args.submissions, lenient=args.format == "gradescope", replay=replay)
    out = check_out(args.out)

    total = len(subs)
    done = [0]

    def show(grade: SubmissionGrade) -> None:
        done[0] += 1
        took = grade.timing_ms.get("total", 0) / 1000
        note = "" if grade.status == "ok" else f"  [{grade.status}: {grade.reason}]"
        print(
            f"graded {done[0]}/{total}: {grade.name}  {grade.score:g}/{grade.max_score:g}"
            f"  ({took:.1f} s, {grade.replay}){note}",
            file=sys.stderr,
        )

    old = signal.signal(signal.SIGTERM, _interrupt)
    try:
        limits = Limits(timeout=args.timeout)
        run = grade_all(lesson, subs, args.jobs, limits, on_result=show)
    finally:
        signal.signal(signal.SIGTERM, old)
    text = render(run, args.format)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_report(out, text)
        print(f"wrote {args.format} report of {total} submission(s) to {out}", file=sys.stderr)
    return exit_status(run.grades, bar, getattr(args, "strict", False))


def parse_fail_under(raw: str | None) -> tuple[float, bool] | None:
    """``--fail-under``: (value, is_percentage), or None when not given."""
    if raw is None:
        return None
    text = raw.strip()
    percent = text.endswith("%")
    try:
        value = float(text[:-1] if percent else text)
    except ValueError:
        value = float("nan")
    if not (0 <= value <= (100 if percent else 1e6)):
        raise LabError(
            f"--fail-under wants a score (points, e.g. 5) or a percentage (e.g. 80%), not {raw!r}",
            status=2,
        )
    return value, percent


def exit_status(grades: list[SubmissionGrade], bar: tuple[float, bool] | None, strict: bool) -> int:
    """1 if a submission could not be graded; 3 if one is under the bar (or, with
    ``strict``, did not pass); 0 otherwise. A command grader (GitHub Classroom)
    passes on 0 only."""
    if any(g.status == "error" for g in grades):
        return 1
    for g in grades:
        if strict and not g.passed:
            return 3
        if bar is not None:
            value, percent = bar
            score = 100 * g.score / g.max_score if percent and g.max_score else g.score
            if score < value:
                return 3
    return 0


def check_out(raw: str | None) -> Path | None:
    """The ``--out`` target (None: standard output), checked before any world is built."""
    if raw is None or raw == "-":
        return None
    out = Path(raw)
    if not out.parent.is_dir():
        raise LabError(f"--out {out}: folder {out.parent} does not exist", status=2)
    if out.is_dir():
        raise LabError(f"--out {out}: is a folder; give a file name", status=2)
    if out.is_symlink() and not out.exists():
        raise LabError(f"--out {out}: a symbolic link to nothing; give a file name", status=2)
    return out


def write_report(path: Path, text: str) -> None:
    """Write the report to ``path``.

    A regular file (or a new name) is replaced whole, so a reader never sees half
    a report. Anything else (a symbolic link, a FIFO, a device such as
    /dev/stdout or /dev/null) is written in place, through what it points to:
    it is never replaced by a regular file.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is None or stat.S_ISREG(st.st_mode):
        _write_atomic(path, text)
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:  # O_TRUNC is ignored by FIFOs/devices
            fh.write(text)
    except OSError as exc:
        raise LabError(f"--out {path}: cannot write the report: {exc.strerror}") from exc


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
    lesson = current_lesson(course, world, ref)
    if lesson:
        return lesson
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
