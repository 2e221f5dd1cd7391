"""Run one untrusted submission inside a world, contained, with limits.

::

    runner (single-threaded worker)
      └ nsenter --mount=W/mnt --net=W/host            (the world, as a learner sees it)
          └ unshare --pid --fork --mount --uts --ipc --kill-child
              └ python jail.py   = PID 1: new root, fewer capabilities, seccomp
                  └ bash -s < submission            (stdout+stderr to a pipe we read)

The sandbox's own cgroups (:mod:`lab.grading.cgroups`) cap processes, memory
and devices; :mod:`lab.grading.jail` explains the file-system fence. This
module adds the time limit and the output limit, and guarantees teardown:
killing ``unshare`` makes the kernel kill PID 1 of the sandbox (``--kill-child``),
and a PID namespace dies with its PID 1, so nothing it started survives.

Processes the submission leaves in the background keep running after bash exits
(a learner's server must still answer when the checks run); :meth:`Sandbox.stop`
ends them.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pexpect import fdpexpect

from lab import typed
from lab.grading.cgroups import LIMITED, JobCgroups
from lab.world import World

JAIL = Path(__file__).with_name("jail.py")
PR_SET_PDEATHSIG = 1


@dataclass
class Limits:
    """What one submission may use."""

    timeout: float = 30.0
    output_keep: int = 64 * 1024  # bytes of output kept in the report
    output_max: int = 1024 * 1024  # more than this and the submission is stopped
    pids: int = 256
    memory_mb: int = 512
    scratch_mb: int = 64
    shm_mb: int = 16
    settle: float = 5.0  # typed replay: seconds before a command counts as still running


@dataclass
class RunResult:
    """How the submission ran (not whether it is right: the checks say that)."""

    status: str  # ok | timeout | output-limit | pid-limit | memory-limit | killed | setup-failed
    reason: str | None  # a sentence for a person when status is not ok
    exit_code: int | None
    output: str
    output_bytes: int
    output_truncated: bool
    seconds: float
    enforced: dict[str, bool] = field(default_factory=dict)


STATUS_MAX = 512  # the jail's lines are short; anything longer is not the jail


def parse_status(line: bytes, ready: bool, exited: bool) -> tuple[str, str | int] | None:
    """One line from the jail's status pipe, or None for anything the jail never writes.

    The jail writes ``ready`` (or ``setup REASON``), then ``exit CODE``, once each
    and in that order. The submission cannot reach the pipe (the jail is not
    dumpable, so its /proc/1/fd is closed to it), and even so, a line out of
    order, repeated or malformed is dropped rather than trusted or crashing the run.
    """
    text = line.decode("ascii", errors="replace")
    if not ready and not exited:
        if text == "ready":
            return ("ready", "")
        if text.startswith("setup ") and len(text) < 400:
            return ("setup", text[6:])
        return None
    if ready and not exited and text.startswith("exit "):
        code = text[5:]
        if code.lstrip("-").isdigit() and len(code) <= 4 and -128 <= int(code) <= 255:
            return ("exit", int(code))
    return None


class _StatusPipe:
    """The jail's status lines, read as they come (see :func:`parse_status`)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.ready = False
        self.setup_error: str | None = None
        self.exit_code: int | None = None
        self.closed = False
        self._buf = b""

    def poll(self, timeout: float = 0.0) -> None:
        if self.closed:
            return
        readable, _, _ = select.select([self.fd], [], [], timeout)
        if not readable:
            return
        self.feed(os.read(self.fd, 4096))

    def feed(self, chunk: bytes) -> None:
        """Take in what was read from the pipe (empty: the pipe was closed)."""
        if not chunk:
            self.closed = True
            return
        self._buf = (self._buf + chunk)[-STATUS_MAX:]
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            event = parse_status(line, self.ready, self.exit_code is not None)
            if event is None:
                continue
            if event[0] == "ready":
                self.ready = True
            elif event[0] == "setup":
                self.setup_error = str(event[1])
            else:
                self.exit_code = int(event[1])

    def exited(self) -> bool:
        """True once the learner's shell has exited (or the sandbox is gone)."""
        self.poll()
        return self.exit_code is not None or self.closed


