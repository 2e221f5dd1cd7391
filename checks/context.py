"""What a check needs while it runs: the world, one snapshot, a tracer, probes."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from checks.diagnose import Tracer
from lab import inns, state
from lab.world import World


class CheckContext:
    """One check run: the snapshot is read once, lazily, and shared by all milestones."""

    def __init__(self, world: World, timeout: float = 0.4) -> None:
        self.world = world
        self.timeout = timeout

    @cached_property
    def state(self) -> state.WorldState:
        return state.read_world(self.world)

    @cached_property
    def tracer(self) -> Tracer:
        return Tracer(self.state)

    def probe(
        self, ns: str, fn: Callable[..., dict[str, Any]], *args: Any
    ) -> dict[str, Any] | None:
        """Run a probe inside ``ns``; None if that namespace does not exist."""
        try:
            return inns.run(self.world, ns, fn, *args, timeout=10.0)
        except inns.NamespaceGone:
            return None
