"""checks.processes: which processes a milestone's `command` names (pure, no root)."""

from __future__ import annotations

import pytest

from checks.processes import matches
from checks.specs import SpecError, parse


@pytest.mark.parametrize(
    ("command", "wanted", "expected"),
    [
        ("sleep infinity", "sleep infinity", True),
        ("python3 -m http.server --bind 10.0.2.15 6000", "python3 -m http.server", True),
        ("python3 -m http.server.x", "python3 -m http.server", False),  # whole words only
        ("sleep 5", "sleep infinity", False),
        ("sleep", "sleep infinity", False),
        ("unshare --net sleep infinity", "sleep infinity", False),  # the first words
        ("anything", "", False),
    ],
)
def test_a_command_matches_by_its_first_words(command: str, wanted: str, expected: bool) -> None:
    assert matches(command, wanted) is expected


def test_the_spec_takes_own_and_only_lo() -> None:
    spec = parse("process_netns", {"command": "sleep infinity", "netns": "own", "only_lo": True})
    assert spec.as_args() == {"command": "sleep infinity", "netns": "own", "only_lo": True}
    with pytest.raises(SpecError, match="needs the argument 'netns'"):
        parse("process_netns", {"command": "sleep infinity"})
    with pytest.raises(SpecError, match="only_lo"):
        parse("process_netns", {"command": "x", "netns": "own", "only_lo": "yes"})
