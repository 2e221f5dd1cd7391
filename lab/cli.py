"""The ``cnlab`` command line: one verb per thing a learner, instructor or grader does.

Every verb takes ``--world NAME``. Errors are one line on stderr and a non-zero
exit status; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from lab import debug as lab_debug
from lab import i18n, preflight, progress
from lab.course_run import build_lesson, current_lesson, record_result
from lab.errors import LabError
from lab.i18n import N_, _
from lab.lessons import Course, Lesson, load_course
from lab.world import World, inside_world, lock_path, locked, validate_name

#: Exit statuses (sysexits.h): an internal error, and input/output (a full disk).
EXIT_SOFTWARE = 70
EXIT_IOERR = 74

if TYPE_CHECKING:  # the check engine (and scapy) load only for the verbs that need them
    from lab.model import LessonReport


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
        title = i18n.ljust(str(row["title"]), 44)  # by terminal cells: Chinese is two wide
        print(f"{mark} {row['id']:<22} {title} {row['passed']}/{row['milestones']}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    preflight.require_all()
    course = load_course()
    world = _world(args)
    lesson = _lesson_for(args, course, world)
    # Progress first: if it cannot be saved (a full disk), the world is left as it
    # was, rather than rebuilt at a lesson the saved progress does not know.
    prog = progress.load(world.name)
    if prog.current != lesson.id:  # resetting the current lesson again changes nothing
        prog.current = lesson.id
        _save_progress(prog, _("the world was left as it was"))
    with locked(world.name):
        took = build_lesson(world, lesson)
    print(
        _("world {world} is at the start of {lesson} ({ms} ms)").format(
            world=repr(world.name), lesson=lesson.id, ms=f"{took * 1000:.0f}"
        )
    )
    return 0


def _save_progress(prog: progress.Progress, consequence: str) -> None:
    """Save, or one line saying why not and what that means."""
    try:
        progress.save(prog)
    except OSError as exc:
        where = progress.progress_path(prog.world).parent
        raise LabError(
            _("progress could not be saved in {where}: {error}; {consequence}").format(
                where=where, error=exc.strerror or exc, consequence=consequence
            ),
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
        from checks.report import to_text

        for report in reports:
            print(to_text(report))
    sys.stdout.flush()
    _record_progress(world.name, reports)
    return 0 if all(r.passed for r in reports) else 1


def _trace_target(text: str, proto: str | None) -> tuple[str, str, int | None]:
    """DEST[:PORT] and the protocol flags: (destination, protocol, port), or one line."""
    dest, _colon, port_text = text.partition(":")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise LabError(
                _("bad port {port} in {text} (a number from 1 to 65535)").format(
                    port=repr(port_text), text=repr(text)
                )
            )
        port = int(port_text)
    if not dest:
        raise LabError(_("trace needs a destination: an address or a namespace name"))
    chosen = proto or ("tcp" if port else "icmp")
    if chosen == "icmp" and port:
        raise LabError(_("an ICMP trace has no port: drop :PORT or add --tcp/--udp"))
    if chosen != "icmp" and port is None:
        raise LabError(
            _("a {protocol} trace needs a port: {dest}:PORT").format(protocol=chosen, dest=dest)
        )
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
    changed = False
    for report in reports:
        passed = [m.id for m in report.milestones if m.passed]
        changed |= record_result(prog, report.lesson, passed, report.passed)[0]
    if changed:  # a check that earns nothing new leaves the saved progress as it is
        _save_progress(prog, _("the results above were not recorded"))


def cmd_solve(args: argparse.Namespace) -> int:
    preflight.require_all()
    course = load_course()
    world = _world(args)
    with locked(world.name):
        world.require()
        lesson = _lesson_for(args, course, world)
        result = world.run(lesson.solution_script(), timeout=120, record=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise LabError(
            _("the reference solution of {lesson} failed (exit {status})").format(
                lesson=lesson.id, status=result.returncode
            )
        )
    print(
        _("applied the reference solution of {lesson} to world {world}").format(
            lesson=lesson.id, world=repr(world.name)
        )
    )
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
    name = repr(world.name)
    if state == "absent":
        print(
            _("world {world} does not exist (run `cnlab reset 1` to build it)").format(world=name)
        )
    elif state == "broken":
        print(
            _("world {world} is broken (left by a crash?); `cnlab reset` rebuilds it").format(
                world=name
            )
        )
    elif state == "elsewhere":
        print(
            _("world {world} was made in another mount namespace: not visible from here").format(
                world=name
            )
        )
    else:
        names = ", ".join(info["namespaces"]) or _("none yet")  # type: ignore[arg-type]
        print(_("world {world}: ready, lesson {lesson}").format(world=name, lesson=info["lesson"]))
        print(_("  namespaces made by the learner: {names}").format(names=names))
        print(_("  processes inside: {count}").format(count=info["processes"]))
    return 0 if state == "ready" else 1


def cmd_down(args: argparse.Namespace) -> int:
    preflight.require_root()
    preflight.require_capabilities()  # unmounting a world's namespaces
    world = _world(args)
    with locked(world.name):
        existed = world.dir.exists()
        world.destroy()
        lock_path(world.name).unlink(missing_ok=True)
    done = _("world {world} destroyed") if existed else _("world {world} did not exist")
    print(done.format(world=repr(world.name)))
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
    import importlib.metadata  # ~20 ms: only for --version

    try:
        return importlib.metadata.version("cnlab")
    except importlib.metadata.PackageNotFoundError:  # run from a bare checkout
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """``--version``, with the version looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(f"{parser.prog} {_version()}")
        parser.exit()


