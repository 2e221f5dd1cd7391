"""Type commands into a real interactive bash, as a learner at a terminal would.

A shell script and a terminal are not the same thing. At a prompt, bash reads
one line at a time from a *terminal* (a pseudo-terminal here): ``sudo nsenter
--net=/var/run/netns/netns0`` with no program starts a new interactive shell that
reads the next lines, until ``exit`` returns to the outer one; job control
exists (Ctrl-Z stops the foreground job, ``bg`` resumes it in the background);
the rc files run (aliases, ``set +H`` so that the article's ``!-o br0`` reaches
iptables instead of being a history error). :class:`TypedShell` drives such a
bash with pexpect, so that a replay builds the same network the learner saw.

How it knows a command finished: the world's prompt hook (``prompt.sh``, run
before *every* prompt of *every* shell of the world, nested ones included)
writes a prompt carrying a per-session marker when ``CNLAB_PROMPT_MARK`` is in
the environment: ``MARK:STATUS:NAMESPACE:DEPTH# ``. Nested shells inherit the
variable, so a new shell announces itself with the same marker; nothing is
re-typed. A continuation prompt (``PS2``, after a trailing ``\\``) carries the
marker too. The driver waits on these prompts, never on fixed sleeps.

A foreground command that does not return (a server such as ``python3 -m
http.server 5000``) shows no prompt before its per-command ``settle`` time:
the driver does what the learner would, Ctrl-Z then ``bg`` (the server keeps
running) or Ctrl-C (``on_hang="interrupt"``). Everything shown is kept in the
transcript, with the marker prompts drawn as ``[namespace] # ``.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pexpect
from pexpect.spawnbase import SpawnBase

MARK_VAR = "CNLAB_PROMPT_MARK"
DEFAULT_SETTLE = 5.0  # seconds without a prompt before a command counts as "still running"
DEFAULT_LIMIT = 30.0  # seconds before the driver gives a command up entirely
TRANSCRIPT_MAX = 256 * 1024
TAIL_MAX = 8 * 1024
ROWS, COLS = 50, 200
FLOOD = 64 * 1024  # unread output beyond this goes to the transcript while waiting
KEEP_SEARCHING = 1024  # ...all but this much, where a prompt may be starting
POLL = 0.1  # how often a long wait also checks whether the shell has ended
CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r(?!\n)|\x07")


def plain(text: str) -> str:
    """Terminal output as text: colours, bracketed-paste and cursor codes removed."""
    return CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class Typed:
    """One line typed and what became of it."""

    line: str
    output: str
    status: int | None  # exit status shown by the next prompt (None: no prompt)
    namespace: str  # where the next prompt is ("" if none)
    depth: int  # how many shells deep (1 = the first one)
    outcome: str  # done | continued | backgrounded | interrupted | exited | stuck


@dataclass
class Prompt:
    status: int
    namespace: str
    depth: int


def new_mark() -> str:
    """A marker no command output will contain by chance."""
    return f"cnlab-typed-{secrets.token_hex(8)}"


def prompt_regex(mark: str) -> tuple[str, str]:
    """(primary prompt, continuation prompt) patterns for ``mark``."""
    m = re.escape(mark)
    return (rf"{m}:(\d+):([^:\r\n]*):(\d+)[$#] ", rf"{m}\+ ")


@dataclass
class TypedShell:
    """An interactive bash on a pseudo-terminal, driven line by line.

    ``child`` is a pexpect spawn (or ``fdspawn`` on a pty master) whose shell was
    started with ``CNLAB_PROMPT_MARK=mark`` in its environment.
    """

    child: SpawnBase
    mark: str
    settle: float = DEFAULT_SETTLE
    limit: float = DEFAULT_LIMIT
    on_hang: str = "background"  # or "interrupt"
    history: list[Typed] = field(default_factory=list)
    _transcript: list[str] = field(default_factory=list)
    _size: int = 0
    _last: str = ""
    shown: int = 0  # characters shown in all
    prompt: Prompt | None = None
    alive: bool = True
    ended: Callable[[], bool] | None = None  # how to tell the shell ended (default: its pid)
    max_shown: int | None = None  # stop (TooMuchOutput) once the terminal showed more

    def __post_init__(self) -> None:
        if self.on_hang not in ("background", "interrupt"):
            raise ValueError(f"on_hang must be background or interrupt, not {self.on_hang!r}")
        self.child.delaybeforesend = None  # pexpect's default waits 50 ms per send
        self.child.searchwindowsize = KEEP_SEARCHING  # a flood is not searched again and again
        self.child.maxread = 65536
        ps1, ps2 = prompt_regex(self.mark)
        self._patterns = [re.compile(ps1), re.compile(ps2), pexpect.EOF, pexpect.TIMEOUT]

    # ------------------------------------------------------------ reading

    def _keep(self, text: str) -> None:
        text = re.sub(prompt_regex(self.mark)[0], lambda m: f"[{m.group(2)}] # ", plain(text))
        text = re.sub(prompt_regex(self.mark)[1], "> ", text)
        self.shown += len(text)
        self._last = (self._last + text)[-TAIL_MAX:]
        if self._size < TRANSCRIPT_MAX:
            self._transcript.append(text[: TRANSCRIPT_MAX - self._size])
            self._size += len(text)

    def _wait(self, timeout: float) -> tuple[int, str]:
        """Wait for a prompt; (which pattern, text before it).

        Waits in short slices to notice the shell's end even when a process it
        left in the background still holds the terminal open (no EOF then).
        A timeout consumes nothing: the text stays for the next wait.
        """
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            index = self.child.expect(self._patterns, timeout=max(0.0, min(left, POLL)))
            if index != 3:
                break
            if self.exited():
                index = 2
                break
            self._flush_flood()
            if left <= POLL:
                return 3, _text(self.child.before)
        before = _text(self.child.before)
        if index == 0:
            match = self.child.match
            assert match is not None and not isinstance(match, (str, bytes, type))
            self.prompt = Prompt(int(match.group(1)), match.group(2), int(match.group(3)))
        if index == 2:
            self.alive = False
            if self.child.buffer:  # after an exit seen by polling: what is left
                before += _text(self.child.buffer)
                self.child.buffer = type(self.child.buffer)()
        self._keep(before + (_text(self.child.after) if index in (0, 1) else ""))
        return index, before

    def _flush_flood(self) -> None:
        """A command that floods the terminal: move all but the buffer's tail (where a
        prompt may be starting) to the transcript, and stop at ``max_shown``."""
        buffer = _text(self.child.buffer)
        if len(buffer) > FLOOD:
            self._keep(buffer[:-KEEP_SEARCHING])
            self.child.buffer = buffer[-KEEP_SEARCHING:]
        if self.max_shown is not None and self.shown > self.max_shown:
            raise TooMuchOutput(f"more than {self.max_shown // 1024} KiB shown on the terminal")

    def exited(self) -> bool:
        """True once the shell (the process on the terminal) has ended."""
        if self.ended is not None:
            return self.ended()
        return isinstance(self.child, pexpect.spawn) and not self.child.isalive()

    def wait_prompt(self, timeout: float | None = None) -> Prompt:
        """Wait for the first prompt of the shell (after its rc files ran)."""
        index, before = self._wait(self.limit if timeout is None else timeout)
        if index != 0 or self.prompt is None:
            tail = before.strip().splitlines()[-3:]
            raise ShellError(
                "the shell showed no prompt"
                + (" (it exited)" if index == 2 else f" within {self.limit:g} s")
                + (": " + " | ".join(tail) if tail else "")
            )
        return self.prompt

    # ------------------------------------------------------------ typing

    def type(self, line: str, settle: float | None = None) -> Typed:
        """Type ``line`` and Enter; wait until a prompt comes back (or act as the learner)."""
        if not self.alive:
            raise ShellError("the shell has exited: nothing more can be typed")
        line = line.replace("\t", " ")  # a Tab would ask readline for completions
        self.child.send(line + "\r")
        index, before = self._wait(self.settle if settle is None else settle)
        outcome = {0: "done", 1: "continued", 2: "exited"}.get(index, "")
        if index == 3:
            outcome, index, before = self._unstick(before)
        if index in (2, 3):  # no prompt came back: the shell ended, or nothing helped
            outcome = "exited" if index == 2 else "stuck"
        return self._record(line, before, outcome)

    def _unstick(self, before: str) -> tuple[str, int, str]:
        """The command still runs in the foreground: Ctrl-Z and bg, or Ctrl-C."""
        # ``before`` is still in pexpect's buffer: the next wait returns it again.
        if self.on_hang == "interrupt":
            self.child.send("\x03")  # Ctrl-C
            index, more = self._wait(self.limit)
            return "interrupted", index, more
        self.child.send("\x1a")  # Ctrl-Z
        index, more = self._wait(self.limit)
        if index != 0:
            # No job control there (or it ignores SIGTSTP): interrupt it instead.
            self.child.send("\x03")  # Ctrl-C
            index, again = self._wait(self.limit)
            return "interrupted", index, more + again
        self.child.send("bg\r")
        index, again = self._wait(self.limit)
        return "backgrounded", index, more + again

    def _record(self, line: str, before: str, outcome: str) -> Typed:
        output = plain(before)
        if output.startswith(line):  # the terminal's echo of what was typed
            output = output[len(line) :].lstrip("\n")
        prompt = self.prompt if outcome not in ("exited", "stuck") else None
        typed = Typed(
            line=line,
            output=output,
            status=prompt.status if prompt else None,
            namespace=prompt.namespace if prompt else "",
            depth=prompt.depth if prompt else 0,
            outcome=outcome,
        )
        self.history.append(typed)
        return typed

    def type_all(self, lines: Iterable[str]) -> list[Typed]:
        """Type every line; stop when the outermost shell exits."""
        done = []
        for line in lines:
            if not self.alive:
                break
            done.append(self.type(line))
        return done

    # ------------------------------------------------------------ the rest

    @property
    def transcript(self) -> str:
        """What the terminal showed, prompts drawn as ``[namespace] # ``."""
        return "".join(self._transcript)

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines on screen (however long the session was)."""
        return "\n".join(self._last.rstrip().splitlines()[-lines:])

    def close(self) -> None:
        """Hang up, like closing the terminal window."""
        if isinstance(self.child, pexpect.spawn):
            self.child.close(force=True)
        else:
            self.child.close()
        self.alive = False


class ShellError(Exception):
    """The driven shell did not behave as a terminal's shell does."""