class _Pipes:
    """A script-mode run's three pipes: the script going in, the output coming out (the
    first bytes kept, all counted) and the jail's status lines."""

    def __init__(self, data: bytes, in_fd: int, out_fd: int, status: _StatusPipe) -> None:
        self.data = data
        self.in_fd: int | None = in_fd
        self.out_fd = out_fd
        self.status = status
        self.fds = [out_fd, status.fd]
        self.sent = 0
        self.kept = bytearray()
        self.total = 0
        self.drain_until: float | None = None

    def write(self, writable: bool) -> bool:
        """Send the next part of the script; True when stdin is done and must be closed."""
        if self.in_fd is None:
            return False
        if writable:
            try:
                self.sent += os.write(self.in_fd, self.data[self.sent : self.sent + 65536])
            except BlockingIOError:
                pass
            except BrokenPipeError:  # bash is gone (an early `exit`)
                self.sent = len(self.data)
        if self.sent >= len(self.data) or self.drain_until is not None:
            self.in_fd = None
            return True
        return False

    def read_output(self, keep: int) -> None:
        try:
            chunk = os.read(self.out_fd, 65536)
        except BlockingIOError:
            chunk = b""
        if not chunk:
            self.fds.remove(self.out_fd)
            return
        self.total += len(chunk)
        room = keep - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]

    def read_status(self) -> None:
        exited = self.status.exit_code is not None
        self.status.feed(os.read(self.status.fd, 4096))
        if self.status.closed:
            self.fds.remove(self.status.fd)
            if not exited and self.drain_until is None:
                # The sandbox's PID 1 died without a report: killed from outside.
                self.drain_until = time.perf_counter() + 0.2
        elif not exited and self.status.exit_code is not None:
            # Collect what is already written, then stop waiting: a server left in
            # the background may hold the pipe forever.
            self.drain_until = time.perf_counter() + 0.2

    def end_verdict(self) -> tuple[str, str] | None:
        """Why the run ended badly, from the status lines; None if the script exited."""
        if self.status.setup_error is not None or not self.status.ready:
            return (
                "setup-failed",
                "the sandbox could not be built: " + (self.status.setup_error or "it exited early"),
            )
        if self.status.exit_code is None:
            return ("killed", "the sandbox was killed before the submission finished")
        return None


