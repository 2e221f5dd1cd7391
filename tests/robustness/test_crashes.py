"""kill -9 at any moment: the next command recovers and saved progress is intact."""

from __future__ import annotations

import importlib.util
import os
import pty
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lab import progress
from lab.world import World, list_worlds
from tests.conftest import ROOT

from .conftest import (
    no_traceback,
    run_cli,
    start_cli,
    status,
    world_mounts,
    world_picture,
)

pytestmark = pytest.mark.integration


def _progress(env: dict[str, str], world: str) -> progress.Progress:
    saved = progress.STATE_ROOT
    progress.STATE_ROOT = Path(env["CNLAB_STATE_DIR"])
    try:
        return progress.load(world)
    finally:
        progress.STATE_ROOT = saved


def _solved_lesson_8(world: str, env: dict[str, str]) -> None:
    assert run_cli(world, "reset", "8", env=env).returncode == 0
    assert run_cli(world, "solve", env=env).returncode == 0
    out = run_cli(world, "check", env=env)
    assert out.returncode == 0, out.stdout + out.stderr


def _settled(world: World, want: int, timeout: float = 10.0) -> int:
    """Wait for the world's process count to come back to ``want``; return it."""
    deadline = time.monotonic() + timeout
    count = len(world.processes())
    while count != want and time.monotonic() < deadline:
        time.sleep(0.1)
        count = len(world.processes())
    return count


def test_check_killed_at_any_moment(wname: str, state_env: dict[str, str]) -> None:
    _solved_lesson_8(wname, state_env)
    world = World(wname)
    procs = len(world.processes())
    for delay in (0.05, 0.3, 0.6, 0.9, 1.2):
        proc = start_cli(wname, "check", env=state_env)
        time.sleep(delay)
        proc.kill()
        proc.communicate()
        assert status(wname, state_env)["state"] == "ready"
        # the check's helpers inside the world end on their own
        assert _settled(world, procs) == procs
    out = run_cli(wname, "check", env=state_env)
    assert out.returncode == 0, out.stdout + out.stderr
    saved = _progress(state_env, wname)
    assert saved.current == "08-port-publishing"
    assert saved.lessons["08-port-publishing"].completed


def test_reset_killed_at_any_moment(wname: str, state_env: dict[str, str]) -> None:
    started = time.perf_counter()
    assert run_cli(wname, "reset", "8", env=state_env).returncode == 0
    whole = time.perf_counter() - started  # kill at 12 moments across a whole reset
    world = World(wname)
    clean = world_picture(world)
    procs = len(world.processes())
    mounts = world_mounts(world)
    seen: dict[str, int] = {}
    for delay in [whole * (0.3 + 0.7 * k / 12) for k in range(12)]:
        proc = start_cli(wname, "reset", "8", env=state_env)
        time.sleep(delay)
        proc.kill()
        proc.communicate()
        info = status(wname, state_env)
        seen[str(info["state"])] = seen.get(str(info["state"]), 0) + 1
        assert info["state"] in ("ready", "broken", "absent")
        if info["state"] == "ready":  # then it is whole: never half a lesson
            assert info["lesson"] == "08-port-publishing"
            assert world_picture(world) == clean
        out = run_cli(wname, "reset", "8", env=state_env)
        no_traceback(out)
        assert out.returncode == 0, out.stderr
        assert world_picture(world) == clean
        assert world_mounts(world) == mounts  # never doubled
        assert list_worlds().count(wname) == 1
        assert _settled(world, procs) == procs
    print(f"\nstates seen right after kill -9 of a {whole:.2f} s reset: {seen}")
    assert _progress(state_env, wname).current == "08-port-publishing"


