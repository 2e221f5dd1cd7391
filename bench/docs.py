"""docs/benchmarks.md: the machine, the latest tables, the targets, how to run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import report

HOW_TO_RUN = """\
## How to run

As root, from the project (the venv comes from `scripts/setup.sh`):

```sh
.venv/bin/python bench/run.py            # everything, ~10 minutes; JSON in bench/results/latest.json
cnlab dev bench --quick                  # the same code, a few runs only (a smoke test)
.venv/bin/python bench/run.py --sections checks --lessons 4,7 --runs 20 --out /tmp/b.json
.venv/bin/python bench/run.py --docs     # also rewrite this page
```

Only `bench/results/latest.json` is committed; other result files are ignored by git.
The test suite does not measure speed: `tests/test_bench.py` only runs `--quick`
and checks that every section is present and every figure is a positive number.
Other programs on the machine change the figures: each cell is the median of
the runs, with the 10th and 90th percentiles (nearest rank) in brackets, and the
load average is recorded before and after.
"""

METHOD = """\
## What is measured, and how

* **World**: `World.create()` and `World.destroy()` in one process, alternating.
* **Reset**: with the world standing (as when a learner resets), `build_lesson`
  (destroy, create, `start.sh`) in process; the **baseline** does the same with
  `start.sh` rewritten naively, one `ip`/`iptables` process per command (each
  `ip -batch` line becomes `ip …`, see `bench/naive.py`); both builds are compared
  by their snapshots ("same state"). "alone" columns time the script only, in a
  world created just before. Ratio = ours / baseline (below 1: faster).
  `cnlab reset N` is a whole process.
* **Checks**: warm = `check` requests to one long-lived `python -m checks.server`
  (what the TUI uses), the first request of each series not counted; cold = a
  whole `cnlab check N --json` process. Failing = the lesson's start state (every
  failing milestone diagnosed); passing = after `cnlab solve N`.
* **TUI**: a fresh process per run drives the real app headlessly
  (`App.run_test()`, real course, real check server). Prompt = from just before
  the process starts until `[host]` is on the emulated screen; feedback = from
  Enter on lesson 1's first command until the milestone panel shows it ✔.
* **Memory**: VmRSS/VmHWM/Pss from `/proc/PID/status` and `smaps_rollup`; a
  probe worker's private pages after a real ping; a world's kernel memory as the
  change of Slab+KernelStack+PageTables+Percpu in `/proc/meminfo` while K worlds
  stand, per world (an estimate: other programs allocate too).
"""


def write(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Every speed the learner and the grader feel, measured by `bench/run.py`.",
        "",
        "## Machine",
        "",
        f"* {m['nproc']} CPUs: {m['cpu']}",
        f"* {m['os']}, kernel {m['kernel']}, Python {m['python']}",
        f"* load average (1, 5, 15 min) before: {m['load_before']}, after: {m.get('load_after')}"
        " (other agents ran tests at the same time)",
        f"* run {results['when']}, {results['took_s']:.0f} s; options: {results['options']}",
        "",
        "## Targets",
        "",
        "| target | figure | met |",
        "| --- | --- | --- |",
    ]
    for what, figure, met in report.targets_summary(results):
        lines.append(f"| {what} | {figure} | {'–' if met is None else ('yes' if met else 'no')} |")
    lines += ["", "## Results", "", "Milliseconds: median (p10–p90).", "", report.render(results)]
    notes = results.get("notes")
    if notes:
        lines += ["## Notes", "", notes, ""]
    lines += [METHOD, HOW_TO_RUN]
    path.write_text("\n".join(lines), encoding="utf-8")