class TooMuchOutput(ShellError):
    """The terminal showed more than ``max_shown`` characters."""


def shell_argv(rcfile: str) -> list[str]:
    """The learner's shell: interactive bash with the world's rc files."""
    return ["bash", "--rcfile", rcfile, "-i"]


def spawn(
    argv: Sequence[str],
    env: dict[str, str],
    cwd: str | None = None,
    mark: str | None = None,
    settle: float = DEFAULT_SETTLE,
    limit: float = DEFAULT_LIMIT,
    on_hang: str = "background",
) -> TypedShell:
    """Start ``argv`` (an interactive bash) on a new pseudo-terminal and wait for its prompt."""
    mark = mark or new_mark()
    child = pexpect.spawn(
        argv[0],
        list(argv[1:]),
        env={**env, MARK_VAR: mark},
        cwd=cwd,
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(ROWS, COLS),
        echo=True,
    )
    shell = TypedShell(child, mark, settle=settle, limit=limit, on_hang=on_hang)
    try:
        shell.wait_prompt()
    except BaseException:
        shell.close()
        raise
    return shell


def in_world(
    world: object,
    settle: float = DEFAULT_SETTLE,
    limit: float = DEFAULT_LIMIT,
    on_hang: str = "background",
) -> TypedShell:
    """A learner's shell in ``world`` (a :class:`lab.world.World`), as ``cnlab shell`` gives."""
    from lab.world import World

    assert isinstance(world, World)
    home = str(world.home)
    return spawn(
        [*world.enter_argv(), *shell_argv(str(world.dir / "bashrc"))],
        world.env(term="xterm-256color"),
        cwd=home if os.path.isdir(home) else "/",
        settle=settle,
        limit=limit,
        on_hang=on_hang,
    )
