"""Client of the check server: checks run in another process, never in the TUI.

Checks and state reading fork once per namespace (:mod:`lab.inns`), which is
unsafe in a threaded process such as a Textual app, and they import the netlink
library (a tenth of a second). So the TUI starts ``python -m checks.server --world NAME``
and talks JSON lines to it::

    -> {"op": "check", "lesson": "01-namespace"}
    <- {"op": "check", "report": {...LessonReport.to_json()...}}
    -> {"op": "state"}
    <- {"op": "state", "state": {...dataclasses.asdict(WorldState)...}}
    <- {"op": ..., "error": "message"}          (on failure)

One request is in flight at a time (an :class:`asyncio.Lock`); a server that
died, hung past the timeout or wrote garbage is killed (by its PID) and
started again on the next request. Errors come back as :class:`CheckError`
with a one-line message, never as a traceback in the learner's face.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab import i18n
from lab.debug import quietly
from lab.i18n import _
from lab.model import LessonReport, Trace, WorldState

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class CheckError(Exception):
    """The server could not answer (its message is meant for a person)."""


def default_argv(world: str) -> list[str]:
    """The command that starts the check server (``CNLAB_CHECK_SERVER`` overrides it)."""
    override = os.environ.get("CNLAB_CHECK_SERVER")
    if override:
        return [*override.split(), "--world", world]
    return [sys.executable, "-m", "checks.server", "--world", world]


class CheckClient:
    """One check server subprocess, restarted when it dies."""

    def __init__(self, world: str, argv: Sequence[str] | None = None, timeout: float = 60.0):
        self.world = world
        self.argv = list(argv) if argv else default_argv(world)
        self.timeout = timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()
        self.starts = 0
        self.last_stderr = ""
        self._drainer: asyncio.Task[None] | None = None
        self._killed: list[asyncio.subprocess.Process] = []
        self.last_wait_s = 0.0  # the last request's wait for the one in flight before it

    async def _ensure(self) -> asyncio.subprocess.Process:
        if self.proc is not None and self.proc.returncode is None:
            return self.proc
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(PROJECT_ROOT),
                env=env,
                limit=16 * 1024 * 1024,
            )
        except OSError as exc:
            raise CheckError(_("cannot start the check server: {exc}").format(exc=exc)) from exc
        self.starts += 1
        self._drainer = asyncio.create_task(self._drain_stderr(self.proc))
        return self.proc

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        with quietly("reading the check server's stderr"):
            while line := await proc.stderr.readline():
                self.last_stderr = line.decode(errors="replace").strip()[-300:]

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return the response (raises :class:`CheckError`)."""
        asked = time.perf_counter()
        async with self.lock:
            self.last_wait_s = time.perf_counter() - asked
            proc = await self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            # the learner's language, read at each request: a switch applies at once
            payload = json.dumps({"op": op, "lang": i18n.language(), **fields}) + "\n"
            try:
                proc.stdin.write(payload.encode())
                await proc.stdin.drain()
                line = await asyncio.wait_for(proc.stdout.readline(), self.timeout)
            except asyncio.CancelledError:
                # the answer would arrive for the next request: start afresh
                self._kill_now()
                raise
            except asyncio.TimeoutError:  # not TimeoutError on 3.10
                await self._kill()
                raise CheckError(
                    _("the check server did not answer within {self_timeout:.0f} s").format(
                        self_timeout=self.timeout
                    )
                ) from None
            except (OSError, ConnectionError) as exc:
                await self._kill()
                raise CheckError(_("the check server went away: {exc}").format(exc=exc)) from exc
            if not line:
                await self._kill()
                why = f": {self.last_stderr}" if self.last_stderr else ""
                raise CheckError(_("the check server stopped{why}").format(why=why))
            try:
                data = json.loads(line)
            except ValueError:
                await self._kill()
                raise CheckError(
                    _("the check server answered something that is not JSON")
                ) from None
            if not isinstance(data, dict):
                raise CheckError(_("the check server answered something that is not an object"))
            if data.get("error"):
                raise CheckError(str(data["error"]))
            return data

    async def check(self, lesson: str) -> LessonReport:
        """The lesson's report, read back from the server's JSON."""
        data = await self.request("check", lesson=lesson)
        report = data.get("report")
        if not isinstance(report, dict):
            raise CheckError(_("the check server sent no report"))
        try:
            return LessonReport.from_json(report)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckError(
                _("the check server sent a malformed report ({exc!r})").format(exc=exc)
            ) from None

    async def trace(self, lesson: str, milestone: str) -> Trace | None:
        """The milestone's packet followed hop by hop (``cnlab trace --json``), or None."""
        data = await self.request("trace", lesson=lesson, milestone=milestone)
        found = data.get("trace")
        if not isinstance(found, dict):
            return None
        try:
            return Trace.from_json(found)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckError(
                _("the check server sent a malformed trace ({exc!r})").format(exc=exc)
            ) from None

    async def state(self) -> WorldState:
        """The world's state, read back from the server's JSON."""
        data = await self.request("state")
        state = data.get("state")
        if not isinstance(state, dict):
            raise CheckError(_("the check server sent no state"))
        try:
            return WorldState.from_json(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckError(
                _("the check server sent a malformed state ({exc!r})").format(exc=exc)
            ) from None

    def _kill_now(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            self._killed.append(proc)  # reaped in close()

    async def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with quietly("waiting for a killed check server"):
            await asyncio.wait_for(proc.wait(), 2)

    async def close(self) -> None:
        """Ask the server to stop (end of stdin), then kill it if it lingers."""
        for old in self._killed:
            with quietly("closing an old check server"):
                if old.stdin is not None:
                    old.stdin.close()
                await asyncio.wait_for(old.wait(), 2)
        self._killed.clear()
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        with quietly("closing the check server's stdin"):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 1.0)
        except asyncio.TimeoutError:  # not TimeoutError on 3.10
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with quietly("waiting for the check server to end"):
                await asyncio.wait_for(proc.wait(), 2)
