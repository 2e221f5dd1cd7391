"""Failing checks over the corpus of broken worlds, against the passing check of their lesson.

Each ``tests/corpus/broken/*.sh`` is a realistic mistake (see
``tests/test_corpus_broken.py``): an empty world, the correct pieces it builds on
(``tests/corpus/base/``), then the mistake. For each one whose lesson is measured,
the world is built that way and the check server's ``check`` of its lesson is
timed like the lesson's own failing check (first request not counted); ``ratio``
is its median over the median of the lesson's *passing* check (after
``cnlab solve``), the figure issue 13 asks to stay at most 1.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.server import CheckServer
from bench.stats import summarize
from lab.lessons import Lesson
from lab.world import World

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
HEADER_KEYS = ("lesson", "cause", "base", "xfail")


@dataclass(frozen=True)
class Broken:
    name: str
    lesson: str  # as the header writes it ("04")
    cause: str
    script: str
    xfail: bool


def load(path: Path) -> Broken:
    """One broken world: its header (lesson, cause, bases) and the whole script."""
    header: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        if key not in HEADER_KEYS:
            break
        header[key] = value.strip()
    bases = [(CORPUS / "base" / f"{b}.sh").read_text() for b in header.get("base", "").split()]
    return Broken(
        name=path.stem,
        lesson=header["lesson"],
        cause=header["cause"],
        script="".join(bases) + path.read_text(),
        xfail="xfail" in header,
    )


def broken_worlds() -> list[Broken]:
    return [load(p) for p in sorted((CORPUS / "broken").glob("*.sh"))]


def bench_case(
    server: CheckServer, world: World, lesson: Lesson, case: Broken, runs: int
) -> dict[str, Any]:
    """Build ``case`` in ``world`` and time the failing check of its lesson."""
    world.destroy()
    world.create()
    world.run(case.script, check=True, timeout=120)
    server.request("check", lesson=lesson.id)  # warm-up, not counted
    times = []
    report: dict[str, Any] = {}
    for _ in range(runs):
        took, reply = server.request("check", lesson=lesson.id)
        times.append(took)
        report = reply["report"]
    if report.get("passed"):
        raise RuntimeError(f"{case.name}: the broken world passed {lesson.id}")
    causes = sorted({str(m["cause"]) for m in report["milestones"] if not m["passed"]})
    return {"warm_failing": summarize(times), "cause": case.cause, "causes": causes}


def add_ratios(found: dict[str, Any]) -> None:
    """Each corpus case's failing median over the lesson's passing one; the worst kept."""
    cases = found.get("corpus") or {}
    passing = found["warm_passing"]["median_ms"]
    for case in cases.values():
        case["ratio"] = round(case["warm_failing"]["median_ms"] / passing, 2)
    found["start_ratio"] = round(found["warm_failing"]["median_ms"] / passing, 2)
    if cases:
        worst = max(cases, key=lambda n: cases[n]["ratio"])
        found["corpus_worst"] = {"case": worst, "ratio": cases[worst]["ratio"]}


def cases_for(lesson: Lesson, every: list[Broken], per_lesson: int | None) -> list[Broken]:
    """The broken worlds of ``lesson`` (the first ``per_lesson`` of them, if given)."""
    mine = [b for b in every if not b.xfail and int(b.lesson) == lesson.number]
    return mine if per_lesson is None else mine[:per_lesson]
