"""World lifecycle: ``World.create()`` and ``World.destroy()``, timed in this process.

Each run creates a fresh world (namespaces, simulated internet, DNS responder)
and destroys it; runs alternate so both see the same machine load.
"""

from __future__ import annotations

from typing import Any

from bench.options import Options
from bench.stats import summarize, timed
from bench.worlds import scratch_world


def run(opts: Options) -> dict[str, Any]:
    creates: list[float] = []
    destroys: list[float] = []
    with scratch_world() as world:
        world.create()  # warm-up: caches, first-time mkdir of /run/cnlab
        world.destroy()
        for _ in range(opts.world_runs):
            creates.append(timed(world.create))
            destroys.append(timed(world.destroy))
    return {"create": summarize(creates), "destroy": summarize(destroys)}