_TOKEN = re.compile(r"\s+|[!-~]+|.")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help, wrapped by terminal cells: a Chinese character takes two and
    Chinese has no spaces to wrap at (argparse counts characters and breaks at spaces)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        if i18n.width(text) == len(text):
            return super()._split_lines(text, width)
        lines: list[str] = []
        line = ""
        for token in _TOKEN.findall(" ".join(text.split())):
            if line and i18n.width(line + token) > width:
                lines.append(line.rstrip())
                line = "" if token.isspace() else token
            else:
                line += token
        return [*lines, line.rstrip()] if line.strip() else lines


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line and a suggestion for a mistyped verb."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if isinstance(action, argparse._SubParsersAction) and value not in action.choices:
            import difflib  # only for a mistyped verb

            close = difflib.get_close_matches(str(value), list(action.choices), n=3, cutoff=0.6)
            message = _("unknown verb {verb}").format(verb=repr(value))
            if close:
                verbs = _(" or ").join(map(repr, close))
                message += "; " + _("did you mean {verbs}?").format(verbs=verbs)
            raise argparse.ArgumentError(None, message)
        super()._check_value(action, value)

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"'([^']{40})[^']{2,}'", r"'\1…'", message)  # a 5000-digit --port
        see = _("see `{prog} --help`").format(prog=self.prog)
        self.exit(2, f"{self.prog}: {message} ({see})\n")


#: argparse's own words (it translates them with gettext: :func:`_argparse_speaks`).
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
)


def _argparse_speaks() -> None:
    """argparse looks its messages up with ``gettext``: make that ours (the lab's language)."""
    argparse._ = i18n.gettext  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]


def _lang_option() -> dict[str, Any]:
    return {
        "choices": list(i18n.LANGUAGES),
        "metavar": "en|zh",
        "help": _(
            "the language of everything you read (remembered; default: the one chosen"
            " before, else LANG/LC_ALL: zh_* gives Chinese)"
        ),
    }


