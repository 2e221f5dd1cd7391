"""The learner's home: the article's script from lesson 1, and files that outlive
resets, lesson changes and ``cnlab down``."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import progress
from lab.world import RUN_ROOT, World
from tests.conftest import ROOT, cnlab, unique_world_name

pytestmark = pytest.mark.integration
FIXTURE = ROOT / "tests" / "fixtures" / "course"

#: ``inspect-net-stack.sh`` exactly as the article writes it.
ARTICLE_SCRIPT = """#!/usr/bin/env bash

echo "> Network devices"
ip link

echo -e "\\n> Route table"
ip route

echo -e "\\n> Iptables rules"
iptables --list-rules
"""


def test_the_articles_inspect_script_runs_from_the_home(world: World) -> None:
    assert (world.home / "inspect-net-stack.sh").read_text() == ARTICLE_SCRIPT
    host = world.run("sudo iptables -N ROOT_NS && cd ~ && sudo ./inspect-net-stack.sh")
    assert host.returncode == 0, host.stderr
    assert "> Network devices\n1: lo:" in host.stdout
    assert "eth0@" in host.stdout
    assert "\n> Route table\ndefault via 10.0.2.2 dev eth0" in host.stdout
    assert "\n> Iptables rules\n-P INPUT ACCEPT" in host.stdout and "-N ROOT_NS" in host.stdout
    world.run("ip netns add netns0", check=True)
    inside = world.run("sudo ./inspect-net-stack.sh", ns="netns0")
    assert inside.returncode == 0, inside.stderr
    assert "eth0" not in inside.stdout and "ROOT_NS" not in inside.stdout
    assert "> Route table\n\n> Iptables rules\n-P INPUT ACCEPT" in inside.stdout


def test_a_learners_home_outlives_resets_lesson_changes_and_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    env = {"CNLAB_LESSONS": str(FIXTURE), "CNLAB_STATE_DIR": str(state)}
    name = unique_world_name("home")
    try:
        assert cnlab("--world", name, "reset", "1", env=env).returncode == 0
        home = state / name / "home"
        wrote = cnlab(
            "--world", name, "shell", "-c",
            'echo mine > ~/notes.txt && echo "# edited" >> ~/inspect-net-stack.sh && pwd',
            env=env,
        )  # fmt: skip
        assert wrote.returncode == 0, wrote.stderr
        assert wrote.stdout.strip() == str(home)
        for verb in (["reset"], ["reset", "2"], ["down"], ["reset", "1"]):
            result = cnlab("--world", name, *verb, env=env)
            assert result.returncode == 0, result.stderr
            assert (home / "notes.txt").read_text() == "mine\n", verb
            assert (home / "inspect-net-stack.sh").read_text().endswith("# edited\n"), verb
        shown = cnlab("--world", name, "shell", "-c", "cat ~/notes.txt", env=env)
        assert shown.stdout == "mine\n"
    finally:
        cnlab("--world", name, "down", env=env)


def test_a_throwaway_worlds_home_goes_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "STATE_ROOT", tmp_path / "state")
    world = World(unique_world_name("tmp"))
    try:
        world.create()
        assert world.home == RUN_ROOT / world.name / "home"
        assert (world.home / "inspect-net-stack.sh").exists()
    finally:
        world.destroy()
    assert not world.home.exists()
    assert not (tmp_path / "state").exists()
