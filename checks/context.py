"""What a check needs while it runs: the world, one snapshot, a tracer, probes."""

from __future__ import annotations

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
        self._started: dict[tuple[Any, ...], list[inns.Pending]] = {}
        #: Small facts a kind's preparation leaves for the kind (e.g. echo ids), in order.
        self.notes: dict[tuple[Any, ...], list[Any]] = {}

    @cached_property
    def state(self) -> state.WorldState:
        return state.read_world(self.world)

    def load_state(self, forget_unresolved: bool = False) -> None:
        """Read the snapshot now (optionally dropping stale neighbour entries first)."""
        self.__dict__["state"] = state.read_world(self.world, forget_unresolved)
        self.__dict__.pop("tracer", None)

    @cached_property
    def tracer(self) -> Tracer:
        return Tracer(self.state)

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
            self.keep(("probe", ns, fn.__qualname__, args), pending)

    def probe(
        self, ns: str, fn: Callable[..., dict[str, Any]], *args: Any
    ) -> dict[str, Any] | None:
        """Run a probe inside ``ns``; None if that namespace does not exist."""
        started = self.take(("probe", ns, fn.__qualname__, args))
        try:
            if started:
                result: dict[str, Any] = inns.collect(started, timeout=10.0)
                return result
            return inns.run(self.world, ns, fn, *args, timeout=10.0)
        except inns.NamespaceGone:
            return None

    def close(self) -> None:
        """End the children started early that no milestone asked for."""
        for pendings in self._started.values():
            for pending in pendings:
                inns.discard(pending)
        self._started.clear()
