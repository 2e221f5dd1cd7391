"""Measure every speed the learner and the grader feel, on this machine.

Usage (as root, from the project)::

    .venv/bin/python bench/run.py [--quick] [--runs N] [--lessons 1,3]
                                  [--sections world,reset,checks,tui,memory,grade]
                                  [--out FILE] [--docs]

``cnlab dev bench ARGS`` is the same. It prints Markdown tables, writes the
results as JSON to ``bench/results/latest.json`` (or ``--out``) and, with
``--docs``, rewrites ``docs/benchmarks.md``. What each section measures and
how is in its module's docstring: :mod:`bench.world_bench`,
:mod:`bench.reset_bench`, :mod:`bench.check_bench`, :mod:`bench.tui_bench`,
:mod:`bench.memory`, :mod:`bench.grade_section`. Every world it makes is
called ``bench-<pid>-<n>`` and is destroyed, even after an error or Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from bench import (
    check_bench,
    docs,
    grade_section,
    machine,
    memory,
    report,
    reset_bench,
    tui_bench,
    world_bench,
    worlds,
)
from bench.options import Options

ROOT = Path(__file__).resolve().parent.parent
SECTIONS: dict[str, Callable[[Options], dict[str, Any]]] = {
    "world": world_bench.run,
    "reset": reset_bench.run,
    "checks": check_bench.run,
    "tui": tui_bench.run,
    "memory": memory.run,
    "grade": grade_section.run,
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few runs only (a smoke test)")
    parser.add_argument("--runs", type=int, metavar="N", help="repetitions (others scale)")
    parser.add_argument("--lessons", default="", metavar="LIST", help="e.g. 1,3 (default: all)")
    parser.add_argument("--sections", default=",".join(SECTIONS), metavar="LIST")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    parser.add_argument("--docs", action="store_true", help="rewrite docs/benchmarks.md")
    return parser.parse_args(argv)


def measure(opts: Options, sections: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine.describe(), "sections": {}, "section_s": {}}
    results["options"] = dict(opts.__dict__)
    worlds.compile_bytecode()  # as installed: no cold process compiles the project
    started = time.time()
    for name in sections:
        t = time.time()
        print(f"bench: {name}…", file=sys.stderr, flush=True)
        results["sections"][name] = SECTIONS[name](opts)
        results["section_s"][name] = round(time.time() - t, 1)
    results["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["took_s"] = round(time.time() - started, 1)
    results["when"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if os.geteuid() != 0:
        print("bench: needs root (it builds worlds)", file=sys.stderr)
        return 77
    sections = [s for s in args.sections.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        print(f"bench: unknown section(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    lessons = tuple(x for x in args.lessons.split(",") if x)
    opts = Options.make(args.quick, args.runs, lessons)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = measure(opts, sections)
    finally:
        worlds.destroy_all()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(report.render(results))
    for what, figure, met in report.targets_summary(results):
        mark = "–" if met is None else ("met" if met else "MISSED")
        print(f"{mark:>6}  {what}: {figure}")
    if args.docs:
        docs.write(results, ROOT / "docs" / "benchmarks.md")
    print(f"results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
