"""A session typed at the learner's prompt grades exactly as the learner's screen showed.

The session is typed through the same driver a learner's terminal amounts to
(lab/typed.py) into a world at lesson 8's start: a shell entered with
``sudo nsenter --net=...`` and no program, a web server started in the
foreground (put in the background with Ctrl-Z and ``bg``, as a learner would),
``exit`` back out, the article's ``!-o br0`` line (an iptables error on screen),
and the port-publishing rules. It is exported with ``cnlab export`` (which marks
the file) and graded with ``cnlab grade`` (typed replay by default, inside the
sandbox): same milestones. The same lines replayed in the sandbox of a fresh
world leave the same network (links, addresses, routes, rules, listening sockets).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checks.engine import check_lesson
from lab import progress, state, typed
from lab.cli import main as cli_main
from lab.course_run import build_lesson
from lab.grading.sandbox import Limits, Sandbox
from lab.lessons import load_course
from lab.world import World
from tests.conftest import cnlab

pytestmark = pytest.mark.integration

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


def typed_commands(world: World) -> list[str]:
    """What the world's shells recorded as typed (the source of `cnlab export`)."""
    lines = (world.dir / "events").read_text(encoding="utf-8").splitlines()
    return [p[3] for p in (line.split("\t", 3) for line in lines) if len(p) == 4 and p[2] == "cmd"]


def test_typed_session_grades_as_the_screen_showed(
    make_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    lesson = load_course().find("8")
    learner: World = make_world("tsa")
    build_lesson(learner, lesson)
    shell = typed.in_world(learner, settle=3.0)
    try:
        screen = [shell.type(line) for line in SESSION]
        assert screen[0].namespace == "netns0" and screen[0].depth == 2
        assert screen[1].outcome == "backgrounded"
        assert screen[2].namespace == "host" and screen[2].depth == 1
        assert screen[3].status == 2 and "Bad argument `!-o'" in screen[3].output
        assert "<!DOCTYPE HTML>" in screen[6].output  # the published port answered
        # The world as the learner leaves it (their terminal still open).
        seen = state.read_world(learner)
        report = check_lesson(learner, lesson)
    finally:
        shell.close()
    milestones = {m.id: m.passed for m in report.milestones}
    assert all(milestones.values()), milestones

    # Export, as the learner would hand it in.
    monkeypatch.setattr(progress, "STATE_ROOT", tmp_path / "state")
    commands = typed_commands(learner)
    assert "bg" in commands  # what the learner typed after Ctrl-Z
    prog = progress.load(learner.name)
    prog.current = lesson.id
    prog.lesson(lesson.id).commands = commands
    progress.save(prog)
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

    # The same lines replayed in a fresh world's sandbox: the same network.
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
    assert "ls: cannot access '/root'" in run.output
    assert "prompt.sh: Read-only file system" in run.output
    assert "/etc/shadow: No such file or directory" in run.output
    assert run.status == "output-limit" and run.output_bytes > 256 * 1024
    assert "echo late" not in run.output
