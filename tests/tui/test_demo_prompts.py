"""The TUI's demo waits on prompts (done events), never on a fixed deadline, and
treats a foreground server as a learner would (Ctrl-Z, bg). A pretend terminal
stands in for the shell: it only answers keys, so nothing here depends on time
except the settle time the demo shares with lab.typed."""

from __future__ import annotations

import asyncio

import pytest

from lab import typed
from lab.lessons import Step
from lab.tui import demo


class PretendShell:
    """Counts prompts: Enter gives one, except after `serve` (which runs until Ctrl-Z)."""

    def __init__(self) -> None:
        self.line = ""
        self.typed: list[str] = []
        self.done = 0
        self.running = False

    def key(self, text: str) -> None:
        for char in text:
            if char == "\x1a" and self.running:
                self.running = False
                self.done += 1
                self.typed.append("^Z")
            elif char == "\r":
                self.typed.append(self.line)
                if self.line.endswith("\\"):
                    self.line = ""
                    continue  # continued: no prompt
                self.running = self.line == "serve"
                if not self.running:
                    self.done += 1
                self.line = ""
            else:
                self.line += char


def test_demo_waits_for_prompts_and_backgrounds_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typed, "DEFAULT_SETTLE", 0.3)
    shell = PretendShell()
    steps = [
        Step(("start",), "ip netns add netns0"),
        Step(("a server",), "serve"),
        Step(("continued",), "echo a \\\nb"),
    ]
    narrated: list[str] = []
    ok = asyncio.run(demo.run_demo(steps, shell.key, narrated.append, lambda: shell.done, 0.0, 0.0))
    assert ok
    assert shell.typed == ["", "ip netns add netns0", "serve", "^Z", "bg", "echo a \\", "b"]
    assert narrated[-1] == "demo finished"
