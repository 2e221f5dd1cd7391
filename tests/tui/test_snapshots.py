"""Snapshots of the main screen at 80x24 and 160x48, with fixed content.

The app runs with ``live=False`` (no world, no pty, no timers) and is handed a
fixed report, a fixed world state and fixed shell output, so nothing in the
picture depends on a clock or a kernel. Update with ``--snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from lab.tui.app import LabApp

from .test_netmap import article_state

SHELL = (
    b"\x1b[1;32m[host]\x1b[0m / # sudo ip netns add box\r\n"
    b"\x1b[1;32m[host]\x1b[0m / # ip netns\r\nbox\r\n"
    b"\x1b[1;32m[host]\x1b[0m / # sudo iptables -N hostmark\r\n"
    b"\x1b[1;32m[host]\x1b[0m / # "
)
COMMANDS = ("sudo ip netns add box", "ip netns", "sudo iptables -N hostmark")
REPORT = {
    "lesson": "01-first",
    "world": "snapshot",
    "passed": False,
    "milestones": [
        {
            "id": "box-exists",
            "title": "The namespace box exists",
            "passed": True,
            "cause": None,
            "explanation": "",
            "evidence": [],
        },
        {
            "id": "mark",
            "title": "The host's firewall has the HOSTMARK chain",
            "passed": False,
            "cause": "state-wrong",
            "explanation": "The filter table of host has no chain HOSTMARK.",
            "evidence": ["iptables -S in host: -P INPUT ACCEPT"],
        },
        {
            "id": "lo-up",
            "title": "Loopback is up inside box",
            "passed": False,
            "cause": "link-down",
            "explanation": "lo in box is down.",
            "evidence": [],
        },
    ],
}


def frozen_app() -> LabApp:
    return LabApp("snapshot", "1", live=False)


async def freeze(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, LabApp)
    await app.lab.freeze(REPORT, article_state(), SHELL, COMMANDS)
    app.lab.netmap.display = True
    app.set_focus(None)
    await pilot.pause()


def test_main_screen_80x24(snap_compare: Any, tui_env: Path) -> None:
    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=freeze)


def test_main_screen_160x48(snap_compare: Any, tui_env: Path) -> None:
    assert snap_compare(frozen_app(), terminal_size=(160, 48), run_before=freeze)
