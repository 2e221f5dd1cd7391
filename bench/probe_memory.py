"""Private memory of one probe worker: ``python -m bench.probe_memory --world W``.

Imports the check engine as the check server does, then forks a probe worker
into the world's host namespace (:func:`lab.inns.run`), sends a real ping
there and reports the worker's private memory (kB, ``Private_Clean`` +
``Private_Dirty`` from ``/proc/self/smaps_rollup``): what a fork costs beyond
the pages it shares with its parent.
"""

from __future__ import annotations

import argparse

from checks import probes
from checks.engine import check_lesson  # noqa: F401  (the server's imports)
from lab import inns
from lab.world import World


def _ping_then_measure() -> int:
    probes.ping("8.8.8.8", 0.4)
    private = 0
    with open("/proc/self/smaps_rollup", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                private += int(line.split()[1])
    return private


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe_memory")
    parser.add_argument("--world", required=True)
    args = parser.parse_args()
    print(inns.run(World(args.world), "host", _ping_then_measure))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
