"""When to check the lesson and read the world: plain Python, no Textual, no clock of its own.

The screen tells the scheduler what happened (a command finished, the world
was read and changed, a build started or ended, a check or a read finished)
and asks it what to start; the scheduler answers with booleans and the screen
starts the workers. So the rules are testable without a terminal:

* nothing is checked or read while a lesson is being built, or before the
  world is ready;
* one check at a time: reasons to check that arrive meanwhile (a burst of
  commands) collapse into one follow-up check when it ends;
* the world is read at most every ``state_every`` seconds, one read at a time;
  a read that finds the world changed (the learner's program changed it
  without a prompt coming back) asks for a check, except the first read after
  a build (the build itself already asked);
* a read never stands in the way of the check a learner waits for: the check
  server answers one request at a time, so no read starts while a check runs
  or waits, nor in the ``hold`` seconds after a command started (its prompt,
  and the check it asks for, are about to come). A read overdue by three
  periods goes anyway, so the map follows the world even while checks follow
  one another or a command runs for long (the article's foreground server).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Scheduler:
    state_every: float = 1.0
    hold: float = 0.5  # seconds after a command started with no new read
    ready: bool = False  # the world is built and the shell runs
    building: bool = False
    checking: bool = False
    check_pending: bool = False
    reading: bool = False
    last_read_at: float | None = None
    command_at: float | None = None  # when the command now running started

    # ------------------------------------------------------------- the world

    def build_started(self) -> None:
        self.ready, self.building = False, True
        self.check_pending = False

    def build_failed(self) -> None:
        self.building = False

    def world_ready(self, now: float) -> tuple[bool, bool]:
        """The world is ready: (start a check?, start a read?)."""
        self.ready, self.building = True, False
        self.last_read_at = None
        return self.want_check(), self.read_due(now)

    def stopped(self) -> None:
        self.ready = False

    # ---------------------------------------------------------------- checks

    def want_check(self) -> bool:
        """A reason to check arrived; True: start a check now."""
        if not self.ready:
            return False
        self.check_pending = True
        return self._start_check()

    def _start_check(self) -> bool:
        if self.checking or not self.check_pending or not self.ready:
            return False
        self.checking, self.check_pending = True, False
        return True

    def check_done(self) -> bool:
        """A check ended (with a report or an error); True: start the follow-up now."""
        self.checking = False
        return self._start_check()

    # -------------------------------------------------------------- commands

    def command_started(self, now: float) -> None:
        """A command was typed (its ``cmd`` line): its check is coming, hold reads."""
        self.command_at = now

    def command_ended(self) -> bool:
        """Its prompt came back: True: start the check now."""
        self.command_at = None
        return self.want_check()

    # ----------------------------------------------------------------- reads

    def read_due(self, now: float) -> bool:
        """True: read the world now (and it counts as started)."""
        if not self.ready or self.building or self.reading:
            return False
        since = None if self.last_read_at is None else now - self.last_read_at
        if since is not None and since < self.state_every:
            return False
        # the first read after a build goes with the build's check (the map waits for it)
        overdue = since is None or since >= 3 * self.state_every
        if not overdue and self._check_coming(now):
            return False
        self.reading, self.last_read_at = True, now
        return True

    def _check_coming(self, now: float) -> bool:
        held = self.command_at is not None and now - self.command_at < self.hold
        return self.checking or self.check_pending or held

    def read_done(self, changed: bool, first: bool) -> bool:
        """A read ended; True: start a check (the world changed under the learner)."""
        self.reading = False
        return changed and not first and self.want_check()
