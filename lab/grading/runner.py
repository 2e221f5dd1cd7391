"""Grade many submissions of one lesson: each in its own fresh world, in parallel.

One job = one submission::

    world    World("grade-<pid>-<n>").create()       fresh namespaces
    start    the lesson's start.sh in the world      the lesson's start state
    run      the submission in a Sandbox             contained, time/output limited
    checks   checks.engine.check_lesson(...)         every milestone, with diagnoses
    cleanup  sandbox stopped, world destroyed        always, even on error/timeout/Ctrl-C

Each job runs in a child forked for it from this (single-threaded) process
after the check engine (scapy, pyroute2) has been imported, so a job pays no
import time; the engine forks per namespace and needs a single-threaded process,
which each child is. A child that dies or hangs costs only its own submission an
``error`` grade. (Spawned children re-import scapy; see bench/grade_bench.py.)

If the run is interrupted, the children get SIGTERM, which raises inside the job
so that its ``finally`` tears the world down; the parent then sweeps every world
and cgroup name it handed out, whatever state the children were left in.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.debug import quietly
from lab.errors import LabError
from lab.grading import cgroups
from lab.grading.sandbox import Limits, RunResult, Sandbox
from lab.lessons import Lesson
from lab.model import LessonReport, MilestoneGrade, SubmissionGrade
from lab.world import World

MAX_SUBMISSION_BYTES = 256 * 1024
SUFFIXES = (".sh", ".txt", ".bash", "")


@dataclass(frozen=True)
class Submission:
    path: Path
    name: str
    index: int
    data: bytes = b""  # what bash reads (line endings normalised)
    notes: tuple[str, ...] = ()  # what was changed on the way, for the report
    problem: str | None = None  # set when the file cannot be graded (lenient loading)
    replay: str = "script"  # typed (line by line at a prompt, lab/typed.py) or script (bash -s)

    def lines(self) -> list[str]:
        """The lines a typed replay types, in order."""
        return self.data.decode("utf-8").splitlines()


@dataclass
class GradeRun:
    lesson: Lesson
    grades: list[SubmissionGrade]
    jobs: int
    limits: Limits
    seconds: float

    def to_json(self) -> dict[str, Any]:
        scores = [g.score for g in self.grades]
        stages = ("world", "start", "submission", "checks", "cleanup", "total")
        return {
            "format": "cnlab-grades/1",
            "lesson": {
                "id": self.lesson.id,
                "number": self.lesson.number,
                "title": self.lesson.title,
                "milestones": [
                    {"id": m.id, "title": m.title} for m in self.lesson.network_milestones
                ],
            },
            "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": {
                "jobs": self.jobs,
                "timeout_s": self.limits.timeout,
                "output_keep_bytes": self.limits.output_keep,
                "output_max_bytes": self.limits.output_max,
                "pids_max": self.limits.pids,
                "memory_mb": self.limits.memory_mb,
                "scratch_mb": self.limits.scratch_mb,
                "settle_s": self.limits.settle,
            },
            "summary": {
                "submissions": len(self.grades),
                "passed": sum(g.passed for g in self.grades),
                "mean_score": round(sum(scores) / len(scores), 3) if scores else 0.0,
                "max_score": float(len(self.lesson.network_milestones)),
                "duration_ms": round(self.seconds * 1000),
                "mean_stage_ms": {
                    s: round(sum(g.timing_ms.get(s, 0) for g in self.grades) / len(self.grades))
                    if self.grades
                    else 0
                    for s in stages
                },
            },
            "submissions": [g.to_json() for g in self.grades],
        }


# ------------------------------------------------------------------ input


CRLF_NOTE = "the file had Windows (CRLF) line endings; they were read as Unix (LF) ones"
EXPORT_MARK = b"# cnlab submission"  # the first line of every file `cnlab export` writes
REPLAYS = ("auto", "typed", "script")


def replay_of(data: bytes, wanted: str) -> str:
    """``typed`` or ``script``: ``auto`` means typed for files `cnlab export` made."""
    if wanted != "auto":
        return wanted
    return "typed" if data.lstrip(b"\xef\xbb\xbf").startswith(EXPORT_MARK) else "script"


def load_submissions(
    paths: Sequence[str], lenient: bool = False, replay: str = "auto"
) -> list[Submission]:
    """Check every submission file before any world is built; a folder means its files.

    ``replay`` says how each is run: typed at a prompt, as a script, or ``auto``
    (typed for the files `cnlab export` writes, which mark themselves).

    A file that cannot be graded (missing, binary, not UTF-8, too big, empty) is
    bad input (:class:`LabError`, status 2), unless ``lenient``: then it becomes a
    submission with ``problem`` set, graded 0 with that reason (a Gradescope
    autograder must always write a result for the student to read).
    """
    files: list[Path] = []
    problems: dict[Path, str] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not inside:
                raise LabError(f"{path}: folder has no submission files", status=2)
            files.extend(inside)
            continue
        files.append(path)
        if path.exists() and not path.is_file():
            problems[path] = "not a regular file"
        elif not path.exists():
            problems[path] = "submission file not found"
    subs: list[Submission] = []
    names: set[str] = set()
    for index, path in enumerate(files):
        name = path.name
        if name in names:
            name = str(path)
        names.add(name)
        problem = problems.get(path)
        data: bytes = b""
        notes: tuple[str, ...] = ()
        if problem is None:
            try:
                data, notes = _read_submission(path)
            except _Unusable as exc:
                problem = str(exc)
        if problem is not None:
            if not lenient:
                raise LabError(f"{path}: {problem}", status=2)
            subs.append(Submission(path.absolute(), name, index, problem=problem))
            continue
        subs.append(
            Submission(
                path.resolve(), name, index, data=data, notes=notes, replay=replay_of(data, replay)
            )
        )
    return subs


class _Unusable(Exception):
    """A submission file that cannot be graded; the message says why."""


def _read_submission(path: Path) -> tuple[bytes, tuple[str, ...]]:
    """The bytes bash will read, and notes on what was normalised."""
    try:
        size = path.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            raise _Unusable(
                f"too big for a submission ({size // 1024} KiB; "
                f"the limit is {MAX_SUBMISSION_BYTES // 1024} KiB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise _Unusable(f"cannot read it: {exc.strerror}") from exc
    if b"\0" in data:
        raise _Unusable("binary file, not shell commands")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unusable(f"not UTF-8 text (byte {exc.start})") from exc
    if not data.strip():
        raise _Unusable("empty submission: no commands to run")
    notes: tuple[str, ...] = ()
    if b"\r\n" in data:
        # Saved on Windows: bash would run `ip netns add alpha\r` (a namespace
        # called "alpha\r"). Read it as the learner meant it, and say so.
        data = data.replace(b"\r\n", b"\n")
        notes = (CRLF_NOTE,)
    return data, notes


# ------------------------------------------------------------------ one job


class Terminated(BaseException):
    """Raised inside a worker by SIGTERM so the job's ``finally`` cleans up."""


