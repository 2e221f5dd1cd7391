"""A session typed at the learner's prompt grades exactly as the learner's screen showed.

The session is typed into the TUI's own terminal (Pilot key presses into its pty)
in a world at lesson 8's start: a shell entered with
``sudo nsenter --net=...`` and no program, a web server started in the
foreground (put in the background with Ctrl-Z and ``bg``, as a learner would),
``exit`` back out, the article's ``!-o br0`` line (an iptables error on screen),
and the port-publishing rules. It is exported with ``cnlab export`` (which marks
the file) and graded with ``cnlab grade`` (typed replay by default, inside the
sandbox): same milestones. The same lines replayed in the sandbox of a fresh
world leave the same network (links, addresses, routes, rules, listening sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from lab import progress, state
from lab.cli import main as cli_main
from lab.course_run import build_lesson
from lab.grading.sandbox import Limits, Sandbox
from lab.lessons import load_course
from lab.world import World, teardown
from tests.conftest import cnlab

pytestmark = pytest.mark.integration

PROMPT = re.compile(r"^\[[\w.-]+\] \S+ #", re.MULTILINE)  # the lab's prompt: [netns0] ~ #
SESSION = [
    "sudo nsenter --net=/var/run/netns/netns0",
    "python3 -m http.server --bind 172.18.0.10 5000",
    "exit",
    "sudo iptables -t nat -A POSTROUTING -s 172.18.0.0/16 !-o br0 -j MASQUERADE",
    "sudo iptables -t nat -A PREROUTING -d 10.0.2.15 -p tcp -m tcp --dport 5000"
    " -j DNAT --to-destination 172.18.0.10:5000",
    "sudo iptables -t nat -A OUTPUT -d 10.0.2.15 -p tcp -m tcp --dport 5000"
    " -j DNAT --to-destination 172.18.0.10:5000",
    "curl -s 10.0.2.15:5000 | head -n 1",
]


def comparable(snapshot: state.WorldState) -> dict[str, Any]:
    """The network as data, without what differs between any two worlds (names
    of the worlds, when it was read, MAC addresses and interface numbers)."""
    data = snapshot.to_json()
    data.pop("world", None)
    data.pop("taken_at", None)
    for ns in data["namespaces"].values():
        for link in ns.get("links", []):
            for key in ("mac", "index", "peer_index"):
                link.pop(key, None)
    return data


def _type_in_the_tui(world: World, lesson_id: str) -> tuple[state.WorldState, dict[str, bool]]:
    """Type SESSION into the TUI's own terminal (its pty, its bash, its prompt), as a
    learner at the keyboard: the foreground server is stopped with Ctrl-Z and sent
    to the background with ``bg``. Returns the world as the learner leaves it and the
    milestones the screen shows."""
    from textual.pilot import Pilot

    from lab.tui.app import LabApp
    from tests.tui.conftest import wait_for

    seen: dict[str, Any] = {}

    def prompts(text: str) -> int:
        return len(PROMPT.findall(text))

    def screen(app: LabApp) -> str:
        return "\n".join(app.lab.shell.display_lines())

    async def at_prompt(app: LabApp, pilot: Pilot[Any], where: str, count: int) -> None:
        ok = await wait_for(pilot, lambda: app.lab.shell.text().count(f"[{where}]") >= count, 20)
        assert ok, f"no prompt number {count} in [{where}]:\n{screen(app)}"

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        shell = app.lab.shell
        await at_prompt(app, pilot, "host", 1)
        for line in SESSION:
            before = prompts(shell.text())
            await pilot.press(*line, "enter")
            if "http.server" in line:
                assert await wait_for(pilot, lambda: "Serving HTTP" in shell.text(), 20)
                await pilot.press("ctrl+z")
                assert await wait_for(pilot, lambda: "Stopped" in shell.text(), 10)
                await pilot.press(*"bg", "enter")
                before += 1

            def prompted(b: int = before) -> bool:
                return prompts(shell.text()) > b

            ok = await wait_for(pilot, prompted, 20)
            assert ok, f"no prompt after {line!r}:\n{screen(app)}"
        text = shell.text()
        assert "[netns0] ~ # python3 -m http.server" in text
        assert "Bad argument `!-o'" in text  # the article's typo, as bash passed it on
        assert "<!DOCTYPE HTML>" in text  # the published port answered
        assert "command not found" not in text and "event not found" not in text

        def all_passed() -> bool:
            report = app.lab.report
            return report is not None and report.passed

        assert await wait_for(pilot, all_passed, 20), app.lab.report
        assert app.lab.report is not None
        seen["state"] = state.read_world(world)
        seen["milestones"] = {m.id: m.passed for m in app.lab.report.milestones}

    async def main() -> None:
        app = LabApp(world.name, lesson_id, demo_char_delay=0, demo_pause=0.05)
        async with app.run_test(size=(120, 36)) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())
    return seen["state"], seen["milestones"]


def test_a_session_typed_in_the_tui_grades_as_the_screen_showed(
    make_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    lesson = load_course().find("8")
    state_dir = tmp_path / "state"
    monkeypatch.delenv("CNLAB_LESSONS", raising=False)
    monkeypatch.setenv("CNLAB_STATE_DIR", str(state_dir))
    monkeypatch.setattr(progress, "STATE_ROOT", state_dir)
    learner: World = make_world("tsa")
    build_lesson(learner, lesson)
    seen, milestones = _type_in_the_tui(learner, lesson.id)
    assert all(milestones.values()), milestones

    # Export what the TUI recorded, as the learner would hand it in.
    recorded = progress.load(learner.name).lessons[lesson.id].commands
    assert recorded == [*SESSION[:2], "bg", *SESSION[2:]], recorded
    assert cli_main(["--world", learner.name, "export", lesson.id]) == 0
    exported = tmp_path / "alice.sh"
    exported.write_text(capsys.readouterr().out, encoding="utf-8")

    graded = cnlab("grade", "8", str(exported), "--jobs", "1", timeout=180)
    assert graded.returncode == 0, graded.stderr
    result = json.loads(graded.stdout)["submissions"][0]
    assert result["replay"] == "typed" and result["status"] == "ok"
    assert {m["id"]: m["passed"] for m in result["milestones"]} == milestones
    assert "Bad argument `!-o'" in result["output"]
    assert "[netns0] # python3 -m http.server" in result["output"]

    # The exported lines replayed in a fresh world's sandbox, through the grader's
    # typed driver: the same network as the learner's screen left.
    replayed: World = make_world("tsb")
    build_lesson(replayed, lesson)
    sandbox = Sandbox(replayed, Limits(timeout=60, settle=3.0))
    try:
        lines = exported.read_text(encoding="utf-8").splitlines()
        run = sandbox.run_typed(lines, settle=3.0)
        assert run.status == "ok", (run.reason, run.output)
        again = state.read_world(replayed)
    finally:
        sandbox.stop()
    assert comparable(again) == comparable(seen)


def test_script_replay_of_the_same_session_differs(tmp_path: Path) -> None:
    """Why typed is the default for exports: as a script, the foreground server
    never returns (no Ctrl-Z in a script), so the run times out. And a typed
    submission that falls short has its last lines on screen in the report."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "bob.sh").write_text("\n".join(SESSION) + "\n", encoding="utf-8")
    (folder / "carol.sh").write_text(
        "# cnlab submission\n# lesson: 08\nsudo ip link set nosuch up\n", encoding="utf-8"
    )
    graded = cnlab("grade", "8", str(folder), "--jobs", "1", "--timeout", "8", timeout=180)
    bob, carol = json.loads(graded.stdout)["submissions"]
    assert bob["replay"] == "script" and bob["status"] == "timeout"  # no export mark: script
    assert carol["replay"] == "typed" and carol["status"] == "ok" and not carol["passed"]
    assert "[host] # sudo ip link set nosuch up" in carol["transcript_tail"]
    assert "Cannot find device" in carol["transcript_tail"]
    assert ", script)" in graded.stderr and ", typed)" in graded.stderr


