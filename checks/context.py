"""What a check needs while it runs: the world, one snapshot, a tracer, probes.

A probe answers *whether* a packet got through and, watching every namespace of
the world for its own packets (:meth:`CheckContext.watch_paths`), *where it
went*. An observed probe (:meth:`CheckContext.observe`) is one whose nonce (an
ICMP id, a TCP source port) the milestone keeps with it (a :class:`Plan`), to
pick its packets out of what the probe saw.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from checks import probes
from checks.diagnose import Tracer
from checks.witness import Witness
from lab import inns, record, state
from lab.state import Reading, SignallingReader, WorldState
from lab.world import HOST_NS, INTERNET_NS, World

#: One probe call: (namespace, function, arguments), as a kind passes them to :meth:`probe`.
ProbeCall = tuple[str, Callable[..., dict[str, Any]], tuple[Any, ...]]


@dataclass(frozen=True)
class Plan:
    """A probe and its nonce (``want``: what its packets carry)."""

    probe: ProbeCall
    want: Mapping[str, Any]


@dataclass
class Observed:
    """What an observed probe found: its own answer, and its packets seen per namespace."""

    plan: Plan
    result: dict[str, Any] | None  # None: the probing namespace does not exist


@dataclass
class _Running:
    plan: Plan
    probe: inns.Pending | None


def _probe_key(ns: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    """How a prefetched probe is found again (its plain arguments; not the snapshot)."""
    plain = tuple(a for a in args if isinstance(a, (str, int, float)))
    return ("probe", ns, fn.__qualname__, plain)


class CheckContext:
    """One check run: the snapshot is read once, lazily, and shared by all milestones.

    Probes a lesson will send can be started together beforehand
    (:meth:`prefetch`): each runs in its own child, so a lesson's failing probes
    wait out their timeouts side by side rather than one after another.
    :meth:`probe` then collects the result of a prefetched call with the same
    arguments, or runs the call there and then.
    """

    def __init__(self, world: World, timeout: float = 0.4) -> None:
        self.world = world
        self.timeout = timeout
        self._started: dict[tuple[Any, ...], list[inns.Pending]] = {}
        self._observing: dict[tuple[Any, ...], _Running] = {}
        self._observed: dict[tuple[Any, ...], Observed] = {}
        self._world_fds: dict[str, int] = {}
        self._reading: Reading | None = None
        self._late: probes.LateState | None = None
        self._paired = False  # the readers return (namespace, extra): see begin_state
        #: What each namespace's reader returned besides its snapshot (by namespace).
        self.extras: dict[str, Any] = {}
        #: Small facts a kind's preparation leaves for the kind (e.g. echo ids), in order.
        self.notes: dict[tuple[Any, ...], list[Any]] = {}

    @cached_property
    def record(self) -> list[record.Ran]:
        """What the learner ran in this world's shells, in order (its events file)."""
        return record.read(self.world.events_path)

    @cached_property
    def state(self) -> state.WorldState:
        if self._reading is not None:
            return self._finish_reading(self._reading)
        return state.read_world(self.world)

    def begin_state(self, reader: SignallingReader | None = None) -> None:
        """Start reading the snapshot; probes may be started as soon as this returns.

        A probe started now sets itself up, then waits for :meth:`release` (stale
        neighbour entries gone, as with ``load_state(True)``) before it sends; the
        rest is read while the probes travel, and each gets the snapshot late
        (:meth:`snapshot_for_probe`), when :attr:`state` is first asked for. A
        ``reader`` of its own (see :func:`lab.state.start_reading`) returns
        (namespace, extra) pairs; the extras are kept in :attr:`extras`.
        """
        self._late = probes.LateState()
        if reader is None:
            self._reading = state.start_reading(self.world, wait=None)
        else:
            self._reading = state.start_reading(self.world, reader, wait=None)
        self._paired = reader is not None

    def release(self) -> None:
        """Let the probes started since :meth:`begin_state` send, once every reader says
        they may (its stale neighbour entries are gone)."""
        if self._reading is not None:
            state.await_said(self._reading)
        if self._late is not None:
            self._late.go()

    def _finish_reading(self, reading: Reading) -> WorldState:
        self.release()
        self._reading = None
        try:
            found = state.finish_each(reading)
        except BaseException:
            if self._late is not None:
                self._late.publish(None)
            raise
        if self._paired:
            self.extras = {name: pair[1] for name, pair in found.items()}
            found = {name: pair[0] for name, pair in found.items()}
        snapshot = WorldState(world=self.world.name, namespaces=found, taken_at=time.time())
        if self._late is not None:
            self._late.publish(snapshot)
        return snapshot

    def snapshot_for_probe(self) -> WorldState | probes.LateState:
        """The snapshot for a probe about to start: the snapshot, or its promise."""
        if self._reading is not None and self._late is not None:
            return self._late
        return self.state

    def learner_namespaces(self) -> list[str]:
        """The learner's namespaces (known before the snapshot is read)."""
        if self._reading is not None:
            return self._reading.learner_namespaces()
        return self.state.learner_namespaces()

    def load_state(self, forget_unresolved: bool = False) -> None:
        """Read the snapshot now (optionally dropping stale neighbour entries first)."""
        self.__dict__["state"] = state.read_world(self.world, forget_unresolved)
        self.__dict__.pop("tracer", None)

    def use_state(self, snapshot: WorldState) -> None:
        """Take a snapshot read by the caller (e.g. with the firewall's counters)."""
        self.__dict__["state"] = snapshot
        self.__dict__.pop("tracer", None)

    def watch_paths(self) -> probes.Watched:
        """Every namespace of the world, for a probe's watches (see :class:`probes.Watched`)."""
        if not self._world_fds:
            for name, path in ((HOST_NS, self.world.host), (INTERNET_NS, self.world.inet)):
                with contextlib.suppress(OSError):
                    self._world_fds[name] = os.open(path, os.O_RDONLY)
        paths = {f"{n}": f"/run/netns/{n}" for n in self.learner_namespaces()}
        return probes.Watched.of(self._world_fds, paths)

    @cached_property
    def tracer(self) -> Tracer:
        return Tracer(self.state, kernel=Witness(self.world, self.state))

    def keep(self, key: tuple[Any, ...], pending: inns.Pending) -> None:
        """Remember a child started early, for :meth:`take` (or :meth:`close`)."""
        self._started.setdefault(key, []).append(pending)

    def take(self, key: tuple[Any, ...]) -> inns.Pending | None:
        """A child kept under ``key`` (the oldest), or None."""
        kept = self._started.get(key)
        return kept.pop(0) if kept else None

    def prefetch(self, calls: Iterable[ProbeCall]) -> None:
        """Start these probes now, in parallel; :meth:`probe` collects them."""
        for ns, fn, args in calls:
            try:
                pending = inns.start(self.world, ns, fn, *args)
            except OSError:  # no fork now (out of processes?): probe() will try later
                return
            self.keep(_probe_key(ns, fn, args), pending)

    def probe(
        self, ns: str, fn: Callable[..., dict[str, Any]], *args: Any
    ) -> dict[str, Any] | None:
        """Run a probe inside ``ns``; None if that namespace does not exist."""
        self._publish()
        started = self.take(_probe_key(ns, fn, args))
        try:
            if started:
                result: dict[str, Any] = inns.collect(started, timeout=10.0)
                return result
            return inns.run(self.world, ns, fn, *args, timeout=10.0)
        except inns.NamespaceGone:
            return None

    def observe(self, key: tuple[Any, ...], plan: Plan) -> None:
        """Start the probe of ``plan`` now; :meth:`observed` collects it."""
        if key in self._observing or key in self._observed:
            return
        ns, fn, args = plan.probe
        try:
            pending: inns.Pending | None = inns.start(self.world, ns, fn, *args)
        except OSError:
            pending = None
        self._observing[key] = _Running(plan, pending)

    def observed(self, key: tuple[Any, ...], plan: Callable[[], Plan]) -> Observed:
        """The outcome of the observed probe under ``key`` (started now if it was not).

        Milestones that observe the same key share one probe and its outcome.
        """
        if key in self._observed:
            return self._observed[key]
        self._publish()
        if key not in self._observing:
            self.observe(key, plan())
        running = self._observing.pop(key)
        ns, fn, args = running.plan.probe
        try:
            if running.probe is not None:
                result: dict[str, Any] | None = inns.collect(running.probe, timeout=10.0)
            else:
                result = inns.run(self.world, ns, fn, *args, timeout=10.0)
        except inns.NamespaceGone:
            result = None
        self._observed[key] = Observed(running.plan, result)
        return self._observed[key]

    def publish_state(self) -> None:
        """Finish reading the snapshot begun by :meth:`begin_state` (if any) and hand it to
        the probes already sent; an error is left for the milestones that read it."""
        self._publish()

    def _publish(self) -> None:
        """Finish the snapshot before waiting on a probe: the probe may be waiting for it."""
        if self._reading is not None:
            with contextlib.suppress(Exception):  # the milestone that reads it will say why
                _ = self.state

    def close(self) -> None:
        """End the children started early that no milestone asked for."""
        for pendings in self._started.values():
            for pending in pendings:
                inns.discard(pending)
        self._started.clear()
        for running in self._observing.values():
            if running.probe is not None:
                inns.discard(running.probe)
        self._observing.clear()
        for fd in self._world_fds.values():
            os.close(fd)
        self._world_fds.clear()
        if self._reading is not None:
            state.abandon_reading(self._reading)
            self._reading = None
        if self._late is not None:
            self._late.go()  # a probe still waiting to send: let it end
            self._late.close()
            self._late = None
