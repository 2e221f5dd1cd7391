"""The benchmark runs and reports every section (no timing thresholds: speed is
shown by the benchmark itself, never asserted by a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lab.world import list_worlds

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("world", "reset", "checks", "tui", "memory", "grade")


def _timings(node: Any) -> list[dict[str, Any]]:
    """Every timing summary (a dict with ``median_ms``) anywhere in ``node``."""
    if isinstance(node, dict):
        found = [node] if "median_ms" in node else []
        for value in node.values():
            found += _timings(value)
        return found
    if isinstance(node, list):
        return [t for item in node for t in _timings(item)]
    return []


def test_quick_benchmark_reports_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.Popen(
        [sys.executable, "bench/run.py", "--quick", "--lessons", "1", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-2000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    sections = data["sections"]
    assert set(SECTIONS) <= set(sections)
    assert data["machine"]["nproc"] >= 1 and data["machine"]["cpu"]

    # the feedback's stages (a lock wait may be none at all) are checked on their own
    stages = sections["tui"].pop("stages", {})
    stats = _timings(sections)
    assert len(stats) >= 10
    for s in stats:
        assert s["n"] >= 1
        assert 0 < s["min_ms"] <= s["median_ms"] <= s["max_ms"]
        assert s["p10_ms"] <= s["p90_ms"]
    for s in _timings(stages):
        assert 0 <= s["min_ms"] <= s["median_ms"] <= s["max_ms"]

    reset = sections["reset"]["01-namespace"]
    assert reset["same_state"] is True
    assert reset["ratio_in_process_to_baseline"] > 0
    assert reset["shell_same_state"] is True  # the plain bash script builds the same world
    assert reset["ratio_cli_to_shell"] > 0
    checks = sections["checks"]["01-namespace"]
    assert {"warm_passing", "warm_failing", "cold_passing", "cold_failing"} <= set(checks)
    for optional in ("tui", "grade"):  # written by other parts; may say why not measured
        assert sections[optional].get("measured") or sections[optional].get("reason")
    world_mem = sections["memory"]["world"]
    assert world_mem["processes_rss_kb_per_world"] > 0
    assert sections["memory"]["check_server"]["server"]["rss_kb"] > 0
    left = [w for w in list_worlds() if w.startswith(f"bench-{proc.pid}-")]
    assert not left, f"bench worlds left behind: {left}"


def test_the_bench_reads_the_broken_corpus_as_its_test_does() -> None:
    """bench/corpus.py has its own small loader (the bench does not import pytest):
    it must see the same worlds, lessons, causes and scripts as the corpus test."""
    from bench import corpus
    from tests import test_corpus_broken

    mine = {b.name: (b.lesson, b.cause, b.script, b.xfail) for b in corpus.broken_worlds()}
    theirs = {
        b.name: (b.lesson, b.cause, b.script, b.xfail is not None)
        for b in test_corpus_broken.BROKEN
    }
    assert mine == theirs and len(mine) >= 40
