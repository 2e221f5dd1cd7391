"""A world's state without the details that differ between two equal builds.

Interface indexes and MAC addresses change with every build; names, kinds,
flags, addresses, routes, forwarding and firewall rules must not. Two builds
of a lesson's start state (``start.sh`` and its naive form) must give the same
fingerprint, or the baseline would not be building the same thing.
"""

from __future__ import annotations

from typing import Any

from lab import state
from lab.world import World


def fingerprint(world: World) -> dict[str, Any]:
    """Comparable summary of ``world``'s snapshot (reads it with forks: single-threaded only)."""
    snap = state.read_world(world)
    out: dict[str, Any] = {}
    for name, ns in sorted(snap.namespaces.items()):
        out[name] = {
            "links": sorted(
                (lk.name, lk.kind or "", lk.up, lk.master or "", lk.addresses) for lk in ns.links
            ),
            "routes": sorted(r.text() for r in ns.routes),
            "ip_forward": ns.ip_forward,
            "rules": sorted(f"{r.table} {r.chain} {r.text}" for r in ns.firewall.rules),
            "chains": {t: sorted(c) for t, c in ns.firewall.chains.items()},
        }
    return out
