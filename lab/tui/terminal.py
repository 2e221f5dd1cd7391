"""A real terminal inside Textual: bash on a pty, emulated by pyte.

Why pyte and not ``textual-tty``: the field notes (``/work/shared/NOTES.md``)
measured ``textual-tty`` 0.4.0 as working but pre-alpha and *without
scrollback*, and ``textual-terminal`` does not import with Textual 8. pyte is
a mature VT100/xterm emulator whose :class:`pyte.HistoryScreen` keeps the lines
that scroll off the top, which is what a learner needs to read the output of
``ip a`` on a small screen. The glue (pty, keys, colours) is ours and small.

How it works:

* The shell is started with :class:`subprocess.Popen` (no Python code runs in
  the child, so this is safe in Textual's threaded process) as
  ``setsid -c ARGV``: ``setsid -c`` makes the pty the child's *controlling
  terminal*, so the kernel delivers Ctrl-C to the foreground job (``ping``)
  and bash has job control.
* The pty master is watched with ``loop.add_reader``; output is fed to pyte
  and the widget repaints at most every 20 ms.
* Keys become the bytes an xterm sends (arrows honour DECCKM). The widget
  stops every key it handles, so Tab, Ctrl-C, Ctrl-P... reach bash rather
  than Textual; the app keeps only F-keys and a few Ctrl combos that bash
  does not need, as *priority* bindings.
* Shift+PageUp/PageDown and the mouse wheel scroll back through at least
  :data:`SCROLLBACK` lines; typing returns to the bottom.
* When bash exits the widget says so and Enter starts a new shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence

import pyte
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from lab.debug import quietly
from lab.i18n import _

SCROLLBACK = 5000
DECCKM = 1 << 5  # pyte stores private mode N as N << 5

_COLOURS = {
    "black": "black",
    "red": "red",
    "green": "green",
    "brown": "yellow",
    "blue": "blue",
    "magenta": "magenta",
    "cyan": "cyan",
    "white": "white",
}

_KEYS = {
    "enter": "\r",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "backspace": "\x7f",
    "ctrl+h": "\x08",
    "escape": "\x1b",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "insert": "\x1b[2~",
    "delete": "\x1b[3~",
    "pageup": "\x1b[5~",
    "pagedown": "\x1b[6~",
    "ctrl+left": "\x1b[1;5D",
    "ctrl+right": "\x1b[1;5C",
    "ctrl+space": "\x00",
    "ctrl+@": "\x00",
}
_ARROWS = {"up": "A", "down": "B", "right": "C", "left": "D"}


def _colour(name: str, bold: bool = False) -> Color | None:
    if name == "default":
        return None
    if name.startswith("bright"):
        base = _COLOURS.get(name[6:])
        return Color.parse(f"bright_{base}") if base else None
    if name in _COLOURS:
        base = _COLOURS[name]
        return Color.parse(f"bright_{base}" if bold and base != "black" else base)
    if len(name) == 6:
        with quietly("parsing a colour"):
            return Color.parse(f"#{name}")
    return None


@functools.lru_cache(maxsize=1024)
def _style(fg: str, bg: str, bold: bool, italic: bool, underline: bool, reverse: bool) -> Style:
    return Style(
        color=_colour(fg, bold),
        bgcolor=_colour(bg),
        bold=bold,
        italic=italic,
        underline=underline,
        reverse=reverse,
    )


def key_bytes(event: events.Key, app_cursor: bool = False) -> bytes | None:
    """The bytes an xterm would send for ``event`` (None: not for the shell)."""
    key = event.key
    if key in _ARROWS:
        return (("\x1bO" if app_cursor else "\x1b[") + _ARROWS[key]).encode()
    if key in _KEYS:
        return _KEYS[key].encode()
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5]) & 0x1F])
    if event.character and (event.is_printable or event.character in "\x1b\t\r\x7f"):
        return event.character.encode()
    if event.character and len(event.character) == 1 and ord(event.character) < 32:
        return event.character.encode()
    return None


class Terminal(Widget, can_focus=True):
    """A terminal running ``argv`` on a pty; restartable after the program exits."""

    DEFAULT_CSS = """
    Terminal { background: $background; }
    """

    class Exited(Message):
        """The shell ended by itself (``exit``, Ctrl-D, killed), not by :meth:`stop`."""

        def __init__(self, status: int | None, terminal: Terminal) -> None:
            super().__init__()
            self.status, self.terminal = status, terminal

    class Restart(Message):
        """The learner asked for a new shell after the old one ended."""

        def __init__(self, terminal: Terminal) -> None:
            super().__init__()
            self.terminal = terminal

    class Output(Message):
        """Bytes arrived from the shell (posted at most every 20 ms)."""

    def __init__(
        self,
        argv: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.argv = list(argv or [])
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.fd: int | None = None
        self._cols, self._rows = 80, 24
        self.screen_ = pyte.HistoryScreen(self._cols, self._rows, history=SCROLLBACK)
        self.stream = pyte.ByteStream(self.screen_)
        self.scrollback = 0  # lines scrolled back from the bottom
        self._repaint_pending = False
        self.exited = False
        self.started_at = 0.0
        self.on_first_output: Callable[[], None] | None = None
        # called on the loop as soon as the shell wrote anything (a prompt coming back
        # follows the line the prompt appended to the world's events file)
        self.on_output: Callable[[], None] | None = None
        # While set (the demo types here), the learner's keys are refused with this
        # reason, so they never mix with the demo's commands.
        self.locked = ""
        self._lock_said_at = 0.0

    # ---------------------------------------------------------------- process

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start ``argv`` on a new pty sized like the widget."""
        self.stop()
        self.screen_.reset()
        self.scrollback = 0
        self.exited = False
        master, slave = os.openpty()
        self._set_winsize(master)
        try:
            self.proc = subprocess.Popen(
                ["setsid", "-c", *self.argv],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self.env,
                cwd=self.cwd,
                close_fds=True,
            )
        except OSError as exc:
            os.close(master)
            os.close(slave)
            said = _("could not start the shell: {exc}").format(exc=exc)
            self.feed(f"\r\n{said}\r\n".encode())
            self.exited = True
            return
        finally:
            with contextlib.suppress(OSError):
                os.close(slave)
        self.fd = master
        self.started_at = time.perf_counter()
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._readable)

    def stop(self) -> None:
        """End the shell we started (its whole session) and close the pty.

        SIGHUP first, like a closed terminal, so bash and whatever runs from
        its rc files (a pyenv rehash holding a lock file...) clean up; SIGKILL
        only for what is still there half a second later.
        """
        proc, self.proc = self.proc, None
        self._close_fd()
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGHUP)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGHUP)
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the session

    def _close_fd(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            with quietly("removing the pty reader"):
                asyncio.get_running_loop().remove_reader(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    def _readable(self) -> None:
        if self.fd is None:
            return
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._ended()
            return
        self.feed(data)

    def _ended(self) -> None:
        self._close_fd()
        status = None
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = self.proc.wait(timeout=1)
        self.proc = None
        self.exited = True
        self.feed(
            b"\r\n\x1b[7m shell ended - press Enter for a new shell (F5 resets the lesson) \x1b[0m"
        )
        self.post_message(self.Exited(status, self))

    def write(self, data: bytes | str) -> None:
        """Send bytes to the shell as if typed."""
        if isinstance(data, str):
            data = data.encode()
        if self.fd is None:
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            except OSError:
                return
            view = view[written:]

    def feed(self, data: bytes) -> None:
        first = not self.screen_.display or not any(self.screen_.display)
        self.stream.feed(data)
        if first and self.on_first_output is not None:
            callback, self.on_first_output = self.on_first_output, None
            callback()
        if self.on_output is not None:
            self.on_output()
        if not self._repaint_pending:
            self._repaint_pending = True
            self.set_timer(0.02, self._repaint)

    def _repaint(self) -> None:
        self._repaint_pending = False
        self.refresh()
        self.post_message(self.Output())

    # ------------------------------------------------------------------ text

    def display_lines(self) -> list[str]:
        """The visible screen as plain text (what a learner sees, for tests)."""
        return [line.rstrip() for line in self.screen_.display]

    def text(self) -> str:
        """Scrollback and screen as plain text."""
        cols = self.screen_.columns
        history = [
            "".join(line[x].data for x in range(cols)).rstrip() for line in self.screen_.history.top
        ]
        return "\n".join([*history, *self.display_lines()]).rstrip()

    # -------------------------------------------------------------- geometry

    def _resize_screen(self, rows: int, cols: int) -> None:
        """Resize pyte's screen keeping the cursor's line in view.

        pyte drops lines from the top when the screen gets shorter but keeps
        the cursor's row number, so the prompt would land on old output. Here
        the lines above the cursor that no longer fit go to the scrollback and
        the empty lines below the cursor are cut instead.
        """
        scr = self.screen_
        if rows < scr.lines:
            drop = max(0, scr.cursor.y - (rows - 1))
            old = scr.lines
            if drop:
                for y in range(drop):
                    scr.history.top.append(scr.buffer[y])
                for y in range(old):
                    if y + drop < old:
                        scr.buffer[y] = scr.buffer[y + drop]
                    else:
                        scr.buffer.pop(y, None)
                scr.cursor.y -= drop
            for y in range(rows, old):
                scr.buffer.pop(y, None)
            scr.lines = rows
            scr.set_margins()
            scr.dirty.update(range(rows))
        scr.resize(rows, cols)

    def _set_winsize(self, fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", self._rows, self._cols, 0, 0))

    def on_resize(self, event: events.Resize) -> None:
        cols = max(event.size.width, 10)
        rows = max(event.size.height, 2)
        if (cols, rows) == (self._cols, self._rows):
            return
        self._cols, self._rows = cols, rows
        self._resize_screen(rows, cols)
        if self.fd is not None:
            self._set_winsize(self.fd)
            if self.proc is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGWINCH)
        self.refresh()

    # -------------------------------------------------------------- painting

    def render_line(self, y: int) -> Strip:
        history = self.screen_.history.top
        index = len(history) - self.scrollback + y
        cols = self._cols
        if index < len(history):
            line = history[index]
            cursor_x = -1
        else:
            row = index - len(history)
            if row >= self._rows:
                return Strip.blank(self.size.width)
            line = self.screen_.buffer[row]
            cursor = self.screen_.cursor
            show = self.has_focus and not cursor.hidden and row == cursor.y and not self.exited
            cursor_x = cursor.x if show else -1
        segments: list[Segment] = []
        text = ""
        style: Style | None = None
        for x in range(cols):
            char = line[x]
            cstyle = _style(
                char.fg,
                char.bg,
                char.bold,
                char.italics,
                char.underscore,
                char.reverse != (x == cursor_x),
            )
            if cstyle != style:
                if text:
                    segments.append(Segment(text, style))
                text, style = "", cstyle
            text += char.data or " "
        if text:
            segments.append(Segment(text, style))
        return Strip(segments).crop_extend(0, self.size.width, None)

    # ----------------------------------------------------------------- input

    async def on_key(self, event: events.Key) -> None:
        if event.key in ("shift+pageup", "shift+pagedown"):
            event.stop()
            event.prevent_default()
            page = max(self._rows - 1, 1)
            self.scroll_lines(page if event.key == "shift+pageup" else -page)
            return
        if self.locked:
            event.stop()
            event.prevent_default()
            self._refuse()
            return
        if self.exited:
            if event.key == "enter":
                event.stop()
                event.prevent_default()
                self.post_message(self.Restart(self))
            return
        data = key_bytes(event, app_cursor=DECCKM in self.screen_.mode)
        if data is None:
            return
        event.stop()
        event.prevent_default()
        if self.scrollback:
            self.scroll_lines(-self.scrollback)
        self.write(data)

    def _refuse(self) -> None:
        """Say once in a while why typed keys go nowhere (not once per key)."""
        now = time.monotonic()
        if now - self._lock_said_at > 3:
            self._lock_said_at = now
            self.notify(self.locked, timeout=3)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        if self.locked:
            self._refuse()
            return
        self.write(event.text.replace("\r\n", "\r").replace("\n", "\r"))

    def scroll_lines(self, delta: int) -> None:
        """Scroll back ``delta`` lines (negative: towards the bottom)."""
        limit = len(self.screen_.history.top)
        self.scrollback = max(0, min(limit, self.scrollback + delta))
        self.refresh()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_lines(3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_lines(-3)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_unmount(self) -> None:
        self.stop()