def build_parser() -> argparse.ArgumentParser:
    lang_option = _lang_option()
    common = _Parser(add_help=False)
    common.add_argument(
        "--world",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help=_("which world (default: default)"),
    )
    common.add_argument("--lang", default=argparse.SUPPRESS, **lang_option)
    parser = _Parser(
        prog="cnlab",
        description=_(
            "An offline lab for learning how containers get their network: you type the real\n"
            "ip, nsenter and iptables commands in a sealed world, and checks that send real\n"
            "packets say what works and, when something does not, why."
        ),
        epilog=_(
            "examples:\n  sudo cnlab                 open the lab at your lesson\n"
            "  sudo cnlab reset 3         start lesson 3 afresh\n"
            "  sudo cnlab check --json    check the milestones\n"
            "  sudo cnlab --lang zh       the lab in Chinese (remembered)\n"
            "  cnlab VERB --help          what VERB does, with examples"
        ),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument(
        "--world", default="default", metavar="NAME", help=_("which world (default: default)")
    )
    parser.add_argument("--lang", default=None, **lang_option)
    sub = parser.add_subparsers(dest="verb", metavar="VERB")

    def verb(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        examples = "".join(f"\n  {line}" for line in EXAMPLES.get(name, []))
        p = sub.add_parser(
            name,
            help=help_,
            description=help_[0].upper() + help_[1:] + _("."),
            epilog=_("examples:") + examples if examples else None,
            formatter_class=_HelpFormatter,
            parents=[common],
        )
        p.set_defaults(func=func)
        return p

    p = verb("list", cmd_list, _("lessons in order, with your progress"))
    p.add_argument("--json", action="store_true")

    p = verb("reset", cmd_reset, _("destroy the world and build LESSON's start state"))
    p.add_argument("lesson", nargs="?", metavar="LESSON")

    p = verb("shell", cmd_shell, _("bash inside the world (or run COMMANDS there)"))
    p.add_argument(
        "--ns",
        metavar="NAME",
        help=_("namespace: host (default), internet, or one from `ip netns`"),
    )
    p.add_argument("-c", dest="command", metavar="COMMANDS", help=_("run COMMANDS like `bash -c`"))

    p = verb("check", cmd_check, _("check LESSON's milestones against the live world"))
    p.add_argument("lesson", nargs="?", metavar="LESSON")
    p.add_argument("--all", action="store_true", help=_("every lesson"))
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--trace", action="store_true", help=_("follow each failing milestone's packet, hop by hop")
    )

    p = verb("trace", cmd_trace, _("follow one packet hop by hop, with what decided each step"))
    p.add_argument("dest", metavar="DEST[:PORT]", help=_("an address or a namespace name"))
    p.add_argument("--from", dest="src", default="host", metavar="NS", help=_("default: host"))
    group = p.add_mutually_exclusive_group()
    for proto in ("icmp", "tcp", "udp"):
        group.add_argument(f"--{proto}", dest="proto", action="store_const", const=proto)
    p.add_argument("--json", action="store_true")

    p = verb("solve", cmd_solve, _("apply LESSON's reference solution to the live world"))
    p.add_argument("lesson", nargs="?", metavar="LESSON")

    p = verb("status", cmd_status, _("does the world exist, which lesson, what is in it"))
    p.add_argument("--json", action="store_true")

    verb("down", cmd_down, _("destroy the world"))

    p = verb(
        "grade",
        _lazy("lab.grading.commands", "cmd_grade"),
        _("grade submissions of LESSON, each in its own fresh world"),
    )
    p.add_argument("lesson", metavar="LESSON")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N")
    p.add_argument("--format", choices=["json", "junit", "gradescope"], default="json")
    p.add_argument("--out", metavar="FILE", help=_("write the report there ('-': standard output)"))
    p.add_argument("--timeout", type=float, default=30.0, metavar="S")
    p.add_argument(
        "--replay",
        choices=["auto", "typed", "script"],
        default="auto",
        help=_(
            "typed: each line at an interactive prompt, as the learner typed it; script: "
            "`bash -s`; auto (default): typed for files `cnlab export` wrote, else script"
        ),
    )
    p.add_argument(
        "--fail-under",
        metavar="SCORE",
        help=_("exit 3 if a submission scored less (points, or a percentage such as 80%%)"),
    )
    p.add_argument("--strict", action="store_true", help=_("exit 3 unless every submission passed"))

    p = verb(
        "export",
        _lazy("lab.grading.commands", "cmd_export"),
        _("the commands you typed for LESSON, as a submission file"),
    )
    p.add_argument("lesson", nargs="?", metavar="LESSON")

    p = verb(
        "demo",
        _lazy("lab.grading.commands", "cmd_demo"),
        _("replay LESSON's reference solution in the live world, with narration"),
    )
    p.add_argument("lesson", metavar="LESSON")
    p.add_argument("--step", action="store_true", help=_("wait for Enter between commands"))
    p.add_argument("--speed", type=float, default=1.0, metavar="X")

    p = verb(
        "serve",
        _lazy("lab.serve", "cmd_serve"),
        _("the lab in a browser (textual-serve), on loopback by default"),
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--public",
        action="store_true",
        help=_("allow a non-loopback --host (the page is a root shell)"),
    )
    p.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help=_("another Host name browsers may use to reach the server (repeatable)"),
    )
    p.add_argument(
        "--token",
        help=_(
            "the secret in the URL (default: random; or set CNLAB_SERVE_TOKEN, "
            "which `ps` does not show)"
        ),
    )

    p = verb(
        "dev",
        _lazy("lab.devtools", "cmd_dev"),
        _("developer tools: `dev check` proves every lesson, `dev bench` measures"),
    )
    p.add_argument("task", choices=["check", "bench"])
    p.add_argument("rest", nargs=argparse.REMAINDER)

    for name, func, what in (
        (
            "classroom",
            "cmd_classroom",
            _("write a GitHub Classroom workflow (.github/workflows/classroom.yml) for LESSON"),
        ),
        (
            "gradescope",
            "cmd_gradescope",
            _("write a Gradescope autograder (setup.sh and run_autograder) for LESSON"),
        ),
    ):
        p = verb(name, _lazy("lab.grading.templates", func), what)
        p.add_argument("action", choices=["init"], metavar="init")
        p.add_argument("lesson", metavar="LESSON")
        p.add_argument("dir", nargs="?", default=".", metavar="DIR", help=_("default: here"))
        p.add_argument(
            "--repo", default="cnlab/cnlab", metavar="OWNER/NAME", help=_("cnlab's repo")
        )
        p.add_argument("--ref", default="main", metavar="REF", help=_("its branch or tag"))
        p.add_argument("--force", action="store_true", help=_("replace files that exist"))

    p = verb(
        "map",
        _lazy("lab.topomap", "cmd_map"),
        _("draw the live world's network: namespaces, links, bridges, addresses, routes, NAT"),
    )
    p.add_argument("--format", choices=["text", "mermaid", "dot", "svg"], default="text")

    p = verb(
        "completion",
        _lazy("lab.completion", "cmd_completion"),
        _("print the shell completion script for bash or zsh"),
    )
    p.add_argument("shell", choices=["bash", "zsh"], metavar="SHELL", help=_("bash or zsh"))

    p = verb("tui", cmd_tui, _("open the lab (the same as `cnlab` with no verb)"))
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
            _(
                "this shell is inside the lab's world {world}: run `{command}` in a terminal"
                " of the machine itself (outside the lab)"
            ).format(world=repr(inside), command="cnlab" + (f" {verb}" if verb else "")),
            status=2,
        )


