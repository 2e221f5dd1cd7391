"""A check server for long-lived callers such as the TUI: JSON lines on stdin/stdout.

Checks fork a child per namespace, which is unsafe in a process that runs
threads (Textual does). So the TUI starts this small single-threaded process
once, and asks it::

    {"op": "check", "lesson": "01-namespace"}  ->  {"op": "check", "report": {...}}
    (any request may carry "lang": "zh": its human text, and the course, in that language)
    {"op": "state"}                             ->  {"op": "state", "state": {...}}
    {"op": "trace", "lesson": ..., "milestone": ID} ->  {"op": "trace", "trace": {...} | null}

pyroute2 is imported and the course loaded once here (again only when a
lesson file changes), so each request costs only the checks themselves. Any failure becomes ``{"op": ..., "error": "message"}``.

A learner waits for every check (command typed to milestone shown), so the
server runs at a better scheduling priority (``nice`` -10, inherited by the
children it forks into each namespace; see :mod:`lab.priority`) when it may:
on a busy machine (a test suite beside the lab) the kernel then gives its
short bursts of work the CPU first. It sleeps between requests, so it takes
nothing from anyone then.
Run: ``python -m checks.server --world NAME [--nice N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from checks.engine import check_lesson
from lab import i18n, state
from lab.errors import LabError
from lab.lessons import Course, lessons_dir, load_course
from lab.priority import NICE, raise_priority
from lab.world import World, locked, validate_name

_courses: dict[str, tuple[tuple[object, ...], Course]] = {}


def _stamp(root: Path) -> tuple[object, ...]:
    """What loading the course reads, as (path, mtime, size): a change means load again."""
    marks: list[object] = [str(root)]
    paths = [root, root / "course.toml"]
    try:
        with os.scandir(root) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir():
                    folder = Path(entry.path)
                    paths += [folder, folder / "lesson.toml"]
                    paths += [folder / f"lesson.{lang}.toml" for lang in i18n.LANGUAGES[1:]]
    except OSError:
        pass
    for path in paths:
        try:
            st = path.stat()
            marks.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            marks.append((str(path), None))
    return tuple(marks)


def course() -> Course:
    """The course in the current language, loaded again only when one of its files
    changed (loading takes ~50 ms)."""
    lang = i18n.language()
    stamp = _stamp(lessons_dir())
    cached = _courses.get(lang)
    if cached is None or cached[0] != stamp:
        loaded = load_course(lang=lang)
        _lessons = loaded.lessons  # parse now, so a broken lesson fails this request
        cached = _courses[lang] = (stamp, loaded)
    return cached[1]


def handle(world: World, request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    lang = i18n.normalize(str(request.get("lang") or "")) or i18n.DEFAULT
    i18n.set_language(lang)
    try:
        if op == "check":
            lesson = course().find(str(request.get("lesson", "")))
            with locked(world.name, exclusive=False):  # never during a reset
                world.require()
                return {"op": op, "report": check_lesson(world, lesson).to_json()}
        if op == "state":
            with locked(world.name, exclusive=False):
                world.require()
                return {"op": op, "state": state.read_world(world).to_json()}
        if op == "trace":  # the milestone's packet, hop by hop (null: it sends none)
            lesson = course().find(str(request.get("lesson", "")))
            wanted = str(request.get("milestone", ""))
            milestone = next((m for m in lesson.milestones if m.id == wanted), None)
            if milestone is None:
                return {"op": op, "error": f"no milestone {wanted!r} in {lesson.id}"}
            from checks.trace import for_milestone

            with locked(world.name, exclusive=False):
                world.require()
                found = for_milestone(world, milestone.check, milestone.args)
            return {"op": op, "trace": found.to_json() if found else None}
        if op == "ping":  # alive, and at which niceness it runs
            return {"op": op, "ok": True, "nice": os.getpriority(os.PRIO_PROCESS, 0)}
        return {"op": op, "error": f"unknown op {op!r}"}
    except LabError as exc:
        return {"op": op, "error": exc.message}
    except Exception as exc:  # the server must survive anything a request does
        return {"op": op, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.server")
    parser.add_argument("--world", default="default")
    parser.add_argument("--nice", type=int, default=NICE, help="niceness to run at if allowed")
    args = parser.parse_args(argv)
    world = World(validate_name(args.world))
    raise_priority(args.nice)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as exc:
            reply: dict[str, Any] = {"op": None, "error": f"bad request: {exc}"}
        else:
            reply = handle(world, request)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
