"""The lab's one screen: lesson, milestones, shell and map, and what ties them.

Layout (``app.tcss``; the screen gets ``-narrow`` below 120 columns and
``-short`` below 45 rows, and the layout follows a resize)::

    ┌ top bar: lesson n/N: title ········· 2/3 ✔ · course 1/8 ✔ · keys → shell ┐
    │ lessons (≥ 120x45; else while focused)│ narration (during a demo)        │
    │ lesson text (55%, ≥ 60 columns at 120)│ shell tabs (pty + pyte; Ctrl+T)  │
    │ milestones                            │ network map (F8; wide by default)│
    │ hints (own panel: never pushes the milestones away)                      │
    └ footer: F-keys and ^] (Ctrl+] then a letter: the browser-safe keys) ─────┘

F12 (or Ctrl+] t) is reading mode: the lesson text takes the whole screen.
Ctrl+O moves the keys from panel to panel (the top bar names the one that has
them); Escape brings them back to the shell.

What happens in the background, never blocking typing. Workers never touch
the panels: they post typed messages (:mod:`lab.tui.messages`) that ``@on``
handlers apply on the loop, and a plain-Python scheduler
(:mod:`lab.tui.scheduler`) decides when to check and when to read the world:

* the world's events file is read (a stat + read on the loop) as soon as a
  shell writes to its terminal (the prompt coming back follows its ``done``
  line), and every 100 ms for what no terminal shows: a ``cmd`` line is saved
  to progress, a ``done`` line asks for a check at once (no debounce);
* about every second the world is read (``WorldRead``); when it changed
  (``WorldChanged``) the map is redrawn and the lesson re-checked;
* a check runs in an async worker against the check server
  (:mod:`lab.tui.checker`) and posts ``ReportReady``; reasons to check that
  arrive meanwhile collapse into one follow-up check;
* building a lesson's start state runs ``build_lesson`` in a *thread* worker
  (it spawns processes and never forks Python) and posts ``BuildDone`` or
  ``BuildFailed``; on ``BuildDone`` a fresh shell starts and the map is
  redrawn from a new read (never left on "building lesson N…").
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker

from lab import i18n, priority, record, slips
from lab.debug import quietly
from lab.errors import LabError
from lab.i18n import N_, _
from lab.lessons import Course, Lesson, load_course
from lab.model import LessonReport, WorldState
from lab.tui.checker import CheckClient, CheckError
from lab.tui.demo import run_demo
from lab.tui.dialogs import ConfirmScreen, PlaceScreen, TextScreen
from lab.tui.events import EventsTail
from lab.tui.help import HelpScreen
from lab.tui.keys import FOCUS_KEY, KEYS, NEW_SHELL_KEY, PREFIX
from lab.tui.lessonlist import LessonList
from lab.tui.lessontext import LessonText
from lab.tui.messages import BuildDone, BuildFailed, ReportReady, WorldChanged, WorldRead
from lab.tui.milestones import Hints, Milestones
from lab.tui.netmap import NetMap, goal_text
from lab.tui.pathview import PathView
from lab.tui.prefix import SEND_PREFIX, PrefixScreen
from lab.tui.scheduler import Scheduler
from lab.tui.session import Session
from lab.tui.statediff import differences, goal_differences, shown
from lab.tui.terminal import Terminal
from lab.world import HOST_NS, INTERNET_NS, World, locked, validate_name

WIDE = 120  # columns: below, the -narrow layout (app.HORIZONTAL_BREAKPOINTS)
EVENTS_EVERY = 0.1
STATE_EVERY = 1.0


def _same_state(a: WorldState | None, b: WorldState | None) -> bool:
    """The same network, whenever each was read."""
    if a is None or b is None:
        return a is b
    return replace(a, taken_at=0.0) == replace(b, taken_at=0.0)


class LabScreen(Screen[None]):
    BINDINGS = [
        *(Binding(k.fkey, k.action, k.label, show=k.footer, priority=True) for k in KEYS),
        Binding(FOCUS_KEY, "switch_focus", N_("Focus"), show=False, priority=True),
        Binding(NEW_SHELL_KEY, "new_terminal", N_("Shell"), key_display="^t", priority=True),
        Binding(PREFIX, "prefix", N_("keys"), key_display="^]", priority=True),
        Binding("escape", "to_shell", N_("Shell"), show=False),
    ]

    def localize_bindings(self) -> None:
        """The footer's labels in the current language: Textual reads ``BINDINGS`` once per
        class, so the screen's own map is made again from them, each label translated."""
        self._bindings = BindingsMap(
            [
                replace(b, description=_(b.description))
                for b in self.BINDINGS
                if isinstance(b, Binding)
            ]
        )
        if self.is_mounted:
            self.refresh_bindings()

    def __init__(
        self,
        world: World,
        course: Course,
        lesson_ref: str | None = None,
        check_argv: list[str] | None = None,
        demo_char_delay: float = 0.02,
        demo_pause: float = 0.8,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.localize_bindings()
        self.live = live
        self.world = world
        self.course = course
        self.session = Session(world.name, course)
        self.lesson: Lesson = self.session.start_lesson(lesson_ref, None)
        self.lesson_ref = lesson_ref
        self.checker = CheckClient(world.name, check_argv)
        self.tail = EventsTail(world.events_path)
        self._last_typed: record.Line | None = None  # the command whose prompt is awaited
        self.report: LessonReport | None = None
        self.state: WorldState | None = None
        self.check_status = ""
        self.sched = Scheduler(state_every=STATE_EVERY)
        self.builds_done = 0
        self._demo: Worker[bool] | None = None
        self.demo_char_delay = demo_char_delay
        self.demo_pause = demo_pause
        self.timings: dict[str, float] = {}
        self.reading = False
        self.goal_shown = False
        # scratch readings of a lesson's start (or goal), by lesson: (scripts, reading)
        self._start_states: dict[str, tuple[tuple[str, str], asyncio.Future[WorldState]]] = {}
        self.last_check_ms = 0.0
        self.last_done_at = 0.0
        self.feedback_latencies: list[float] = []
        # where the time of each command's feedback went: wall-clock stamps by stage
        # (the prompt's ``done`` line, seen, check asked, answered, shown)
        self.feedback_stages: list[dict[str, float]] = []
        self._done_stages: dict[str, float] | None = None
        self._last_cmd_time = 0.0
        self._poll_soon = False
        self.shell = self.new_terminal("shell")
        self.extra_terminals: list[Terminal] = []
        self.terminal_titles: dict[Terminal, str] = {self.shell: HOST_NS}
        self._terminals_made = 0
        self.netmap = NetMap(id="map")
        self.pathview = PathView(id="map-path")

    def new_terminal(self, ident: str, enter: list[str] | None = None) -> Terminal:
        """A bash in the world (not started yet): on its host, or where ``enter`` leads."""
        world = self.world
        term = Terminal(
            [
                *priority.as_before(),  # the learner's programs: not at the lab's priority
                *(enter or world.enter_argv(None)),
                "bash",
                "--rcfile",
                str(world.dir / "bashrc"),
                "-i",
            ],
            env=world.env(term="xterm-256color"),
            cwd=str(world.home),
            id=ident,
        )
        term.on_output = self._output_arrived
        return term

    def _output_arrived(self) -> None:
        """A shell wrote: read the events file at once (once per turn of the loop), so a
        prompt coming back is seen without waiting for the next 100 ms poll."""
        if not self._poll_soon:
            self._poll_soon = True
            asyncio.get_running_loop().call_soon(self._poll_events)

    def active_terminal(self) -> Terminal:
        """The terminal of the tab in front."""
        tabs = self.query_one("#terms", TabbedContent)
        try:
            pane = tabs.active_pane
        except NoMatches:  # the tab in front is being removed (its shell ended)
            pane = None
        found = list(pane.query(Terminal)) if pane is not None else []
        return found[0] if found else self.shell

    def places(self) -> list[str]:
        """Where a new shell may start: the host, then the learner's namespaces (as
        the last read of the world saw them)."""
        spaces = self.state.namespaces if self.state else {}
        return [HOST_NS, *sorted(n for n in spaces if n not in (HOST_NS, INTERNET_NS))]

    def action_new_terminal(self) -> None:
        """Ctrl+T (or Ctrl+] c): another shell in the world, in a tab of its own, on
        the host or inside a namespace (asked when the world has namespaces)."""
        if not self.ready:
            self.notify(_("the world is not ready yet"), timeout=3)
            return
        if self.demo_running:  # the demo waits on the prompts of the world's shells
            self.notify(_("the demo is running: F7 stops it, then Ctrl+T"), timeout=3)
            return
        places = self.places()
        if len(places) == 1:
            self.open_terminal(HOST_NS)
            return

        def picked(place: str | None) -> None:
            if place:
                self.open_terminal(place)

        self.app.push_screen(PlaceScreen(places), picked)

    @work(group="terminal", exit_on_error=False)
    async def open_terminal(self, place: str) -> None:
        """Open a tab with a shell at ``place`` (the host or a namespace's name)."""
        try:  # entering a namespace checks it is the world's own (a few processes)
            enter = await asyncio.to_thread(
                self.world.enter_argv, None if place == HOST_NS else place
            )
        except LabError as exc:
            self.notify(exc.message, title=_("no new shell"), severity="error", timeout=6)
            return
        self._terminals_made += 1
        number = self._terminals_made + 1
        term = self.new_terminal(f"shell-{number}", enter)
        same = sum(1 for t in [self.shell, *self.extra_terminals] if self.place_of(t) == place)
        self.terminal_titles[term] = place if not same else f"{place} ({same + 1})"
        self.extra_terminals.append(term)
        tabs = self.query_one("#terms", TabbedContent)
        tabs.remove_class("-single")
        pane = TabPane(self.terminal_titles[term], term, id=f"tab-{number}")
        await tabs.add_pane(pane)
        tabs.active = pane.id or ""
        term.start()
        self.focus_panel(term)

    def place_of(self, term: Terminal) -> str:
        """Where ``term`` started (its tab's title without the number)."""
        return self.terminal_titles.get(term, HOST_NS).split(" (")[0]

    def action_next_terminal(self) -> None:
        """Ctrl+] Tab: the next terminal tab."""
        tabs = self.query_one("#terms", TabbedContent)
        panes = [p.id for p in tabs.query(TabPane) if p.id]
        if len(panes) > 1 and tabs.active in panes:
            tabs.active = panes[(panes.index(tabs.active) + 1) % len(panes)]
        self.focus_panel(self.active_terminal())

    def _close_extra_terminals(self) -> None:
        """A rebuilt world ends every process in it: the extra tabs go with it."""
        tabs = self.query_one("#terms", TabbedContent)
        for term in self.extra_terminals:
            term.stop()
            self.terminal_titles.pop(term, None)
        for pane in list(tabs.query(TabPane)):
            if pane.id != "tab-1":
                tabs.remove_pane(pane.id or "")
        self.extra_terminals = []
        tabs.active = "tab-1"
        tabs.add_class("-single")

    @property
    def ready(self) -> bool:
        """The world is built and the shell runs (the scheduler keeps it)."""
        return self.sched.ready

    @property
    def building(self) -> bool:
        return self.sched.building

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static("", id="top-lesson")
            yield Static("", id="top-score")
        with Horizontal(id="main"):
            with Vertical(id="side"):
                yield LessonList(id="lessons")
                yield LessonText(id="text")
                yield Milestones(id="milestones")
                yield Hints(id="hints")
            with Vertical(id="work"):
                yield Static("", id="narration")
                with TabbedContent(id="terms", classes="-single"), TabPane("host", id="tab-1"):
                    yield self.shell
                yield self.netmap
        yield Footer(show_command_palette=False, compact=True)  # all keys fit in 80 columns

    async def on_mount(self) -> None:
        self.shell.on_first_output = self._first_output
        self.query_one("#narration").display = False
        self.on_resize()
        await self._show_lesson()
        self.shell.focus()
        if not self.live:
            return
        self.set_interval(EVENTS_EVERY, self._poll_events)
        self.set_interval(STATE_EVERY / 4, self._poll_state)  # the scheduler spaces reads
        state = self.world.state()
        world_lesson = self.world.lesson if state == "ready" else None
        if self.lesson_ref is None and world_lesson and world_lesson != self.lesson.id:
            self.lesson = self.session.start_lesson(None, world_lesson)
            await self._show_lesson()
        if state != "ready":
            # Built without asking: a question here would be answered by the first
            # keys the learner types for the shell (the browser view's `n` of `netns`).
            what = _("was left broken") if state == "broken" else _("did not exist yet")
            self.notify(
                _(
                    "The world {self_world_name!r} {what}: building lesson {self_lesson_number}."
                ).format(
                    self_world_name=self.world.name,
                    what=what,
                    self_lesson_number=self.lesson.number,
                )
            )
            self.build(self.lesson)
            return
        if world_lesson != self.lesson.id:
            self.build(self.lesson)
            return
        self.session.set_current(self.lesson)
        self._world_ready()

    def _first_output(self) -> None:
        self.timings.setdefault("first_output", time.perf_counter())

    async def freeze(
        self,
        report: LessonReport | None,
        state: WorldState | None,
        shell_output: bytes,
        commands: tuple[str, ...] = (),
    ) -> None:
        """Show fixed content (screenshots and snapshot tests: no clock, no pty)."""
        self.session.record_commands(self.lesson, commands)
        self.report = report
        self.last_check_ms = 42.0 if report else 0.0
        if report:
            self.session.record_report(self.lesson, report)
        if state:
            self.state = state
            self.netmap.show(state)
        self.shell.feed(shell_output)
        await self._show_lesson()

    # ----------------------------------------------------------- the lesson

    async def _show_lesson(self) -> None:
        self._refresh_list()
        try:
            text = self.lesson.text()
        except LabError as exc:
            text = _(
                "# {self_lesson_title}\n\n(cannot render the lesson text: {exc_message})"
            ).format(self_lesson_title=self.lesson.title, exc_message=exc.message)
        await self.query_one(LessonText).show(text)
        self._refresh_milestones()
        self._refresh_topbar()

    def current_report(self) -> LessonReport | None:
        """The latest report, if it is of the lesson on screen."""
        return self.report if self.report and self.report.lesson == self.lesson.id else None

    def _refresh_list(self) -> None:
        rows = [
            (lesson, self.session.passed_count(lesson), self.session.completed(lesson))
            for lesson in self.course.lessons
        ]
        self.query_one(LessonList).show(rows, self.lesson.id)

    def _refresh_milestones(self) -> None:
        report = self.current_report()
        last = self.session.neighbour(self.lesson, 1) is None
        self.query_one(Milestones).show(
            self.lesson,
            report,
            self.check_status,
            done_note=self.course_end_text() if last else _("F4: next lesson"),
            revealed=self.session.revealed(self.lesson),
        )
        self.query_one(Hints).show(self.lesson, self.session.hints_shown(self.lesson))

    def _refresh_topbar(self) -> None:
        report = self.current_report()
        passed = sum(1 for m in report.milestones if m.passed) if report else 0
        total = len(self.lesson.milestones)
        count = len(self.course.lessons)
        done = sum(1 for lesson in self.course.lessons if self.session.completed(lesson))
        self.query_one("#top-lesson", Static).update(
            " "
            + _("lesson {number}/{count}: {title}").format(
                number=self.lesson.number, count=count, title=self.lesson.title
            )
        )
        mode = (
            _("reading · Esc returns")
            if self.reading
            else _("keys → {panel}").format(panel=self.focus_name())
        )
        score = _("{passed}/{total} ✔ · course {done}/{count} ✔ · {mode}").format(
            passed=passed, total=total, done=done, count=count, mode=mode
        )
        self.query_one("#top-score", Static).update(f" {score} ")

    async def switch_language(self, lang: str) -> None:
        """Everything in ``lang`` at once, the shell left alone: the lesson (read again in
        that language), the keys and panels, and the checks' explanations (checked
        again); the choice is saved with the progress, as ``cnlab --lang`` saves it."""
        i18n.set_language(lang)
        self.course = load_course(self.course.root, lang)
        self.session.course = self.course
        self.lesson = self.course.find(self.lesson.id)
        self.session.progress.lang = lang
        with quietly("saving the chosen language"):
            self.session.save()
        self.localize_bindings()
        await self._show_lesson()
        if self.report is not None:
            self.request_check()
        self.notify(_("Language: {name}").format(name=i18n.NAMES[lang]), timeout=3)

    def focus_name(self) -> str:
        """The panel that has the keys, as the top bar and the help name it."""
        focused = self.focused
        names = {
            "shell": _("shell"),
            "lessons": _("lesson list"),
            "text": _("lesson text"),
            "milestones": _("milestones"),
            "hints": _("hints"),
            "map": _("map"),
        }
        if isinstance(focused, Terminal) and len(self.terminal_titles) > 1:
            return _("shell: {where}").format(where=self.terminal_titles.get(focused, HOST_NS))
        while focused is not None:
            if focused.id in names:
                return names[focused.id]
            focused = focused.parent if isinstance(focused.parent, Widget) else None
        return _("nothing (Esc: shell)")

    def on_descendant_focus(self) -> None:
        self._refresh_topbar()

    def on_descendant_blur(self) -> None:
        self.call_after_refresh(self._refresh_topbar)

    def debug_text(self) -> str:
        """The lab's own timings (for developers: shown in the help, not the top bar)."""
        latencies = sorted(self.feedback_latencies)
        median = f"{latencies[len(latencies) // 2] * 1000:.0f} ms" if latencies else _("none yet")
        return _(
            "world {self_world_name}; last check took {self_last_check_ms:.0f} ms; command "
            "to milestone: median {median} over {count}; check server started "
            "{self_checker_starts} time(s); {self_builds_done} build(s)"
        ).format(
            self_world_name=self.world.name,
            self_last_check_ms=self.last_check_ms,
            median=median,
            count=len(latencies),
            self_checker_starts=self.checker.starts,
            self_builds_done=self.builds_done,
        )

    def _set_status(self, status: str) -> None:
        self.check_status = status
        self._refresh_milestones()
        self._refresh_topbar()

    def _show_note(self, note: str) -> None:
        self.netmap.show_note(note)
        self._set_status(note)

    # --------------------------------------------------------- world & shell

    def build(self, lesson: Lesson) -> None:
        """Rebuild the world at ``lesson``'s start state, then start a new shell."""
        if self.building:
            return
        self.sched.build_started()
        self.shell.stop()
        self._close_extra_terminals()
        self.lesson = lesson
        self.report = None
        self.state = None
        self._show_note(_("building lesson {lesson_number}…").format(lesson_number=lesson.number))
        self._build_worker(lesson)

    @work(exclusive=True, group="build", exit_on_error=False)
    async def _build_worker(self, lesson: Lesson) -> None:
        # Hold the check server's lock: no check may look at a half-built world
        # (the server cleans up a world it finds half-made).
        async with self.checker.lock:
            try:
                took = await asyncio.to_thread(self._build_blocking, lesson)
            except LabError as exc:
                self.post_message(BuildFailed(lesson, exc.message))
                return
            except Exception as exc:  # keep the TUI alive; say what broke
                self.post_message(BuildFailed(lesson, f"{type(exc).__name__}: {exc}"))
                return
        self.post_message(BuildDone(lesson, took))

    def _build_blocking(self, lesson: Lesson) -> float:
        """Runs in a thread: build_lesson spawns processes and never forks Python."""
        from lab.course_run import build_lesson

        with locked(self.world.name, wait=60):
            return build_lesson(self.world, lesson)

    @on(BuildFailed)
    def _build_failed(self, message: BuildFailed) -> None:
        self.sched.build_failed()
        self._show_note(_("the world could not be built (F5 tries again)"))
        self.notify(message.error, title=_("build failed"), severity="error", timeout=15)

    @on(BuildDone)
    async def _build_done(self, message: BuildDone) -> None:
        self.builds_done += 1
        self.lesson = message.lesson
        self.session.set_current(message.lesson)
        await self._show_lesson()
        self.notify(
            _("lesson {message_lesson_number} is ready ({value1:.0f} ms)").format(
                message_lesson_number=message.lesson.number, value1=message.took * 1000
            ),
            timeout=3,
        )
        self._world_ready()

    def _world_ready(self) -> None:
        """The world is at the lesson's start: a new shell, a check, a fresh map."""
        self.tail.skip_to_end()
        self.shell.start()
        self.state = None
        self.netmap.show_note(_("reading the world…"))
        check, read = self.sched.world_ready(time.monotonic())
        if check:
            self._check_worker(self.lesson)
        if read:
            self._state_worker()

    async def on_terminal_exited(self, event: Terminal.Exited) -> None:
        """A shell in an extra tab ended (``exit``): its tab closes, as in a terminal
        emulator. The first shell stays (Enter starts a new one)."""
        term = event.terminal
        if term not in self.extra_terminals:
            return
        self.extra_terminals.remove(term)
        title = self.terminal_titles.pop(term, "")
        tabs = self.query_one("#terms", TabbedContent)
        pane = next((p for p in tabs.query(TabPane) if term in p.query(Terminal)), None)
        if pane is not None and pane.id:
            if tabs.active == pane.id:  # the last tab left comes to the front
                rest = [p.id for p in tabs.query(TabPane) if p.id and p is not pane]
                tabs.active = rest[-1] if rest else ""
            await tabs.remove_pane(pane.id)
        if not self.extra_terminals:
            tabs.add_class("-single")
        self.notify(f"the shell {title} ended: its tab is closed", timeout=3)
        self.focus_panel(self.active_terminal())

    def on_terminal_restart(self, event: Terminal.Restart) -> None:
        if self.world.state() == "ready" and not self.building:
            event.terminal.start()
        else:
            self.notify(_("the world is gone: F5 rebuilds this lesson"), severity="warning")

    # ------------------------------------------------------- events & checks

    def _poll_events(self) -> None:
        self._poll_soon = False
        if not self.ready:
            return
        events = self.tail.poll()
        if not events:
            return
        done = [e for e in events if e.kind == "done"]
        if done:  # first the check the learner waits for, then the rest
            self.last_done_at = time.perf_counter()
            cmd = [e.time for e in events if e.kind == "cmd"] or [self._last_cmd_time]
            self._done_stages = {"cmd": cmd[-1], "done": done[-1].time, "seen": time.time()}
            if self.sched.command_ended():
                self._check_worker(self.lesson)
        if events[-1].kind == "cmd":  # one runs now: its check comes soon, hold reads
            self.sched.command_started(time.monotonic())
        self._look_for_slips(events)  # after the check: its state read queues behind it
        commands = [e.value for e in events if e.kind == "cmd"]
        if commands:
            self._last_cmd_time = next(e.time for e in reversed(events) if e.kind == "cmd")
            self.session.record_commands(self.lesson, commands)
            self._refresh_milestones()  # an attempt may reveal a cause

    def _look_for_slips(self, events: list[Any]) -> None:
        """A command that failed (its prompt came back with a non-zero status), or one
        that works only in another namespace: was it typed in the wrong namespace?
        (:mod:`lab.slips`, against the world read now)."""
        for event in events:
            if event.kind == "cmd":
                self._last_typed = record.Line(event.namespace, event.value, None, event.time)
            elif event.kind == "done" and self._last_typed is not None:
                typed, self._last_typed = self._last_typed, None
                status = event.value.strip()
                if typed.ns == event.namespace and status.isdigit():
                    line = record.Line(typed.ns, typed.text, int(status), typed.at)
                    if slips.worth_a_look(line):
                        self._slip_worker(line)

    @work(exclusive=True, group="slip", exit_on_error=False)
    async def _slip_worker(self, line: record.Line) -> None:
        try:
            state = await self.checker.state()
        except (CheckError, KeyError, TypeError, ValueError):
            return
        for ran in record.commands_of(line):
            said = slips.explain(ran, state)
            if said:
                self.notify(said, title="in the wrong namespace?", timeout=15)
                return

    def request_check(self) -> None:
        """A reason to check arrived (the scheduler collapses a burst into one check)."""
        if self.sched.want_check():
            self._check_worker(self.lesson)

    @work(exclusive=False, group="check", exit_on_error=False)
    async def _check_worker(self, lesson: Lesson) -> None:
        started = time.perf_counter()
        stages = {"asked": time.time()}
        try:
            report = await self.checker.check(lesson.id)
        except CheckError as exc:
            self.post_message(ReportReady(lesson, None, str(exc), 0.0))
            return
        took = (time.perf_counter() - started) * 1000
        stages |= {
            "answered": time.time(),
            "wait": self.checker.last_wait_s,
            "check": report.duration_ms / 1000,
        }
        self.post_message(ReportReady(lesson, report, None, took, stages))

    @on(ReportReady)
    def _report_ready(self, message: ReportReady) -> None:
        follow_up = self.sched.check_done()
        if message.report is None:
            self._set_status(
                _("checks unavailable: {message_error}").format(message_error=message.error)
            )
            self.set_timer(1.0, self.request_check)
        elif message.lesson is self.lesson and self.ready:
            self.last_check_ms = message.took_ms
            answers = self._answers_done(message.stages)
            if answers:
                self.feedback_latencies.append(time.perf_counter() - self.last_done_at)
                self.last_done_at = 0.0
            self._apply_report(message.lesson, message.report)
            if answers and self._done_stages is not None:
                self._done_stages |= message.stages | {"shown": time.time()}
                self.feedback_stages.append(self._done_stages)
                self._done_stages = None
        if follow_up:
            self._check_worker(self.lesson)

    def _answers_done(self, stages: dict[str, float]) -> bool:
        """This check started after the last command's prompt came back (not one that was
        already running and may have read the world before the command changed it)."""
        seen = self._done_stages["seen"] if self._done_stages else None
        return bool(self.last_done_at) and seen is not None and stages.get("asked", 0) >= seen

    def _apply_report(self, lesson: Lesson, report: LessonReport) -> None:
        report = self.session.earned(lesson, report)
        self.report = report
        newly = self.session.record_report(lesson, report)
        self.check_status = ""
        self._refresh_milestones()
        self._refresh_topbar()
        self._refresh_list()
        if newly:
            if self.session.all_completed():
                self.app.push_screen(TextScreen(self.session.summary_markdown()))
            elif self.session.neighbour(lesson, 1) is None:
                self.notify(
                    f"Lesson {lesson.number} complete! {self.course_end_text()}", timeout=10
                )
            else:
                self.notify(
                    _("Lesson {lesson_number} complete! F4 opens the next one.").format(
                        lesson_number=lesson.number
                    ),
                    timeout=8,
                )

    def _poll_state(self) -> None:
        if self.sched.read_due(time.monotonic()):
            self._state_worker()

    @work(exclusive=False, group="state", exit_on_error=False)
    async def _state_worker(self) -> None:
        try:
            state = await self.checker.state()
        except CheckError as exc:
            self.post_message(WorldRead(None, str(exc)))
            return
        self.post_message(WorldRead(state, None))

    @on(WorldRead)
    def _world_read(self, message: WorldRead) -> None:
        if message.state is None:
            self.sched.read_done(changed=False, first=False)
            self.netmap.show_note(
                _("map unavailable: {message_error}").format(message_error=message.error)
            )
            return
        changed = self.ready and not _same_state(message.state, self.state)
        first = self.state is None
        if changed:
            self.state = message.state
            self.post_message(WorldChanged(message.state))
        if self.sched.read_done(changed, first):
            self._check_worker(self.lesson)

    @on(WorldChanged)
    def _world_changed(self, message: WorldChanged) -> None:
        if self.ready and message.state is self.state:  # not one a build has made stale
            self.netmap.show(message.state)
            self._refresh_goal()

    # --------------------------------------------------------------- actions

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.debug_text()))

    def action_hint(self) -> None:
        before = len(self.session.hints_shown(self.lesson))
        shown = self.session.use_hint(self.lesson)
        if shown == before:
            self.notify(_("That was the last hint. F6 shows the solution."), timeout=4)
        self._refresh_milestones()
        hints = self.query_one(Hints)
        hints.call_after_refresh(hints.scroll_end, animate=False)

    def action_lesson(self, step: int) -> None:
        target = self.session.neighbour(self.lesson, step)
        if target is None:
            if step > 0:
                self.notify(self.course_end_text(), title=_("no lesson after this one"), timeout=8)
            else:
                self.notify(_("This is the first lesson."), timeout=3)
            return
        self.request_lesson(target)

    def course_end_text(self) -> str:
        """What to say after the last lesson: complete, or which lessons are left."""
        left = self.session.unfinished()
        if not left:
            return _("The course is complete: every lesson is finished.")
        numbers = ", ".join(str(lesson.number) for lesson in left)
        return _(
            "That was the last lesson. Still unfinished: {numbers} (open one from the "
            "lesson list: Ctrl+O, or F9)."
        ).format(numbers=numbers)

    def request_lesson(self, target: Lesson) -> None:
        """Open ``target``, never throwing the learner's network away without asking.

        From a finished lesson to the next one, the network is kept when it is
        already the next lesson's start state (compared in a worker); any other
        move asks first, saying what would be lost.
        """
        if target.id == self.lesson.id:
            return
        if self.building:
            self.notify(_("a lesson is being built; wait a moment"), timeout=3)
            return
        if self.session.neighbour(self.lesson, 1) is target and self.session.completed(self.lesson):
            self._compare_worker(target)
            return
        self.ask_to_open(target)

    def ask_to_open(self, target: Lesson, why: str = "") -> None:
        passed = self.session.passed_count(self.lesson)
        total = len(self.lesson.milestones)
        unfinished = (
            ""
            if self.session.completed(self.lesson)
            else _(
                "Lesson {self_lesson_number} is not finished ({passed}/{total} milestones).\n\n"
            ).format(self_lesson_number=self.lesson.number, passed=passed, total=total)
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.open_lesson(target)

        self.app.push_screen(
            ConfirmScreen(
                _(
                    "{unfinished}{why}Open lesson {target_number} ({target_title})? Its start "
                    "state replaces your network and the shell restarts (your progress is kept)."
                ).format(
                    unfinished=unfinished,
                    why=why,
                    target_number=target.number,
                    target_title=target.title,
                ),
                yes=_("Open lesson {target_number}").format(target_number=target.number),
            ),
            answer,
        )

    @work(exclusive=True, group="compare", exit_on_error=False)
    async def _compare_worker(self, target: Lesson) -> None:
        self._set_status(
            _("comparing your network with lesson {target_number}'s start…").format(
                target_number=target.number
            )
        )
        try:
            wanted = await self._start_state(target)
            live = await self.checker.state()
        except (LabError, CheckError) as exc:
            diffs = [
                _("(could not compare: {getattr})").format(getattr=getattr(exc, "message", exc))
            ]
        else:
            diffs = differences(live, wanted)
        self._set_status("")
        if self.building or not self.session.completed(self.lesson):
            return
        if not diffs:
            await self.keep_network_for(target)
            return
        more = _(" (and {count} more)").format(count=len(diffs) - 1) if len(diffs) > 1 else ""
        kind, what = shown(diffs[0])
        self.ask_to_open(
            target,
            _(
                "Your network differs from lesson {target_number}'s start state: "
                "{diffs_0}{more}.\n\n"
            ).format(
                target_number=target.number,
                diffs_0=_("{kind}: ").format(kind=kind) + what,
                more=more,
            ),
        )

    async def _start_state(self, lesson: Lesson, solved: bool = False) -> WorldState:
        """``lesson``'s start state as the check server reads it, from a scratch world;
        ``solved``: after its reference solution too (the lesson's goal).

        Read once per lesson (and again when its scripts change). The reading is
        shielded: a worker that is cancelled (the goal view redraws) never stops a
        scratch world half-way; a later caller gets the same reading.
        """
        scripts = (lesson.start_script(), lesson.solution_script() if solved else "")
        key = f"{lesson.id}{'+solved' if solved else ''}"
        cached = self._start_states.get(key)
        failed = cached is not None and cached[1].done() and cached[1].exception() is not None
        if cached is None or cached[0] != scripts or failed:
            job = asyncio.ensure_future(self._read_scratch(lesson, solved))
            self._start_states[key] = cached = (scripts, job)
        return await asyncio.shield(cached[1])

    async def _read_scratch(self, lesson: Lesson, solved: bool) -> WorldState:
        suffix = "goal" if solved else "start"
        scratch = World(validate_name(f"{self.world.name[:25]}-{suffix}"))
        client = CheckClient(scratch.name)
        try:
            await asyncio.to_thread(self._build_scratch, scratch, lesson, solved)
            return await client.state()
        finally:
            await client.close()
            await asyncio.to_thread(scratch.destroy)

    @staticmethod
    def _build_scratch(scratch: World, lesson: Lesson, solved: bool) -> None:
        from lab.course_run import build_lesson

        with locked(scratch.name, wait=60):
            build_lesson(scratch, lesson)
            if solved:
                result = scratch.run(lesson.solution_script(), timeout=120)
                if result.returncode != 0:
                    raise LabError(
                        _(
                            "the reference solution of lesson {lesson_number} failed (exit "
                            "{result_returncode})"
                        ).format(lesson_number=lesson.number, result_returncode=result.returncode)
                    )

    async def keep_network_for(self, target: Lesson) -> None:
        """Move on to ``target`` in the same world: the network already is its start."""
        self.stop_demo()
        self.world.write_meta(lesson=target.id)
        record.mark_lesson(self.world.events_path, target.id)  # seen before is not seen here
        self.lesson = target
        self.report = None
        self.session.set_current(target)
        await self._show_lesson()
        self.notify(
            _("Lesson {target_number}: your network is its start state, so it is kept.").format(
                target_number=target.number
            ),
            timeout=5,
        )
        self.request_check()
        self._refresh_goal()

    def open_lesson(self, lesson: Lesson) -> None:
        self.stop_demo()
        self.build(lesson)

    def on_lesson_list_chosen(self, event: LessonList.Chosen) -> None:
        lesson = self.course.find(event.lesson_id)
        self.focus_panel(self.shell)
        self.request_lesson(lesson)

    def action_reset(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.stop_demo()
                self.build(self.lesson)

        self.app.push_screen(
            ConfirmScreen(
                _(
                    "Reset lesson {self_lesson_number}? The world goes back to the lesson's start "
                    "state and the shell restarts."
                ).format(self_lesson_number=self.lesson.number),
                yes="Reset",
            ),
            answer,
        )

    def action_solution(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.session.mark_solution_shown(self.lesson)
                self.app.push_screen(TextScreen(self.solution_markdown()))

        self.app.push_screen(
            ConfirmScreen(_("Show the reference solution of this lesson?"), yes="Show"), answer
        )

    def solution_markdown(self) -> str:
        parts = [f"# Solution: {self.lesson.title}", ""]
        for step in self.lesson.solution_steps():
            if step.narration:
                parts.append(" ".join(step.narration))
                parts.append("")
            if step.command:
                parts += ["```bash", step.command, "```", ""]
        return "\n".join(parts)

    def action_goal(self) -> None:
        """Show (or hide) the goal beside the network: this lesson's end (its start
        state with the reference solution applied) compared with the live world."""
        self.goal_shown = not self.goal_shown
        if self.goal_shown and not self.netmap.display:
            self.show_map(True)
        self._refresh_goal()

    def _refresh_goal(self) -> None:
        if not self.goal_shown:
            self.netmap.show_goal(None)
            return
        self._goal_worker(self.lesson)

    @work(exclusive=True, group="goal", exit_on_error=False)
    async def _goal_worker(self, lesson: Lesson) -> None:
        goal = _("the end of lesson {lesson_number} (its reference solution)").format(
            lesson_number=lesson.number
        )
        if self.netmap.goal_for != lesson.id:
            self.netmap.show_goal(goal_text(goal, None), lesson.id)
        try:
            wanted = await self._start_state(lesson, solved=True)
        except (LabError, CheckError) as exc:
            self.netmap.show_goal(
                Text(
                    _("Goal: cannot be shown: {getattr}").format(
                        getattr=getattr(exc, "message", exc)
                    )
                ),
                lesson.id,
            )
            return
        if self.goal_shown and self.state is not None and lesson is self.lesson:
            self.netmap.show_goal(goal_text(goal, goal_differences(self.state, wanted)), lesson.id)

    async def action_path(self) -> None:
        """Show (or hide) the path of the first failing milestone's packet above the map."""
        if self.pathview.is_mounted and self.pathview.display:
            self.pathview.display = False
            self.pathview.show_trace(None)
            return
        if not self.netmap.display:
            self.show_map(True)
        if not self.pathview.is_mounted:
            await self.netmap.mount(self.pathview, before=0)
        self.pathview.display = True
        report = self.current_report()
        failing = report.first_failure if report else None
        if failing is None:
            self.pathview.show_trace(None, _("Path: no failing milestone to follow"))
            return
        self.pathview.show_trace(
            None,
            _("Path: following the packet of {failing_title}…").format(failing_title=failing.title),
        )
        self._path_worker(self.lesson, failing.id)

    @work(exclusive=True, group="path", exit_on_error=False)
    async def _path_worker(self, lesson: Lesson, milestone: str) -> None:
        try:
            found = await self.checker.trace(lesson.id, milestone)
        except CheckError as exc:
            self.pathview.show_trace(None, _("Path: cannot be shown: {exc}").format(exc=exc))
            return
        if self.pathview.display:
            self.pathview.show_trace(found, _("Path: this milestone sends no packet"))

    def action_toggle_map(self) -> None:
        self.show_map(not self.netmap.display)

    def show_map(self, shown: bool) -> None:
        """Show or hide the map; the choice holds across resizes (by default the
        map shows only when the screen is wide)."""
        self.set_class(shown, "-map-on")
        self.set_class(not shown, "-map-off")
        self.netmap.display = shown

    def on_resize(self) -> None:
        if not (self.has_class("-map-on") or self.has_class("-map-off")):
            self.netmap.display = self.app.size.width >= WIDE

    # ------------------------------------------------------- panels & focus

    def panels(self) -> list[Widget]:
        """The panels Ctrl+O visits, in order (only those on screen)."""
        order: list[Widget] = [
            self.active_terminal(),
            self.query_one(LessonList),
            self.query_one(LessonText),
            self.query_one(Milestones),
            self.query_one(Hints),
            self.netmap,
        ]
        shown = [w for w in order if w.display or isinstance(w, LessonList)]
        return [w for w in shown if not self.reading or isinstance(w, LessonText)]

    def action_switch_focus(self) -> None:
        panels = self.panels()
        current = next((i for i, w in enumerate(panels) if w.has_focus_within), -1)
        self.focus_panel(panels[(current + 1) % len(panels)])

    def focus_panel(self, panel: Widget) -> None:
        # the lesson list hides on narrow or short screens: it opens while it has the keys
        self.set_class(isinstance(panel, LessonList), "-lessons-open")
        panel.focus()

    def action_to_shell(self) -> None:
        if self.reading:
            self.action_reading()
            return
        self.focus_panel(self.active_terminal())

    def action_prefix(self) -> None:
        """Ctrl+]: the browser-safe way to every F-key (a letter follows)."""

        def picked(action: str | None) -> None:
            if action == SEND_PREFIX:
                self.active_terminal().write(b"\x1d")
            elif action:
                self.call_after_refresh(self.run_action, action)

        self.app.push_screen(PrefixScreen(), picked)

    def action_reading(self) -> None:
        """Reading mode: the lesson text takes the whole screen (the same key returns)."""
        self.reading = not self.reading
        self.set_class(self.reading, "-reading")
        self.focus_panel(self.query_one(LessonText) if self.reading else self.active_terminal())
        self._refresh_topbar()

    # ------------------------------------------------------------------ demo

    def action_demo(self) -> None:
        if self.demo_running:
            self.stop_demo()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.start_demo()

        self.app.push_screen(
            ConfirmScreen(
                _(
                    "Run the demo? This lesson is reset, then its solution is typed into the shell "
                    "step by step. F7 stops it."
                ),
                yes=_("Run demo"),
            ),
            answer,
        )

    @property
    def demo_running(self) -> bool:
        return self._demo is not None and not self._demo.is_finished

    def start_demo(self) -> None:
        """Reset the lesson, then type its solution (a Textual worker; F7 stops it).

        Seeing the demo is seeing the solution: the summary says so. The learner's
        keys are refused in the demo's shell while it types, so they never mix.
        """
        self.stop_demo()
        self.session.mark_solution_shown(self.lesson)
        self._demo = self._demo_worker()

    @work(exclusive=True, group="demo", exit_on_error=False)
    async def _demo_worker(self) -> bool:
        narration = self.query_one("#narration", Static)
        narration.display = True
        narration.update(_("demo: resetting the lesson…"))
        self.build(self.lesson)
        self.shell.locked = _("The demo is typing in this shell: F7 (or Ctrl+] d) stops it.")
        try:
            while self.building or not self.shell.running:
                if not self.building and not self.ready:  # the build failed
                    narration.update(_("demo stopped: the lesson could not be built"))
                    return False
                await asyncio.sleep(0.05)
            self.focus_panel(self.shell)
            # run_demo starts by waiting for a prompt of its own (an empty Enter).

            def done_count() -> int:
                self._poll_events()
                return self.tail.done_count

            return await run_demo(
                self.lesson.solution_steps(),
                self.shell.write,
                narration.update,
                done_count,
                char_delay=self.demo_char_delay,
                pause=self.demo_pause,
            )
        finally:
            self.shell.locked = ""
            self.set_timer(4, lambda: setattr(narration, "display", False))

    def stop_demo(self) -> None:
        demo, self._demo = self._demo, None
        if demo is not None and not demo.is_finished:
            demo.cancel()
            self.shell.locked = ""
            narration = self.query_one("#narration", Static)
            narration.update(_("demo stopped"))
            self.set_timer(2, lambda: setattr(narration, "display", False))

    # -------------------------------------------------------------- shutdown

    async def on_unmount(self) -> None:
        self.sched.stopped()
        self.stop_demo()
        self.shell.stop()
        for term in self.extra_terminals:
            term.stop()
        for _scripts, job in self._start_states.values():  # a scratch world is never left behind
            with quietly("waiting for a scratch world to be removed"):
                await job
        await self.checker.close()
