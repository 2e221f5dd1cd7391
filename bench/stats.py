"""Summaries of repeated timings: median and spread, in milliseconds.

Other programs share the machine, so one timing means little: every figure is
the median of several runs, with p10/p90 (nearest-rank) and min/max beside it.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (``pct`` in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(seconds: Sequence[float]) -> dict[str, Any]:
    """``{"n", "median_ms", "p10_ms", "p90_ms", "min_ms", "max_ms"}`` of timings in seconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p10_ms": round(percentile(ms, 10), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` took (wall clock, ``perf_counter``)."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def repeat(fn: Callable[[], object], runs: int) -> dict[str, Any]:
    """Run ``fn`` ``runs`` times and summarize the timings."""
    return summarize([timed(fn) for _ in range(runs)])


def ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
    """median(a) / median(b), rounded."""
    return round(a["median_ms"] / b["median_ms"], 2) if b["median_ms"] else math.inf