def world_name(run_id: int, index: int) -> str:
    return f"grade-{run_id}-{index}"


def grade_one(lesson: Lesson, sub: Submission, run_id: int, limits: Limits) -> SubmissionGrade:
    """Grade one submission in a fresh world; the world is always destroyed."""
    from checks.engine import check_lesson  # imported by the parent before forking

    world = World(world_name(run_id, sub.index))
    timing: dict[str, int] = {}
    clock = time.perf_counter()
    began = clock

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timing[stage] = round((now - clock) * 1000)
        clock = now

    run: RunResult | None = None
    report = None
    error: str | None = None
    sandbox: Sandbox | None = None
    if sub.problem is not None:
        timing.update(total=0)
        return _grade(lesson, sub, world, None, None, None, timing)
    try:
        world.create(graded=True)  # with the graded replay's helpers (a quick ping)
        lap("world")
        start = world.run(lesson.start_script(), timeout=60)
        if start.returncode != 0:
            last = (start.stderr or start.stdout).strip().splitlines()
            raise LabError(
                f"the lesson's start.sh failed (exit {start.returncode})"
                + (f": {last[-1]}" if last else "")
            )
        world.write_meta(lesson=lesson.id)
        lap("start")
        sandbox = Sandbox(world, limits)
        if sub.replay == "typed":
            run = sandbox.run_typed(sub.lines(), settle=limits.settle)
        else:
            run = sandbox.run(sub.data)
        lap("submission")
        # The checks' helpers (one per namespace the submission left) run under
        # the same kind of limits as the submission.
        fence = cgroups.JobCgroups(
            f"cnlab-{world.name}-checks", limits.pids, limits.memory_mb << 20
        )
        with cgroups.confined(fence):
            # the network the submission built (it drops stale neighbour entries itself);
            # what a learner looks at is the lab's, not a grade's: observations left out
            report = check_lesson(world, lesson, observe=False)
        lap("checks")
        late = sandbox.limit_hit()  # e.g. a fork bomb left running in the background
        if late is not None and run.status == "ok":
            run.status, run.reason = late[0], late[1]
    except LabError as exc:
        error = exc.message
    except Terminated:
        error = "grading was interrupted"
        raise
    except Exception as exc:
        error = f"grading failed: {exc!r}"
        if os.environ.get("CNLAB_DEBUG"):
            traceback.print_exc()
    finally:
        if sandbox is not None:
            sandbox.stop()
        world.destroy()
        lap("cleanup")
        timing["total"] = round((time.perf_counter() - began) * 1000)
    grade = _grade(lesson, sub, world, run, report, error, timing)
    if not grade.passed:
        tail = sandbox.transcript_tail if sandbox is not None and sub.replay == "typed" else ""
        grade.transcript_tail = tail or _tail(grade.output)
    return grade


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _grade(
    lesson: Lesson,
    sub: Submission,
    world: World,
    run: RunResult | None,
    report: LessonReport | None,
    error: str | None,
    timing: dict[str, int],
) -> SubmissionGrade:
    milestones: list[MilestoneGrade] = []
    if report is not None:
        milestones = [MilestoneGrade.of(m) for m in report.milestones]
    else:
        why = f"not checked: {error}" if error else "not checked"
        milestones = [
            MilestoneGrade.not_checked(lm.id, lm.title, why) for lm in lesson.network_milestones
        ]
    status: str
    reason: str | None
    if sub.problem is not None:
        status, reason = "invalid", f"the submission could not be used: {sub.problem}"
        for m in milestones:
            m.explanation = f"not checked: {reason}"
    elif error is not None:
        status, reason = "error", error
    elif run is not None:
        status, reason = run.status, run.reason
    else:
        status, reason = "error", "the submission did not run"
    score = sum(m.points for m in milestones)
    return SubmissionGrade(
        submission=str(sub.path),
        name=sub.name,
        world=world.name,
        status=status,
        reason=reason,
        passed=status == "ok" and all(m.passed for m in milestones),
        score=score,
        max_score=float(len(milestones)),
        milestones=milestones,
        exit_code=run.exit_code if run else None,
        output=run.output if run else "",
        output_bytes=run.output_bytes if run else 0,
        output_truncated=run.output_truncated if run else False,
        timing_ms=timing,
        enforced=run.enforced if run else {},
        notes=list(sub.notes),
        replay=sub.replay,
    )