def _language_arguments(argv: Sequence[str]) -> tuple[str | None, str]:
    """``--lang`` and ``--world`` wherever they are in ``argv`` (before the parser that
    speaks the language is built); a value the real parser refuses is left to it."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--lang")
    pre.add_argument("--world", default="default")
    try:
        found, _rest = pre.parse_known_args(list(argv))
    except SystemExit:  # a bare `--lang`: the real parser says what is wrong
        return None, "default"
    return i18n.normalize(found.lang), str(found.world)


#: Verbs for instructors and developers: their --lang is for this run, not the learner's.
NOT_REMEMBERED = {"dev", "grade", "classroom", "gradescope", "completion"}


def choose_language(argv: Sequence[str]) -> str | None:
    """Set the language of this run: ``--lang``, else the world's learner's saved
    choice, else the locale environment (:func:`lab.i18n.resolve`); returns the
    ``--lang`` given, if any."""
    explicit, world = _language_arguments(argv)
    saved: str | None = None
    with contextlib.suppress(LabError, OSError):  # no saved choice: the environment
        saved = progress.load(world).lang
    i18n.set_language(i18n.resolve(explicit, saved))
    return explicit


def remember_language(world: str, lang: str | None, verb: str | None) -> None:
    """Save a ``--lang`` with the learner's progress (best effort: a language is not worth
    failing for), unless the verb is an instructor's or a developer's."""
    if lang is None or verb in NOT_REMEMBERED:
        return
    try:
        prog = progress.load(world)
        if prog.lang != lang:
            prog.lang = lang
            progress.save(prog)
    except (LabError, OSError):
        lab_debug.ignored("saving the chosen language")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    explicit = choose_language(argv)
    _argparse_speaks()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", cmd_tui)
    debug = lab_debug.enabled()
    lab_debug.configure()
    try:
        validate_name(args.world)  # every verb: a name like ../../x never becomes a path
        remember_language(args.world, explicit, getattr(args, "verb", None))
        refuse_inside_a_world(getattr(args, "verb", None))
        return func(args)
    except LabError as exc:
        print(f"cnlab: {exc.message}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("cnlab: " + _("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except OSError as exc:  # the machine said no: a full disk, a missing permission...
        if debug:
            import traceback

            traceback.print_exc()
        where = f": {exc.filename}" if exc.filename else ""
        print(f"cnlab: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_IOERR if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO) else 1
    except Exception as exc:  # a bug: one line, and the whole story on request
        if debug:
            import traceback

            traceback.print_exc()
            return EXIT_SOFTWARE
        print(
            "cnlab: "
            + _(
                "unexpected error: {error} (a bug: run again with CNLAB_DEBUG=1 for the"
                " traceback, and report it)"
            ).format(error=f"{type(exc).__name__}: {str(exc)[:300]}"),
            file=sys.stderr,
        )
        return EXIT_SOFTWARE
