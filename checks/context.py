"""What a check needs while it runs: the world, one snapshot, a tracer, probes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from checks.diagnose import Tracer
from lab import inns, state
from lab.world import World

#: One probe call: (namespace, function, arguments), as a kind passes them to :meth:`probe`.
ProbeCall = tuple[str, Callable[..., dict[str, Any]], tuple[Any, ...]]


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
        self._started: dict[tuple[str, str, tuple[Any, ...]], list[inns.Pending]] = {}

    @cached_property
    def state(self) -> state.WorldState:
        return state.read_world(self.world)

    @cached_property
    def tracer(self) -> Tracer:
        return Tracer(self.state)

    def prefetch(self, calls: Iterable[ProbeCall]) -> None:
        """Start these probes now, in parallel; :meth:`probe` collects them."""
        for ns, fn, args in calls:
            try:
                pending = inns.start(self.world, ns, fn, *args)
            except OSError:  # no fork now (out of processes?): probe() will try later
                return
            self._started.setdefault((ns, fn.__qualname__, args), []).append(pending)

    def probe(
        self, ns: str, fn: Callable[..., dict[str, Any]], *args: Any
    ) -> dict[str, Any] | None:
        """Run a probe inside ``ns``; None if that namespace does not exist."""
        started = self._started.get((ns, fn.__qualname__, args))
        try:
            if started:
                result: dict[str, Any] = inns.collect(started.pop(0), timeout=10.0)
                return result
            return inns.run(self.world, ns, fn, *args, timeout=10.0)
        except inns.NamespaceGone:
            return None

    def close(self) -> None:
        """Collect (and forget) prefetched probes no milestone asked for."""
        for pendings in self._started.values():
            for pending in pendings:
                with contextlib.suppress(inns.NamespaceGone, inns.InNsError):
                    inns.collect(pending, timeout=10.0)
        self._started.clear()