def test_progress_survives_kill_in_a_tight_save_loop(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code = textwrap.dedent(
        """
        import sys
        from lab import progress
        p = progress.Progress(world="crash")
        i = 0
        while True:
            i += 1
            p.current = str(i)
            p.lesson("01-namespace").commands.append("x" * (i % 5000))
            progress.save(p)
            if i == 1:
                print("saving", flush=True)
        """
    )
    env = {**os.environ, "CNLAB_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    saved = progress.STATE_ROOT
    progress.STATE_ROOT = state
    try:
        last = 0
        for round_ in range(15):
            proc = subprocess.Popen(
                [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
            )
            assert proc.stdout and proc.stdout.readline() == "saving\n"
            time.sleep(0.05 + 0.013 * round_)
            proc.kill()
            proc.wait()
            got = progress.load("crash")
            assert got.current is not None, "a saved progress was lost"
            n = int(got.current)
            assert n >= 1
            assert len(got.lessons["01-namespace"].commands) == n
            last = n
        folder = state / "crash"
        assert not list(folder.glob("*.corrupt-*")), "a half-written file was read"
        leftovers = list(folder.glob(".progress-*"))
        # temporary files of killed writers are swept by the next save
        progress.save(progress.load("crash"))
        assert not list(folder.glob(".progress-*"))
        print(f"\nlast counter {last}; temp files left by 15 kills: {len(leftovers)}")
    finally:
        progress.STATE_ROOT = saved


@pytest.mark.skipif(
    importlib.util.find_spec("lab.tui.app") is None, reason="the TUI (lab.tui.app) is pending"
)
def test_tui_killed_leaves_the_world_and_progress_intact(
    wname: str, state_env: dict[str, str]
) -> None:
    _solved_lesson_8(wname, state_env)
    world = World(wname)
    procs = len(world.processes())
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real `cnlab` with no verb opens the TUI
        os.chdir(ROOT)
        os.environ.update(state_env)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "lab", "--world", wname])
    screen = b""
    deadline = time.monotonic() + 20
    try:
        while b"[host]" not in screen and time.monotonic() < deadline:
            try:
                screen += os.read(fd, 65536)
            except OSError:
                break
        assert b"[host]" in screen, screen[-2000:]
        time.sleep(1.0)  # the check server and the shell are up
        inside = len(world.processes())
        assert inside > procs  # the TUI's shell runs inside the world
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    # its shell and check server end with it
    assert _settled(world, procs) == procs
    assert status(wname, state_env)["state"] == "ready"
    saved = _progress(state_env, wname)
    assert saved.lessons["08-port-publishing"].completed
    out = run_cli(wname, "check", env=state_env)
    assert out.returncode == 0, out.stdout


@pytest.mark.skipif(
    importlib.util.find_spec("lab.grading.commands") is None,
    reason="the grader (lab.grading.commands) is pending",
)
def test_grader_killed_leaves_no_world_behind(tmp_path: Path, state_env: dict[str, str]) -> None:
    from lab.grading.runner import world_name

    course = ROOT / "tests" / "fixtures" / "course"
    env = {**state_env, "CNLAB_LESSONS": str(course)}
    subs = []
    for i in range(4):
        sub = tmp_path / f"s{i}.sh"
        sub.write_text((course / "01-pair" / "solution.sh").read_text().replace("{{ ns }}", "box"))
        subs.append(str(sub))
    for delay in (0.3, 1.0, 2.0):
        proc = start_cli("default", "grade", "1", *subs, "--jobs", "2", env=env)
        time.sleep(delay)
        proc.kill()
        proc.communicate()
        left = [w for w in list_worlds() if w.startswith(f"grade-{proc.pid}-")]
        deadline = time.monotonic() + 15
        while left and time.monotonic() < deadline:  # workers tear their worlds down
            time.sleep(0.2)
            left = [w for w in list_worlds() if w.startswith(f"grade-{proc.pid}-")]
        for name in left:  # do not leak them from the test, whatever happened
            World(name).destroy()
        assert not left, f"kill -9 of the grader after {delay} s left worlds {left}"
        assert world_name(proc.pid, 0) not in list_worlds()
    out = run_cli("default", "grade", "1", *subs, "--jobs", "2", env=env, timeout=300)
    no_traceback(out)
    assert out.returncode == 0, out.stderr
