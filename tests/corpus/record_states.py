"""Record snapshots of broken worlds as JSON, for the tracer's replay tests (run as root).

    .venv/bin/python -m tests.corpus.record_states l4-docker-forward-drop ...

Each name is a file of ``tests/corpus/broken`` (or ``base:NAMES`` for a correct
world built from bases only). The world is built in process (an empty world,
then the script), read with :func:`lab.state.read_world`, and written to
``tests/fixtures/states/NAME.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lab.state import read_world
from lab.world import World
from tests.test_corpus_broken import CORPUS, load

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "states"


def script_for(name: str) -> str:
    if name.startswith("base:"):
        return "".join((CORPUS / "base" / f"{b}.sh").read_text() for b in name[5:].split("+"))
    return load(CORPUS / "broken" / f"{name}.sh").script


def record(name: str) -> Path:
    world = World(f"rec{abs(hash(name)) % 10000}")
    world.create()
    try:
        world.run(script_for(name), check=True, timeout=60)
        state = read_world(world)
    finally:
        world.destroy()
    data = state.to_json()
    data["world"] = "recorded"
    data["taken_at"] = 0.0
    path = OUT / f"{name.replace(':', '-').replace('+', '-')}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(record(arg))
