"""Progress is saved atomically and a damaged file is never trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import progress


@pytest.fixture(autouse=True)
def state_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(progress, "STATE_ROOT", tmp_path)
    return tmp_path


def test_round_trip() -> None:
    prog = progress.load("w")
    prog.current = "02-veth"
    entry = prog.lesson("02-veth")
    entry.passed.append("ping")
    entry.commands.append("ip netns add netns0")
    entry.hints_used = 2
    progress.save(prog)
    again = progress.load("w")
    assert again.current == "02-veth"
    assert again.lessons["02-veth"].passed == ["ping"]
    assert again.lessons["02-veth"].commands == ["ip netns add netns0"]
    assert again.lessons["02-veth"].hints_used == 2


def test_half_written_file_is_set_aside(state_root: Path) -> None:
    prog = progress.load("w")
    prog.current = "01-namespace"
    progress.save(prog)
    path = progress.progress_path("w")
    path.write_bytes(path.read_bytes()[:20])  # torn write
    assert progress.load("w").current is None
    assert list(path.parent.glob("progress.json.corrupt-*"))


def test_no_temporary_files_are_left(state_root: Path) -> None:
    for n in range(5):
        prog = progress.load("w")
        prog.current = str(n)
        progress.save(prog)
    assert [p.name for p in (state_root / "w").iterdir()] == ["progress.json"]