# ------------------------------------------------------------------ the pool

_JOB: dict[str, Any] = {}


def _on_sigterm(signum: int, frame: object) -> None:
    if _JOB.get("busy"):
        raise Terminated()  # the job's finally destroys its world
    os._exit(143)  # idle worker: nothing to clean up


def _worker_init(lesson: Lesson, run_id: int, limits: Limits) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    signal.signal(signal.SIGTERM, _on_sigterm)
    _JOB.update(lesson=lesson, run_id=run_id, limits=limits, busy=False)


def _worker(sub: Submission) -> SubmissionGrade:
    _JOB["busy"] = True
    try:
        return grade_one(_JOB["lesson"], sub, _JOB["run_id"], _JOB["limits"])
    except Terminated:
        os._exit(143)  # cleaned up already; no traceback from the pool
    finally:
        _JOB["busy"] = False


def grade_all(
    lesson: Lesson,
    subs: Sequence[Submission],
    jobs: int,
    limits: Limits,
    on_result: Callable[[SubmissionGrade], None] | None = None,
    context: str = "fork",
) -> GradeRun:
    """Grade every submission, ``jobs`` worlds at a time; results in input order.

    ``context`` is the multiprocessing start method of the pool: ``fork`` (the
    default, measured faster) or ``spawn``.
    """
    import checks.engine  # noqa: F401  (warm the imports the forked workers share)

    # What is imported now is shared with every child forked below, copy on write:
    # moved out of the collector's reach, a child's collections never touch (and so
    # never copy) those pages.
    gc.freeze()

    run_id = os.getpid()
    started = time.perf_counter()
    results: dict[int, SubmissionGrade] = {}
    jobs = max(1, min(jobs, len(subs)))
    with cgroups.delegated(run_id):  # cgroup v2: a subtree of our own (see cgroups)
        try:
            if jobs == 1:
                for sub in subs:
                    results[sub.index] = grade_one(lesson, sub, run_id, limits)
                    if on_result:
                        on_result(results[sub.index])
            else:
                for sub, grade in _pool_map(subs, jobs, context, (lesson, run_id, limits)):
                    results[sub.index] = grade
                    if on_result:
                        on_result(grade)
        finally:
            sweep(run_id, subs)
            gc.unfreeze()
    grades = [results[s.index] for s in subs]
    return GradeRun(lesson, grades, jobs, limits, time.perf_counter() - started)


