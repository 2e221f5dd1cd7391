"""``cnlab dev``: tools for people who write lessons and work on the lab.

``cnlab dev check`` proves the content, like rustlings' ``dev check``: every
lesson loads, renders and uses known check kinds with their required args, and,
each in a fresh world, its start state FAILS its checks while its reference
solution PASSES them. ``--diagrams DIR`` draws each solved world, the lesson's
goal, as a picture (``docs/lessons/`` holds them, for the README). ``cnlab dev bench`` runs the benchmarks (see bench/).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lab import i18n, i18n_lint, preflight
from lab.errors import LabError
from lab.lessons import Course, Lesson, load_course
from lab.world import World


@dataclass
class LessonProof:
    lesson: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def lint_lesson(lesson: Lesson) -> list[str]:
    """Static problems: no world needed."""
    from checks.kinds import KINDS

    problems = []
    if not lesson.hints:
        problems.append("lesson.toml: 'hints' is empty")
    for m in lesson.milestones:
        if m.check not in KINDS:  # its args were checked against its spec at load
            problems.append(f"milestone {m.id}: unknown check kind {m.check!r}")
    for render in (lesson.text, lesson.start_script, lesson.solution_script):
        try:
            render()
        except LabError as exc:
            problems.append(exc.message)
    if not any(step.command for step in lesson.solution_steps()):
        problems.append("solution.sh: no commands")
    if lesson.lang != i18n.DEFAULT:  # `dev check --lang zh`: its translation too
        variables = dict(lesson.variables)
        problems += i18n_lint.lesson_problems(lesson.path, variables, lesson.lang)
    return problems


def prove_lesson(lesson: Lesson, world_name: str, diagrams: Path | None = None) -> LessonProof:
    """Start state must fail, reference solution must pass, in a fresh world.

    With ``diagrams`` (a folder), the solved world -- the lesson's goal -- is also
    drawn there as ``<lesson id>.mmd`` (Mermaid) and ``<lesson id>.svg`` (Graphviz),
    from the same snapshot the checks read (:mod:`lab.topomap`).
    """
    from checks.engine import check_lesson
    from lab.course_run import build_lesson

    proof = LessonProof(lesson.id, lint_lesson(lesson))
    if proof.problems:
        return proof
    world = World(world_name)
    try:
        build_lesson(world, lesson)
        before = check_lesson(world, lesson)
        if before.passed:
            proof.problems.append("the start state already passes every milestone")
        result = world.run(lesson.solution_script(), timeout=120, record=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            proof.problems.append(f"solution.sh failed (exit {result.returncode}): {tail}")
        after = check_lesson(world, lesson)
        for m in after.milestones:
            if not m.passed:
                proof.problems.append(
                    f"after the solution, milestone {m.id} fails: {m.cause}: {m.explanation}"
                )
        if diagrams is not None and proof.ok:
            draw_goal(world, lesson, diagrams)
    finally:
        world.destroy()
    return proof


def draw_goal(world: World, lesson: Lesson, folder: Path) -> None:
    """Draw ``world`` (``lesson`` solved) into ``folder`` as Mermaid and SVG.

    Raises :class:`LabError` if the folder cannot be written or Graphviz fails.
    """
    from lab import topomap
    from lab.state import read_world

    topo = topomap.topology(read_world(world))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{lesson.id}.mmd").write_text(topomap.to_mermaid(topo), encoding="utf-8")
        (folder / f"{lesson.id}.svg").write_text(topomap.to_svg(topo), encoding="utf-8")
    except OSError as exc:
        raise LabError(f"{folder}: cannot write the diagrams: {exc.strerror}") from exc


def cmd_dev(args: argparse.Namespace) -> int:
    if args.task == "bench":
        bench = Path(__file__).resolve().parent.parent / "bench" / "run.py"
        if not bench.exists():
            raise LabError(f"{bench}: the benchmark is not in this checkout")
        return subprocess.call([sys.executable, str(bench), *args.rest])
    preflight.require_all()
    parser = argparse.ArgumentParser(prog="cnlab dev check")
    parser.add_argument("lessons", nargs="*", metavar="LESSON")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--diagrams",
        type=Path,
        metavar="DIR",
        help="also draw each solved lesson (its goal) as DIR/<lesson>.mmd and .svg",
    )
    parser.add_argument(  # read by lab.cli before any verb: accepted here too
        "--lang", choices=list(i18n.LANGUAGES), help="also lint the lessons' translation"
    )
    opts = parser.parse_args(args.rest)
    course: Course = load_course()
    lessons = [course.find(ref) for ref in opts.lessons] if opts.lessons else list(course.lessons)
    name = f"devcheck-{os.getpid()}"
    proofs = [prove_lesson(lesson, name, opts.diagrams) for lesson in lessons]
    if opts.json:
        print(
            json.dumps(
                [{"lesson": p.lesson, "ok": p.ok, "problems": p.problems} for p in proofs], indent=2
            )
        )
    else:
        for p in proofs:
            print(f"{'ok  ' if p.ok else 'FAIL'} {p.lesson}")
            for problem in p.problems:
                print(f"       {problem}")
    return 0 if all(p.ok for p in proofs) else 1
