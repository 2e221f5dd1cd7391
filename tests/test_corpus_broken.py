"""The corpus of broken worlds: realistic mistakes, each must fail with its own cause.

Each file in ``tests/corpus/broken/`` is a shell script a learner (or a forum
poster) might have typed, with a header naming the lesson to check, the cause
it must produce and the correct pieces it builds on (``tests/corpus/base/``)::

    # lesson: 04
    # cause: forward-blocked
    # base: base4
    # what went wrong, in a sentence

The test builds it exactly as a learner would: ``cnlab reset 1`` (an empty
world), the script through ``cnlab shell``, then ``cnlab check LESSON``. The
check must fail, one failing milestone must name the cause, and no failing
milestone may have a null cause. The cases share one world name (each reset destroys
and rebuilds it), so a case costs three commands, not four: about 70 cases, the
suite's largest file (a few minutes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks.causes import CAUSES
from tests.conftest import cnlab, unique_world_name

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parent / "corpus"
REAL = {"CNLAB_LESSONS": ""}


@dataclass(frozen=True)
class Broken:
    name: str
    lesson: str
    cause: str
    script: str
    xfail: str | None = None


def load(path: Path) -> Broken:
    header: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        if key not in ("lesson", "cause", "base", "xfail"):
            break
        header[key] = value.strip()
    bases = [(CORPUS / "base" / f"{b}.sh").read_text() for b in header.get("base", "").split()]
    return Broken(
        name=path.stem,
        lesson=header["lesson"],
        cause=header["cause"],
        script="".join(bases) + path.read_text(),
        xfail=header.get("xfail"),
    )


BROKEN = [load(p) for p in sorted((CORPUS / "broken").glob("*.sh"))]


def test_the_corpus_is_large_spread_and_well_formed() -> None:
    assert len(BROKEN) >= 40
    assert {b.lesson for b in BROKEN} >= {f"{n:02d}" for n in range(2, 12)}
    for broken in BROKEN:
        assert broken.cause in CAUSES, broken.name
        assert broken.name.startswith(f"l{int(broken.lesson)}-"), broken.name


def _param(broken: Broken) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=broken.xfail)] if broken.xfail else []
    return pytest.param(broken, id=broken.name, marks=marks)


@pytest.fixture(scope="module")
def corpus_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """One world for the whole corpus (each case's ``cnlab reset 1`` makes it afresh:
    the world is destroyed and built again), taken down once at the end."""
    name = unique_world_name("brk")
    state = tmp_path_factory.mktemp("corpus-state")
    env = {**REAL, "CNLAB_STATE_DIR": str(state)}  # progress and home: not in /var/lib
    yield name, env
    cnlab("--world", name, "down", env=env)


@pytest.mark.parametrize("broken", [_param(b) for b in BROKEN])
def test_a_broken_world_fails_with_its_cause(
    broken: Broken, corpus_world: tuple[str, dict[str, str]]
) -> None:
    name, env = corpus_world
    assert cnlab("--world", name, "reset", "1", env=env).returncode == 0
    built = cnlab("--world", name, "shell", env=env, input=broken.script)
    assert built.returncode == 0, built.stderr
    out = cnlab("--world", name, "check", broken.lesson, "--json", env=env)
    assert out.stdout.strip(), f"{broken.name}: no report (exit {out.returncode}): {out.stderr}"
    report = json.loads(out.stdout)
    failed = [m for m in report["milestones"] if not m["passed"]]
    assert out.returncode == 1 and failed, f"{broken.name}: every milestone passed"
    nulls = [m["id"] for m in failed if m["cause"] is None]
    assert not nulls, f"{broken.name}: failing milestones without a cause: {nulls}"
    causes = {m["id"]: m["cause"] for m in failed}
    assert broken.cause in causes.values(), (broken.name, causes, failed)
