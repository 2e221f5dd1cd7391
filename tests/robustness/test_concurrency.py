"""Many worlds at once, and several commands on one world at the same moment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.world import World
from tests.conftest import FIXTURE_COURSE, ROOT, unique_world_name

from .conftest import no_traceback, run_cli, start_cli, status, world_picture

pytestmark = pytest.mark.integration

WORLDS = 20


def test_twenty_worlds_at_lesson_8_solved_and_passing_at_once(
    names: list[str], state_env: dict[str, str]
) -> None:
    names += [unique_world_name("par") for _ in range(WORLDS)]
    script = (
        f"set -e; {sys.executable} -m lab --world $W reset 8 >/dev/null;"
        f" {sys.executable} -m lab --world $W solve >/dev/null;"
        f" {sys.executable} -m lab --world $W check --json"
    )
    started = time.perf_counter()
    procs = {
        name: subprocess.Popen(
            ["bash", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **state_env, "W": name},
        )
        for name in names
    }
    results = {name: proc.communicate(timeout=300) for name, proc in procs.items()}
    took = time.perf_counter() - started
    failed = {
        name: (procs[name].returncode, err.strip()[-300:], out[-600:])
        for name, (out, err) in results.items()
        if procs[name].returncode != 0
    }
    print(f"\n{WORLDS} worlds reset to lesson 8, solved and checked in parallel: {took:.1f} s")
    assert not failed, failed
    for name, (out, err) in results.items():
        assert "Traceback" not in err
        report = json.loads(out)
        assert report["world"] == name and report["passed"]
        # the same names inside every world, each its own
        inside = World(name).learner_namespaces()
        assert inside == ["netns0", "netns1"], inside
    # no crosstalk: every world still has exactly its own server
    pics = {world_picture(World(name)) for name in names}
    assert len(pics) == 1


def test_two_resets_at_once_leave_one_whole_world(wname: str, state_env: dict[str, str]) -> None:
    assert run_cli(wname, "reset", "8", env=state_env).returncode == 0
    clean = world_picture(World(wname))
    for _ in range(3):
        one = start_cli(wname, "reset", "8", env=state_env)
        two = start_cli(wname, "reset", "8", env=state_env)
        outs = [one.communicate(timeout=120), two.communicate(timeout=120)]
        assert one.returncode == two.returncode == 0, outs
        for _, err in outs:
            assert "Traceback" not in err
        assert status(wname, state_env)["state"] == "ready"
        assert world_picture(World(wname)) == clean
        assert len(World(wname).processes()) == 2  # only the init and the simulated DNS
    # at least once one of them had to wait, and said so
    waited = [err for _, err in outs if "is busy with another cnlab command; waiting" in err]
    print(f"\nwaiting messages seen in the last round: {len(waited)}")


def test_the_waiting_command_says_so(wname: str, state_env: dict[str, str]) -> None:
    assert run_cli(wname, "reset", "8", env=state_env).returncode == 0
    # another cnlab process holds the world for 1.5 s (as a reset or a solve does)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from lab.world import locked\n"
            f"with locked({wname!r}):\n    print('held', flush=True); time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout and holder.stdout.readline() == "held\n"
    started = time.perf_counter()
    for verb in ("check", "reset", "status"):
        out = run_cli(wname, verb, env=state_env)
        no_traceback(out)
        assert out.returncode == (1 if verb == "check" else 0), out.stderr  # check: unsolved
        if time.perf_counter() - started < 1.2:
            assert out.stderr.startswith(
                f"cnlab: world {wname!r} is busy with another cnlab command; waiting..."
            ), (verb, out.stderr)
    holder.wait(timeout=10)
    assert time.perf_counter() - started >= 1.4  # the first one really waited


def test_a_reset_during_a_check_waits_and_nothing_breaks(
    wname: str, state_env: dict[str, str]
) -> None:
    assert run_cli(wname, "reset", "8", env=state_env).returncode == 0
    assert run_cli(wname, "solve", env=state_env).returncode == 0
    clean_start = None
    for delay in (0.2, 0.6, 1.0):
        check = start_cli(wname, "check", "--json", env=state_env)
        time.sleep(delay)
        reset = run_cli(wname, "reset", "8", env=state_env)
        out, err = check.communicate(timeout=120)
        assert reset.returncode == 0, reset.stderr
        no_traceback(reset)
        assert "Traceback" not in err
        # the check judged one whole world: the solved one, or the fresh start
        report = json.loads(out)
        assert report["lesson"] == "08-port-publishing"
        assert status(wname, state_env)["state"] == "ready"
        picture = world_picture(World(wname))
        clean_start = clean_start or picture
        assert picture == clean_start
        assert run_cli(wname, "solve", env=state_env).returncode == 0


def test_a_check_arriving_during_a_reset_waits_for_the_whole_world(
    wname: str, state_env: dict[str, str], tmp_path: Path
) -> None:
    """A reset half-way looks broken; a check must wait for it, never clean it up."""
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course)
    start = course / "02-outside" / "start.sh"
    start.write_text(
        "sleep 2\n" + start.read_text()
    )  # a slow start state (checks start slowly too)
    env = {**state_env, "CNLAB_LESSONS": str(course)}
    for delay in (0.3, 0.8):
        reset = start_cli(wname, "reset", "2", env=env)
        time.sleep(delay)
        check = run_cli(wname, "check", "--json", env=env)
        _, err = reset.communicate(timeout=120)
        assert reset.returncode == 0, err
        no_traceback(check)
        assert "is busy with another cnlab command; waiting..." in check.stderr
        report = json.loads(check.stdout)  # it judged the whole start state
        assert report["lesson"] == "02-outside"
        assert report["milestones"][0]["cause"] != "netns-missing", report
        assert status(wname, env)["lesson"] == "02-outside"
