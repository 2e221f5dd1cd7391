"""The ``cnlab`` command line: one verb per thing a learner, instructor or grader does.

Every verb takes ``--world NAME``. Errors are one line on stderr and a non-zero
exit status; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib.metadata
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from lab import debug as lab_debug
from lab import preflight, progress
from lab.course_run import build_lesson, current_lesson, record_result
from lab.errors import LabError
from lab.lessons import Course, Lesson, load_course
from lab.world import World, inside_world, lock_path, locked, validate_name

#: Exit statuses (sysexits.h): an internal error, and input/output (a full disk).
EXIT_SOFTWARE = 70
EXIT_IOERR = 74

if TYPE_CHECKING:  # the check engine (and scapy) load only for the verbs that need them
    from checks.report import LessonReport


def _world(args: argparse.Namespace) -> World:
    return World(validate_name(args.world), keep_home=True)


def _lesson_for(args: argparse.Namespace, course: Course, world: World) -> Lesson:
    lesson = current_lesson(course, world, getattr(args, "lesson", None))
    return lesson or course.lessons[0]


# ------------------------------------------------------------------- verbs


def cmd_list(args: argparse.Namespace) -> int:
    course = load_course()
    prog = progress.load(args.world)
    rows = []
    for lesson in course.lessons:
        done = prog.lessons.get(lesson.id)
        passed = len(done.passed) if done else 0
        rows.append(
            {
                "id": lesson.id,
                "number": lesson.number,
                "title": lesson.title,
                "milestones": len(lesson.milestones),
                "passed": passed,
                "completed": bool(done and done.completed),
                "current": prog.current == lesson.id,
            }
        )
    if args.json:
        print(json.dumps({"world": args.world, "lessons": rows}, indent=2))
        return 0
    for row in rows:
        mark = "✔" if row["completed"] else ("▶" if row["current"] else " ")
        print(f"{mark} {row['id']:<22} {row['title']:<44} {row['passed']}/{row['milestones']}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    preflight.require_all()
    course = load_course()
    world = _world(args)
    lesson = _lesson_for(args, course, world)
    # Progress first: if it cannot be saved (a full disk), the world is left as it
    # was, rather than rebuilt at a lesson the saved progress does not know.
    prog = progress.load(world.name)
    prog.current = lesson.id
    _save_progress(prog, "the world was left as it was")
    with locked(world.name):
        took = build_lesson(world, lesson)
    print(f"world {world.name!r} is at the start of {lesson.id} ({took * 1000:.0f} ms)")
    return 0


def _save_progress(prog: progress.Progress, consequence: str) -> None:
    """Save, or one line saying why not and what that means."""
    try:
        progress.save(prog)
    except OSError as exc:
        where = progress.progress_path(prog.world).parent
        raise LabError(
            f"progress could not be saved in {where}: {exc.strerror or exc}; {consequence}",
            status=EXIT_IOERR,
        ) from exc


def cmd_shell(args: argparse.Namespace) -> int:
    preflight.require_all()
    world = _world(args)
    with locked(world.name, exclusive=False):  # not while a reset is half-way
        world.require()
    argv = world.enter_argv(args.ns)
    if args.command is not None:
        argv += ["bash", "-c", args.command]
    elif not sys.stdin.isatty():
        argv += ["bash", "-s"]
    else:
        argv += ["bash", "--rcfile", str(world.dir / "bashrc"), "-i"]
    env = world.env()
    if args.ns not in (None, "host"):
        env["CNLAB_HOME_NS"] = args.ns
    sys.stdout.flush()
    os.chdir(world.home)
    os.execvpe(argv[0], argv, env)
    return 0  # not reached


def cmd_check(args: argparse.Namespace) -> int:
    preflight.require_all()
    from checks.engine import check_lesson  # scapy is heavy: load it only here

    course = load_course()
    world = _world(args)
    with locked(world.name, exclusive=False):
        world.require()
        lessons = list(course.lessons) if args.all else [_lesson_for(args, course, world)]
        reports = [check_lesson(world, lesson, trace=args.trace) for lesson in lessons]
    if args.json:  # the results first: a full disk must not swallow them
        data = [r.to_json() for r in reports]
        print(json.dumps(data if args.all else data[0], indent=2))
    else:
        for report in reports:
            print(report.to_text())
    sys.stdout.flush()
    _record_progress(world.name, reports)
    return 0 if all(r.passed for r in reports) else 1


def _trace_target(text: str, proto: str | None) -> tuple[str, str, int | None]:
    """DEST[:PORT] and the protocol flags: (destination, protocol, port), or one line."""
    dest, _, port_text = text.partition(":")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise LabError(f"bad port {port_text!r} in {text!r} (a number from 1 to 65535)")
        port = int(port_text)
    if not dest:
        raise LabError("trace needs a destination: an address or a namespace name")
    chosen = proto or ("tcp" if port else "icmp")
    if chosen == "icmp" and port:
        raise LabError("an ICMP trace has no port: drop :PORT or add --tcp/--udp")
    if chosen != "icmp" and port is None:
        raise LabError(f"a {chosen} trace needs a port: {dest}:PORT")
    return dest, chosen, port


def cmd_trace(args: argparse.Namespace) -> int:
    preflight.require_all()
    dest, proto, port = _trace_target(args.dest, args.proto)
    from checks import trace  # scapy is heavy: load it only here

    world = _world(args)
    with locked(world.name, exclusive=False):
        world.require()
        found = trace.trace(world, args.src, dest, proto, port)
    if args.json:
        print(json.dumps(found.to_json(), indent=2))
    else:
        print(trace.to_text(found))
    return 0 if found.reached else 1


def _record_progress(world: str, reports: Sequence[LessonReport]) -> None:
    prog = progress.load(world)
    for report in reports:
        passed = [m.id for m in report.milestones if m.passed]
        record_result(prog, report.lesson, passed, report.passed)
    _save_progress(prog, "the results above were not recorded")


def cmd_solve(args: argparse.Namespace) -> int:
    preflight.require_all()
    course = load_course()
    world = _world(args)
    with locked(world.name):
        world.require()
        lesson = _lesson_for(args, course, world)
        result = world.run(lesson.solution_script(), timeout=120)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise LabError(f"the reference solution of {lesson.id} failed (exit {result.returncode})")
    print(f"applied the reference solution of {lesson.id} to world {world.name!r}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    preflight.require_root()
    world = _world(args)
    with locked(world.name, exclusive=False):  # a reset half-way is not "broken"
        state = world.state()
        info: dict[str, object] = {"world": world.name, "state": state}
        if state == "ready":
            meta = world.read_meta()
            info.update(
                lesson=meta.get("lesson"),
                created=meta.get("created"),
                namespaces=world.learner_namespaces(),
                processes=len(world.processes()),
                path=str(world.dir),
            )
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    if state == "absent":
        print(f"world {world.name!r} does not exist (run `cnlab reset 1` to build it)")
    elif state == "broken":
        print(f"world {world.name!r} is broken (left by a crash?); `cnlab reset` rebuilds it")
    elif state == "elsewhere":
        print(f"world {world.name!r} was made in another mount namespace: not visible from here")
    else:
        names = ", ".join(info["namespaces"]) or "none yet"  # type: ignore[arg-type]
        print(f"world {world.name!r}: ready, lesson {info['lesson']}")
        print(f"  namespaces made by the learner: {names}")
        print(f"  processes inside: {info['processes']}")
    return 0 if state == "ready" else 1


def cmd_down(args: argparse.Namespace) -> int:
    preflight.require_root()
    preflight.require_capabilities()  # unmounting a world's namespaces
    world = _world(args)
    with locked(world.name):
        existed = world.dir.exists()
        world.destroy()
        lock_path(world.name).unlink(missing_ok=True)
    print(f"world {world.name!r} " + ("destroyed" if existed else "did not exist"))
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    preflight.require_root()
    preflight.require_capabilities()
    preflight.require_tools()
    from lab.tui.app import run_app  # only this verb loads Textual (tested)

    return run_app(world=args.world, lesson=getattr(args, "lesson", None))


# ------------------------------------------------------------------ parser


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A verb implemented elsewhere, imported only when it runs."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        func: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
        return func(args)

    return run


#: Examples shown by ``cnlab VERB --help`` (a test makes sure every verb has some).
EXAMPLES: dict[str, list[str]] = {
    "list": ["cnlab list", "cnlab list --json"],
    "reset": ["cnlab reset 3", "cnlab reset 03-route-clash --world alice"],
    "shell": [
        "cnlab shell",
        "cnlab shell --ns netns0 -c 'ip -br addr'",
        "echo 'ip route' | cnlab shell",
    ],
    "check": [
        "cnlab check",
        "cnlab check 5 --json",
        "cnlab check 7 --trace",
        "cnlab check --all --json > results.json",
    ],
    "trace": [
        "cnlab trace 8.8.8.8 --from netns0",
        "cnlab trace netns1",
        "cnlab trace 10.0.2.15:5000 --from internet --json",
    ],
    "solve": ["cnlab solve", "cnlab solve 4"],
    "status": ["cnlab status", "cnlab status --json"],
    "down": ["cnlab down", "cnlab down --world alice"],
    "completion": [
        "cnlab completion bash > /etc/bash_completion.d/cnlab",
        "cnlab completion zsh > ~/.zfunc/_cnlab",
    ],
    "grade": [
        "cnlab grade 5 submissions/*.sh",
        "cnlab grade 5 submissions/*.sh --format junit --out report.xml",
    ],
    "export": ["cnlab export 2 > lesson-2.sh"],
    "demo": ["cnlab demo 4", "cnlab demo 4 --step --speed 2"],
    "serve": [
        "sudo cnlab serve",
        "sudo cnlab serve --host 0.0.0.0 --public --allow-host lab.example.org",
    ],
    "dev": ["cnlab dev check", "cnlab dev check 3 --json", "cnlab dev bench --quick"],
    "tui": ["cnlab", "cnlab tui 3"],
    "classroom": ["cnlab classroom init 5", "cnlab classroom init 5 template --repo me/cnlab"],
    "gradescope": ["cnlab gradescope init 5 autograder/", "cnlab gradescope init 5 . --force"],
    "map": ["cnlab map", "cnlab map --format svg > map.svg"],
}


def _version() -> str:
    try:
        return importlib.metadata.version("cnlab")
    except importlib.metadata.PackageNotFoundError:  # run from a bare checkout
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line and a suggestion for a mistyped verb."""

    def error(self, message: str) -> NoReturn:
        typo = re.search(r"invalid choice: '([^']*)'", message)
        verbs = self._verbs()
        if typo and verbs:
            close = difflib.get_close_matches(typo.group(1), verbs, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(map(repr, close))}?" if close else ""
            message = f"unknown verb {typo.group(1)!r}" + (f"; {hint}" if hint else "")
        message = re.sub(r"'([^']{40})[^']{2,}'", r"'\1…'", message)  # a 5000-digit --port
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")

    def _verbs(self) -> list[str]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return list(action.choices)
        return []


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--world", default=argparse.SUPPRESS, metavar="NAME", help="which world (default: default)"
    )
    parser = _Parser(
        prog="cnlab",
        description=(
            "An offline lab for learning how containers get their network: you type the real\n"
            "ip, nsenter and iptables commands in a sealed world, and checks that send real\n"
            "packets say what works and, when something does not, why."
        ),
        epilog=(
            "examples:\n  sudo cnlab                 open the lab at your lesson\n"
            "  sudo cnlab reset 3         start lesson 3 afresh\n"
            "  sudo cnlab check --json    check the milestones\n"
            "  cnlab VERB --help          what VERB does, with examples"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--world", default="default", metavar="NAME", help="which world (default: default)"
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")

    def verb(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        examples = "".join(f"\n  {line}" for line in EXAMPLES.get(name, []))
        p = sub.add_parser(
            name,
            help=help_,
            description=help_[0].upper() + help_[1:] + ".",
            epilog=f"examples:{examples}" if examples else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        p.set_defaults(func=func)
        return p

    p = verb("list", cmd_list, "lessons in order, with your progress")
    p.add_argument("--json", action="store_true")

    p = verb("reset", cmd_reset, "destroy the world and build LESSON's start state")
    p.add_argument("lesson", nargs="?", metavar="LESSON")

    p = verb("shell", cmd_shell, "bash inside the world (or run COMMANDS there)")
    p.add_argument(
        "--ns", metavar="NAME", help="namespace: host (default), internet, or one from `ip netns`"
    )
    p.add_argument("-c", dest="command", metavar="COMMANDS", help="run COMMANDS like `bash -c`")

    p = verb("check", cmd_check, "check LESSON's milestones against the live world")
    p.add_argument("lesson", nargs="?", metavar="LESSON")
    p.add_argument("--all", action="store_true", help="every lesson")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--trace", action="store_true", help="follow each failing milestone's packet, hop by hop"
    )

    p = verb("trace", cmd_trace, "follow one packet hop by hop, with what decided each step")
    p.add_argument("dest", metavar="DEST[:PORT]", help="an address or a namespace name")
    p.add_argument("--from", dest="src", default="host", metavar="NS", help="default: host")
    group = p.add_mutually_exclusive_group()
    for proto in ("icmp", "tcp", "udp"):
        group.add_argument(f"--{proto}", dest="proto", action="store_const", const=proto)
    p.add_argument("--json", action="store_true")

    p = verb("solve", cmd_solve, "apply LESSON's reference solution to the live world")
    p.add_argument("lesson", nargs="?", metavar="LESSON")

    p = verb("status", cmd_status, "does the world exist, which lesson, what is in it")
    p.add_argument("--json", action="store_true")

    verb("down", cmd_down, "destroy the world")

    p = verb(
        "grade",
        _lazy("lab.grading.commands", "cmd_grade"),
        "grade submissions of LESSON, each in its own fresh world",
    )
    p.add_argument("lesson", metavar="LESSON")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N")
    p.add_argument("--format", choices=["json", "junit", "gradescope"], default="json")
    p.add_argument("--out", metavar="FILE", help="write the report there ('-': standard output)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S")
    p.add_argument(
        "--replay",
        choices=["auto", "typed", "script"],
        default="auto",
        help="typed: each line at an interactive prompt, as the learner typed it; script: "
        "`bash -s`; auto (default): typed for files `cnlab export` wrote, else script",
    )
    p.add_argument(
        "--fail-under",
        metavar="SCORE",
        help="exit 3 if a submission scored less (points, or a percentage such as 80%%)",
    )
    p.add_argument("--strict", action="store_true", help="exit 3 unless every submission passed")

    p = verb(
        "export",
        _lazy("lab.grading.commands", "cmd_export"),
        "the commands you typed for LESSON, as a submission file",
    )
    p.add_argument("lesson", nargs="?", metavar="LESSON")

    p = verb(
        "demo",
        _lazy("lab.grading.commands", "cmd_demo"),
        "replay LESSON's reference solution in the live world, with narration",
    )
    p.add_argument("lesson", metavar="LESSON")
    p.add_argument("--step", action="store_true", help="wait for Enter between commands")
    p.add_argument("--speed", type=float, default=1.0, metavar="X")

    p = verb(
        "serve",
        _lazy("lab.serve", "cmd_serve"),
        "the lab in a browser (textual-serve), on loopback by default",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--public",
        action="store_true",
        help="allow a non-loopback --host (the page is a root shell)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="another Host name browsers may use to reach the server (repeatable)",
    )
    p.add_argument(
        "--token",
        help="the secret in the URL (default: random; or set CNLAB_SERVE_TOKEN, "
        "which `ps` does not show)",
    )

    p = verb(
        "dev",
        _lazy("lab.devtools", "cmd_dev"),
        "developer tools: `dev check` proves every lesson, `dev bench` measures",
    )
    p.add_argument("task", choices=["check", "bench"])
    p.add_argument("rest", nargs=argparse.REMAINDER)

    for name, func, what in (
        (
            "classroom",
            "cmd_classroom",
            "GitHub Classroom workflow (.github/workflows/classroom.yml)",
        ),
        ("gradescope", "cmd_gradescope", "Gradescope autograder (setup.sh and run_autograder)"),
    ):
        p = verb(name, _lazy("lab.grading.templates", func), f"write a {what} for LESSON")
        p.add_argument("action", choices=["init"], metavar="init")
        p.add_argument("lesson", metavar="LESSON")
        p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="default: here")
        p.add_argument("--repo", default="cnlab/cnlab", metavar="OWNER/NAME", help="cnlab's repo")
        p.add_argument("--ref", default="main", metavar="REF", help="its branch or tag")
        p.add_argument("--force", action="store_true", help="replace files that exist")

    p = verb(
        "map",
        _lazy("lab.topomap", "cmd_map"),
        "draw the live world's network: namespaces, links, bridges, addresses, routes, NAT",
    )
    p.add_argument("--format", choices=["text", "mermaid", "dot", "svg"], default="text")

    p = verb(
        "completion",
        _lazy("lab.completion", "cmd_completion"),
        "print the shell completion script for bash or zsh",
    )
    p.add_argument("shell", choices=["bash", "zsh"], metavar="SHELL", help="bash or zsh")

    p = verb("tui", cmd_tui, "open the lab (the same as `cnlab` with no verb)")
    p.add_argument("lesson", nargs="?", metavar="LESSON")
    return parser


#: Verbs that only read the learner's saved progress: fine from inside a world.
INSIDE_OK = {"list", "export"}


def refuse_inside_a_world(verb: str | None) -> None:
    """cnlab typed in the lab's own shell cannot see the world's namespaces (it is
    in them): building, checking or tearing down from there would act on what it
    cannot see. Say so in one line instead."""
    if verb in INSIDE_OK:
        return
    inside = inside_world()
    if inside is not None:
        raise LabError(
            f"this shell is inside the lab's world {inside!r}: run `cnlab"
            f"{' ' + verb if verb else ''}` in a terminal of the machine itself"
            " (outside the lab)",
            status=2,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", cmd_tui)
    debug = lab_debug.enabled()
    lab_debug.configure()
    try:
        validate_name(args.world)  # every verb: a name like ../../x never becomes a path
        refuse_inside_a_world(getattr(args, "verb", None))
        return func(args)
    except LabError as exc:
        print(f"cnlab: {exc.message}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("cnlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except OSError as exc:  # the machine said no: a full disk, a missing permission...
        if debug:
            traceback.print_exc()
        where = f": {exc.filename}" if exc.filename else ""
        print(f"cnlab: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_IOERR if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO) else 1
    except Exception as exc:  # a bug: one line, and the whole story on request
        if debug:
            traceback.print_exc()
            return EXIT_SOFTWARE
        print(
            f"cnlab: unexpected error: {type(exc).__name__}: {str(exc)[:300]} "
            "(a bug: run again with CNLAB_DEBUG=1 for the traceback, and report it)",
            file=sys.stderr,
        )
        return EXIT_SOFTWARE
