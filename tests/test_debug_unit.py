"""``CNLAB_DEBUG=1`` shows what the lab deliberately swallows; without it, nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SWALLOW = (
    "from lab import debug\n"
    "debug.configure()\n"
    "with debug.quietly('closing a websocket'):\n"
    "    raise ConnectionResetError('gone')\n"
    "print('went on')\n"
)


@pytest.mark.parametrize("value", ["", "0", "1"])
def test_a_swallowed_error_is_logged_only_when_debugging(value: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SWALLOW],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CNLAB_DEBUG": value},
        check=True,
    )
    assert out.stdout == "went on\n"  # swallowed either way
    if value == "1":
        assert "cnlab debug: ignored an error while closing a websocket" in out.stderr
        assert "ConnectionResetError: gone" in out.stderr  # with its traceback
    else:
        assert out.stderr == ""


def test_quietly_lets_a_keyboard_interrupt_through() -> None:
    from lab.debug import quietly

    with pytest.raises(KeyboardInterrupt), quietly("anything"):
        raise KeyboardInterrupt