#: Seconds a job may take beyond the submission's own time limit (world, start
#: state, checks, cleanup) before the parent ends it as hung.
JOB_GRACE_S = 180.0


@dataclass
class _Job:
    """One submission graded in a child forked for it alone."""

    sub: Submission
    proc: Any  # multiprocessing.Process (BaseProcess; its context's class)
    conn: Any  # the read end of the child's result pipe
    deadline: float

    def result(self) -> SubmissionGrade | str | None:
        """The grade, a reason the job was lost, or None while it is still working."""
        if self.conn.poll():
            try:
                grade: SubmissionGrade = self.conn.recv()
            except (EOFError, OSError):
                self.proc.join(5)
                return f"the grading process ended without a grade (exit {self.proc.exitcode})"
            self.proc.join(5)
            return grade
        if not self.proc.is_alive():
            return f"the grading process ended without a grade (exit {self.proc.exitcode})"
        if time.monotonic() > self.deadline:
            self.stop()
            return "grading this submission did not finish in time and was stopped"
        return None

    def stop(self) -> None:
        """SIGTERM (the job's ``finally`` tears its world down), then SIGKILL."""
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


def _child(conn: Any, sub: Submission, lesson: Lesson, run_id: int, limits: Limits) -> None:
    _worker_init(lesson, run_id, limits)
    grade = _worker(sub)
    conn.send(grade)
    conn.close()


def _pool_map(
    subs: Sequence[Submission], jobs: int, context: str, job: tuple[Lesson, int, Limits]
) -> Iterator[tuple[Submission, SubmissionGrade]]:
    """Grade ``subs``, at most ``jobs`` at a time, each in a child of its own.

    The parent stays single-threaded (no pool threads), so every fork is safe,
    and it notices a child that dies or hangs: that submission gets an ``error``
    grade naming why, and the others go on (a ``multiprocessing.Pool`` waits
    forever for the task of a worker that died).
    """
    from multiprocessing.connection import wait

    ctx: Any = multiprocessing.get_context(context)  # fork or spawn: both have Process
    lesson, run_id, limits = job
    waiting = list(subs)
    running: list[_Job] = []
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                sub = waiting.pop(0)
                read, write = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(write, sub, lesson, run_id, limits))
                proc.start()
                write.close()
                deadline = time.monotonic() + limits.timeout + JOB_GRACE_S
                running.append(_Job(sub, proc, read, deadline))
            wait([j.conn for j in running] + [j.proc.sentinel for j in running], timeout=1.0)
            for done in list(running):
                outcome = done.result()
                if outcome is None:
                    continue
                running.remove(done)
                if isinstance(outcome, str):
                    yield done.sub, _lost(lesson, done.sub, run_id, outcome)
                else:
                    yield done.sub, outcome
    finally:
        for left in running:
            left.stop()


def _lost(lesson: Lesson, sub: Submission, run_id: int, why: str) -> SubmissionGrade:
    """The grade of a job whose process died or hung: its world is removed now."""
    world = World(world_name(run_id, sub.index))
    with quietly("destroying a lost job's world"):
        world.destroy()
    return _grade(lesson, sub, world, None, None, why, {})


def sweep(run_id: int, subs: Sequence[Submission]) -> list[str]:
    """Destroy any world of this run still present (after a crash or Ctrl-C)."""
    left = []
    for sub in subs:
        world = World(world_name(run_id, sub.index))
        if world.dir.exists():
            left.append(world.name)
            with quietly("destroying a leftover grading world"):
                world.destroy()
    cgroups.sweep(f"cnlab-grade-{run_id}-")
    return left
