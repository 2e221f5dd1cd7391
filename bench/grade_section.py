"""Grading: N submissions (100 by default) of one lesson, total and per stage.

``cnlab grade`` and its benchmark, ``bench/grade_bench.py``, belong to the
grading part of the project; this section reuses that script rather than
measuring grading a second way. It runs ``grade_bench.py -n N`` (copies of the
grading fixture course's model answers, a fork pool of ``nproc`` workers, each
submission in its own fresh world) and reads the figures it prints: the wall
time, and per stage (world, start, submission, checks, cleanup, total) the
mean, median, p95 and max in ms. Without the script the section is ``pending``.

A second run, ``grade_bench.py --class05``, grades the real lesson 5 (its
reference solution, five ``ping -c 2``, and each broken variant of the class
fixture) with default options: issue 18's target, 100 under 30 s; it also
reports the CPU time of the whole run and the load average it ran under.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from bench.options import Options
from bench.worlds import ROOT, child_env

SCRIPT = ROOT / "bench" / "grade_bench.py"
_WALL = re.compile(r"imports ([\d.]+) s; grading wall time ([\d.]+) s")
_STAGE = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
_HEAD = re.compile(r"^lesson (\S+): (\d+) submissions, (\d+) jobs")
_CPU = re.compile(r"^cpu ([\d.]+) s .*load average ([\d.]+)")


def parse(text: str) -> dict[str, Any]:
    """The figures ``grade_bench.py`` printed (raises ValueError if there are none)."""
    out: dict[str, Any] = {"stages_ms": {}}
    for line in text.splitlines():
        if m := _HEAD.match(line):
            out.update(lesson=m.group(1), submissions=int(m.group(2)), jobs=int(m.group(3)))
        elif m := _WALL.search(line):
            out.update(imports_s=float(m.group(1)), wall_s=float(m.group(2)))
        elif m := _CPU.match(line):
            out.update(cpu_s=float(m.group(1)), load=float(m.group(2)))
        elif (m := _STAGE.match(line)) and m.group(1) != "stage":
            mean, median, p95, top = (int(m.group(i)) for i in range(2, 6))
            out["stages_ms"][m.group(1)] = {"mean": mean, "median": median, "p95": p95, "max": top}
    if "wall_s" not in out or not out["stages_ms"]:
        raise ValueError("no figures in grade_bench.py's output")
    out["per_100_s"] = round(out["wall_s"] / out["submissions"] * 100, 1)
    return out


def run(opts: Options) -> dict[str, Any]:
    if not SCRIPT.exists():
        return {"measured": False, "reason": "pending: bench/grade_bench.py is not there yet"}
    try:
        figures = _measure(["-n", str(opts.grade_submissions)])
    except ValueError as exc:
        return {"measured": False, "reason": str(exc)}
    try:
        figures["class05"] = _measure(["-n", str(opts.grade_submissions), "--class05"])
    except ValueError as exc:
        figures["class05_reason"] = str(exc)
    return {"measured": True, "source": "bench/grade_bench.py", **figures}


def _measure(args: list[str]) -> dict[str, Any]:
    """Run grade_bench.py with ``args``; its figures (ValueError saying why if none)."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=1800,
        check=False,
    )
    try:
        if result.returncode != 0:
            raise ValueError(f"exit {result.returncode}")
        return parse(result.stdout)
    except ValueError as exc:
        tail = (result.stderr or result.stdout).strip()[-300:]
        raise ValueError(
            f"grade_bench.py {' '.join(args)} gave no figures ({exc}): {tail}"
        ) from None