class Sandbox:
    """One submission's sandbox in ``world``; use as a context manager."""

    def __init__(self, world: World, limits: Limits) -> None:
        self.world = world
        self.limits = limits
        self.cgroups = JobCgroups(f"cnlab-{world.name}", limits.pids, limits.memory_mb << 20)
        self.proc: subprocess.Popen[bytes] | None = None
        self.mark = typed.new_mark()
        self._master: int | None = None
        self.transcript_tail = ""  # a typed replay's last lines on screen

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enforced(self) -> dict[str, bool]:
        return {c: c in self.cgroups.limits for c in LIMITED}

    def run(self, script: Path | bytes) -> RunResult:
        """Run ``script`` (shell commands, or a file of them) with ``bash -s``; return how it went."""
        started = time.perf_counter()
        # The world's /run/netns must be shared so that `ip netns add` in the
        # sandbox's copy shows up in the world, where the checks look.
        self._share_netns()
        self.cgroups.create()
        refused = self._refuse_unfenced(started)
        if refused is not None:
            return refused
        status_r, status_w = os.pipe()
        argv = self._argv(status_w, interactive=False)
        cgroups = self.cgroups

        def in_child() -> None:
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            cgroups.enter()

        # Through a pipe, not the file: bash reads a pipe byte by byte, so a
        # nested `bash` (after nsenter) reads the next lines and `exit` returns
        # to the outer shell at the right place, exactly as when typed.
        data = script if isinstance(script, bytes) else script.read_bytes()
        try:
            self.proc = self._start(argv, status_w, in_child)
        except subprocess.SubprocessError as exc:  # raised by in_child: the cgroups
            return self._no_cgroups(exc, started)
        finally:
            os.close(status_w)
        try:
            return self._watch(status_r, started, data)
        finally:
            os.close(status_r)

    def _share_netns(self) -> None:
        """The world's /run/netns must be shared so that `ip netns add` in the
        sandbox's copy shows up in the world, where the checks look."""
        subprocess.run(
            ["nsenter", f"--mount={self.world.mnt}", "--", "mount", "--make-shared", "/run/netns"],
            check=True,
            capture_output=True,
            timeout=10,
        )

    def _refuse_unfenced(self, started: float) -> RunResult | None:
        """Root ignores RLIMIT_NPROC: without a pids cgroup a fork bomb would take
        the machine down. Refuse rather than run unfenced."""
        if "pids" in self.cgroups.limits:
            return None
        return RunResult(
            status="setup-failed",
            reason="no pids cgroup could be made here, so a fork bomb could not be "
            "stopped: refusing to run untrusted code (see docs/grading.md, cgroups)",
            exit_code=None,
            output="",
            output_bytes=0,
            output_truncated=False,
            seconds=time.perf_counter() - started,
            enforced=self.enforced(),
        )

    def _no_cgroups(self, exc: Exception, started: float) -> RunResult:
        return RunResult(
            status="setup-failed",
            reason=f"the sandbox could not join its cgroups ({exc}): "
            + ", ".join(str(p) for p in self.cgroups.dirs),
            exit_code=None,
            output="",
            output_bytes=0,
            output_truncated=False,
            seconds=time.perf_counter() - started,
            enforced=self.enforced(),
        )

    def _argv(self, status_w: int, interactive: bool) -> list[str]:
        env = self.world.env(term="xterm-256color" if interactive else "dumb")
        env["CNLAB_SANDBOX"] = "1"
        config = {
            "status_fd": status_w,
            "env": env,
            "cwd": env["HOME"] if os.path.isdir(env["HOME"]) else "/",
            "world_dirs": [str(self.world.dir / "bin"), env["HOME"]],
            "world_dir": str(self.world.dir),
            "world_rc": interactive,
            "learner_uid": self.world.learner_uid,
            "scratch_mb": self.limits.scratch_mb,
            "shm_mb": self.limits.shm_mb,
        }
        if interactive:
            env[typed.MARK_VAR] = self.mark
        return [
            *self.world.enter_argv(),
            "unshare",
            "--pid",
            "--fork",
            "--mount",
            "--uts",
            "--ipc",
            "--propagation",
            "unchanged",
            "--kill-child=SIGKILL",
            "--",
            sys.executable,
            "-I",
            "-S",
            str(JAIL),
            json.dumps(config),
        ]

    # ------------------------------------------------------------ typed replay

    def run_typed(self, lines: Sequence[str], settle: float = typed.DEFAULT_SETTLE) -> RunResult:
        """Type ``lines`` one at a time into the learner's interactive bash, on a
        pseudo-terminal, inside the same jail as :meth:`run` (see lab/typed.py)."""
        started = time.perf_counter()
        self._share_netns()
        self.cgroups.create()
        refused = self._refuse_unfenced(started)
        if refused is not None:
            return refused
        status_r, status_w = os.pipe()
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", typed.ROWS, typed.COLS, 0, 0))
        argv = self._argv(status_w, interactive=True)
        cgroups = self.cgroups

        def in_child() -> None:
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            cgroups.enter()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty is this session's terminal

        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                pass_fds=(status_w,),
                env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")},
                start_new_session=True,
                preexec_fn=in_child,
            )
        except subprocess.SubprocessError as exc:
            os.close(master)
            return self._no_cgroups(exc, started)
        finally:
            os.close(status_w)
            os.close(slave)
        self._master = master
        status = _StatusPipe(status_r)
        try:
            return self._type(status, master, lines, started, settle)
        finally:
            os.close(status_r)

    def _type(
        self, status: _StatusPipe, master: int, lines: Sequence[str], started: float, settle: float
    ) -> RunResult:
        deadline = started + self.limits.timeout
        verdict: tuple[str, str] | None = None
        while not status.ready and status.setup_error is None and not status.closed:
            if time.perf_counter() >= deadline:
                break
            status.poll(max(0.0, deadline - time.perf_counter()))
        shell: typed.TypedShell | None = None
        if not status.ready or status.setup_error is not None:
            verdict = (
                "setup-failed",
                "the sandbox could not be built: " + (status.setup_error or "it exited early"),
            )
        else:
            child = fdpexpect.fdspawn(master, encoding="utf-8", codec_errors="replace")
            shell = typed.TypedShell(
                child,
                self.mark,
                settle=settle,
                limit=max(0.1, deadline - time.perf_counter()),
                ended=status.exited,
                max_shown=self.limits.output_max,
            )
            try:
                shell.wait_prompt()
                verdict = self._type_lines(shell, lines, deadline)
            except typed.TooMuchOutput:
                verdict = ("output-limit", self._too_much())
            except typed.ShellError as exc:
                verdict = ("killed", f"the learner's shell did not behave as expected: {exc}")
        self.transcript_tail = shell.tail() if shell else ""
        if verdict is None or verdict[0] in ("timeout", "killed", "setup-failed"):
            verdict = self.limit_hit() or verdict
        if verdict is not None:
            self.stop()
        transcript = shell.transcript if shell else ""
        kept = transcript.encode()[: self.limits.output_keep]
        last = shell.history[-1].status if shell and shell.history else None
        return RunResult(
            status="ok" if verdict is None else verdict[0],
            reason=None if verdict is None else verdict[1],
            exit_code=status.exit_code if status.exit_code is not None else last,
            output=kept.decode("utf-8", errors="replace"),
            output_bytes=shell.shown if shell else 0,
            output_truncated=shell is not None and shell.shown > len(kept),
            seconds=time.perf_counter() - started,
            enforced=self.enforced(),
        )

    def _too_much(self) -> str:
        return f"wrote more than {self.limits.output_max // 1024} KiB of output"

    def _type_lines(
        self, shell: typed.TypedShell, lines: Sequence[str], deadline: float
    ) -> tuple[str, str] | None:
        for line in lines:
            if not shell.alive:
                return None  # the learner's last `exit` closed the terminal
            left = deadline - time.perf_counter()
            if left <= 0:
                return ("timeout", f"still typing after the {self.limits.timeout:g} s limit")
            shell.limit = left
            done = shell.type(line, settle=min(shell.settle, left))
            if shell.shown > self.limits.output_max:
                return ("output-limit", self._too_much())
            if done.outcome == "stuck":
                return (
                    "timeout",
                    f"`{line[:80]}` never gave the prompt back, even after Ctrl-Z and Ctrl-C",
                )
        return None

    def _start(
        self, argv: list[str], status_w: int, in_child: Callable[[], None]
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(status_w,),
            env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")},
            start_new_session=True,
            preexec_fn=in_child,
        )

    def _watch(self, status_r: int, started: float, data: bytes) -> RunResult:
        assert self.proc is not None and self.proc.stdout is not None
        assert self.proc.stdin is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stdin.fileno(), False)
        pipes = _Pipes(
            data, self.proc.stdin.fileno(), self.proc.stdout.fileno(), _StatusPipe(status_r)
        )
        verdict = self._pump(pipes, started + self.limits.timeout)
        seconds = time.perf_counter() - started
        if verdict is None:
            verdict = pipes.end_verdict()
        if verdict is None or verdict[0] in ("timeout", "killed", "setup-failed"):
            verdict = self.limit_hit() or verdict
        if verdict is not None:
            self.stop()
        return RunResult(
            status="ok" if verdict is None else verdict[0],
            reason=None if verdict is None else verdict[1],
            exit_code=pipes.status.exit_code,
            output=pipes.kept.decode("utf-8", errors="replace"),
            output_bytes=pipes.total,
            output_truncated=pipes.total > len(pipes.kept),
            seconds=seconds,
            enforced=self.enforced(),
        )

    def _pump(self, pipes: _Pipes, deadline: float) -> tuple[str, str] | None:
        """Feed the script in and read output and status until the run ends: a verdict
        if it ran into the time or output limit, else None."""
        assert self.proc is not None and self.proc.stdin is not None
        while pipes.fds:
            now = time.perf_counter()
            if pipes.drain_until is not None and now >= pipes.drain_until:
                break
            if pipes.drain_until is None and now >= deadline:
                return ("timeout", f"still running after the {self.limits.timeout:g} s limit")
            limit = (pipes.drain_until or deadline) - now
            writers = [pipes.in_fd] if pipes.in_fd is not None else []
            readable, writable, _ = select.select(pipes.fds, writers, [], max(0.0, min(limit, 0.5)))
            if pipes.write(bool(writable)):
                self.proc.stdin.close()
            if pipes.out_fd in readable:
                pipes.read_output(self.limits.output_keep)
                if pipes.total > self.limits.output_max:
                    return ("output-limit", self._too_much())
            if pipes.status.fd in readable:
                pipes.read_status()
        return None

    def limit_hit(self) -> tuple[str, str] | None:
        """(status, reason) if the sandbox ran into its process or memory limit."""
        if self.cgroups.hit_pid_limit():
            return (
                "pid-limit",
                f"hit the limit of {self.limits.pids} processes (a fork bomb?) and was stopped",
            )
        if self.cgroups.hit_memory_limit():
            return ("memory-limit", f"used more than {self.limits.memory_mb} MiB of memory")
        return None

    def _kill_inside(self, proc: subprocess.Popen[bytes]) -> None:
        """Kill everything in the sandbox's groups but ``proc`` (our ``nsenter``), then
        give ``nsenter`` a moment to reap its child and exit.

        ``nsenter --pid`` forks: its child (``unshare``) lives in the world's PID
        namespace. Killed first, ``nsenter`` would leave that child to be reaped by
        the machine's init, and the world's init, at teardown, waits until it is (in
        the kernel's ``zap_pid_ns_processes``): seconds under an init that reaps
        lazily, forever under one that never does (a container's shell).
        """
        if proc.poll() is not None:
            return
        inside = self.cgroups.pids() - {proc.pid, os.getpid()}
        for pid in inside:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if inside:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)

    def stop(self) -> None:
        """End the sandbox and everything in it; remove its cgroups. Idempotent."""
        proc = self.proc
        if proc is not None:
            self._kill_inside(proc)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = None
        self.cgroups.destroy()