def _in_pid_ns(world: World) -> list[str]:
    """/proc/PID/stat of every process in the world's PID namespace but its init."""
    ns = os.stat(world.pidns).st_ino
    init = teardown.init_pid(world)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == init:
            continue
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{entry}/ns/pid").st_ino == ns:
                found.append(Path(f"/proc/{entry}/stat").read_text(errors="replace"))
    return found


def test_typed_replay_keeps_the_sandbox_fences(make_world: Any) -> None:
    """Typed at a prompt, a submission is in the same jail: the machine's files are
    not there, the world's rc copies are read-only, a flood is stopped."""
    world: World = make_world("tsc")
    sandbox = Sandbox(world, Limits(timeout=30, output_max=256 * 1024))
    try:
        run = sandbox.run_typed(
            ["ls /root", 'echo x > "$CNLAB_DIR/prompt.sh"', "cat /etc/shadow", "yes", "echo late"],
            settle=2.0,
        )
    finally:
        sandbox.stop()
    # Nothing of the sandbox is left in the world's PID namespace, not even a zombie
    # for the machine's init to reap: the world's init would wait for it at teardown.
    assert _in_pid_ns(world) == [], "the sandbox left processes in the world"
    assert "ls: cannot access '/root'" in run.output
    assert "prompt.sh: Read-only file system" in run.output
    assert "/etc/shadow: No such file or directory" in run.output
    assert run.status == "output-limit" and run.output_bytes > 256 * 1024
    assert "echo late" not in run.output
