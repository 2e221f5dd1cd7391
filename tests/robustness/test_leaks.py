"""Nothing accumulates: 500 resets, a check server under load, the TUI over time."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import nsutil
from lab.course_run import build_lesson
from lab.lessons import load_course
from lab.world import RUN_ROOT, World, lock_path
from tests.conftest import ROOT, unique_world_name

from .conftest import LESSONS, run_entries

pytestmark = pytest.mark.integration

CYCLES = int(os.environ.get("CNLAB_RESET_CYCLES", "500"))
ROUNDS = 12


def _descendants() -> set[int]:
    """PIDs whose parent chain leads to this process (zombies included)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    me = os.getpid()
    found: set[int] = set()
    for pid in parents:
        p = pid
        while p > 1:
            p = parents.get(p, 0)
            if p == me:
                found.add(pid)
                break
    return found


def _counts() -> dict[str, int]:
    def lines(argv: list[str]) -> int:
        return len(subprocess.run(argv, capture_output=True, text=True).stdout.splitlines())

    return {
        "fds": len(os.listdir("/proc/self/fd")),
        # other worlds (tests run in parallel here) come and go: leave their mounts out
        "mounts": sum(
            1
            for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if not line.split()[4].startswith(f"{RUN_ROOT}/")
        ),
        "host netns": lines(["ip", "netns", "list"]),
        "host links": lines(["ip", "-o", "link"]),
        "our processes": len(_descendants()),
    }


def test_500_resets_across_all_lessons_leak_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNLAB_LESSONS", str(LESSONS))
    lessons = load_course().lessons
    assert len(lessons) == 11
    world = World(unique_world_name("leak"))
    entries_before = run_entries()
    build_lesson(world, lessons[0])  # warm up: imports, caches
    world.destroy()
    gc.collect()
    before = _counts()
    started = time.perf_counter()
    try:
        for i in range(CYCLES):
            build_lesson(world, lessons[i % len(lessons)])
            assert world.state() == "ready"
            assert world.lesson == lessons[i % len(lessons)].id
    finally:
        world.destroy()
    took = time.perf_counter() - started
    gc.collect()
    after = _counts()
    print(f"\n{CYCLES} resets in {took:.1f} s ({took / CYCLES * 1000:.0f} ms each): {after}")
    assert after == before
    # only the world's lock file may stay behind in /run/cnlab (other entries that
    # appeared meanwhile are other people's worlds: tests run in parallel here)
    ours = {e for e in run_entries() - entries_before if e.startswith(world.name)}
    assert ours <= {f"{world.name}.lock"}, ours
    assert str(world.dir) not in "\n".join(nsutil.mountpoints())


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_check_server_memory_is_flat_over_200_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNLAB_LESSONS", str(LESSONS))
    course = load_course()
    world = World(unique_world_name("mem"))
    build_lesson(world, course.find("2"))
    server = subprocess.Popen(
        [sys.executable, "-m", "checks.server", "--world", world.name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CNLAB_LESSONS": str(LESSONS)},
    )
    assert server.stdin and server.stdout
    # mostly cheap checks (lesson 1 reads the state only); every tenth sends packets
    requests = [
        {"op": "check", "lesson": "01-namespace"},
        {"op": "state"},
        {"op": "check", "lesson": "99"},  # an error reply
        {"op": "ping"},
        {"op": "check", "lesson": "01-namespace"},
        {"op": "state"},
        {"op": "check", "lesson": "01-namespace"},
        {"op": "state"},
        {"op": "ping"},
        {"op": "check", "lesson": "02-veth"},
    ]

    def ask(n: int) -> None:
        assert server.stdin and server.stdout
        for i in range(n):
            server.stdin.write(json.dumps(requests[i % len(requests)]) + "\n")
            server.stdin.flush()
            reply = json.loads(server.stdout.readline())
            assert reply["op"] == requests[i % len(requests)]["op"]
            if requests[i % len(requests)].get("lesson") == "99":
                assert "unknown lesson" in reply["error"]
            else:
                assert "error" not in reply, reply

    try:
        ask(40)  # warm up: imports, caches, allocator arenas
        before = _rss_kib(server.pid)
        started = time.perf_counter()
        ask(200)
        took = time.perf_counter() - started
        after = _rss_kib(server.pid)
    finally:
        server.stdin.close()
        server.wait(timeout=10)
        world.destroy()
        lock_path(world.name).unlink(missing_ok=True)
    print(f"\ncheck server RSS {before} -> {after} KiB over 200 requests in {took:.1f} s")
    assert after - before < 2048, f"RSS grew by {after - before} KiB"


@pytest.mark.skipif(
    importlib.util.find_spec("lab.tui.app") is None, reason="the TUI (lab.tui.app) is pending"
)
def test_tui_memory_is_flat_over_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lab import progress
    from lab.tui.app import LabApp

    course_dir = ROOT / "tests" / "fixtures" / "tui-course"
    monkeypatch.setenv("CNLAB_LESSONS", str(course_dir))
    monkeypatch.setenv("CNLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(progress, "STATE_ROOT", tmp_path / "state")
    world = World(unique_world_name("tuimem"))
    build_lesson(world, load_course().find("1"))
    samples: list[int] = []

    async def main() -> None:
        app = LabApp(world.name, "1", demo_char_delay=0, demo_pause=0.05)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(2.0)
            for round_ in range(ROUNDS):
                # the learner works: commands in the shell, the map, the checks
                # the world goes back and forth: what the TUI holds should too
                verb = "del" if round_ % 2 else "add"
                await pilot.press(*f"ip netns {verb} m", "enter")
                await pilot.press("f8")
                await pilot.pause(0.2)
                await pilot.press("f8")
                gc.collect()
                samples.append(_rss_kib(os.getpid()))

    try:
        asyncio.run(main())
    finally:
        world.destroy()
        lock_path(world.name).unlink(missing_ok=True)
    print(f"\nTUI process RSS over {ROUNDS} rounds (KiB): {samples}")
    # after warming up, the process stays within a small band
    warm = samples[ROUNDS // 3]
    assert max(samples[ROUNDS // 3 :]) - warm < 4096, samples
