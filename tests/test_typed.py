"""The typed driver (lab/typed.py): a real interactive bash on a pty in a real world."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from lab import typed
from lab.world import World


def test_plain_removes_terminal_codes() -> None:
    raw = "\x1b[?2004l\r\x1b[1;32mhi\x1b[0m\r\n\x1b[?2004h"
    assert typed.plain(raw) == "hi\n"


def test_prompt_regex_needs_the_mark_status_and_namespace() -> None:
    ps1, ps2 = typed.prompt_regex("cnlab-typed-ab")
    found = re.search(ps1, "out\ncnlab-typed-ab:2:netns0:3# ")
    assert found is not None and found.groups() == ("2", "netns0", "3")
    assert re.search(ps1, "CNLAB_PROMPT_MARK=cnlab-typed-ab\n") is None
    assert re.search(ps1, "cnlab-typed-other:0:host:1# ") is None
    assert re.search(ps2, "cnlab-typed-ab+ ") is not None


def test_bad_on_hang_is_refused() -> None:
    with pytest.raises(ValueError):
        typed.TypedShell(child=None, mark="x", on_hang="sleep")


def _listening(world: World, ns: str, port: int) -> bool:
    out = world.run(f"ss -Hltn 'sport = :{port}'", ns=ns).stdout
    return f":{port}" in out


def test_nested_shells_history_and_a_server(world: World) -> None:
    shell = typed.in_world(world, settle=2.0)
    try:
        first = shell.type("ip netns add netns0")
        assert (first.outcome, first.status, first.namespace, first.depth) == ("done", 0, "host", 1)
        inner = shell.type("sudo nsenter --net=/var/run/netns/netns0")
        assert (inner.namespace, inner.depth) == ("netns0", 2)
        assert shell.type("ip link set lo up").namespace == "netns0"
        assert shell.type("echo one \\").outcome == "continued"
        assert shell.type("two").output.strip() == "one two"
        server = shell.type("python3 -m http.server 5000 --bind 127.0.0.1")
        assert server.outcome == "backgrounded" and server.namespace == "netns0"
        assert _listening(world, "netns0", 5000)
        back = shell.type("exit")
        assert (back.namespace, back.depth) == ("host", 1)
        # set +H in the world's bashrc: `!-o` reaches iptables (and the lab's hint).
        bang = shell.type("iptables -t nat -A POSTROUTING -s 172.18.0.0/16 !-o br0 -j MASQUERADE")
        assert bang.status == 2 and "Bad argument `!-o'" in bang.output
        assert "event not found" not in bang.output
        assert shell.type("sudo -i").depth == 2
        assert shell.type("exit").depth == 1
        last = shell.type("exit")
        assert last.outcome == "exited" and not shell.alive
        with pytest.raises(typed.ShellError):
            shell.type("true")
    finally:
        shell.close()
    text = shell.transcript
    assert "[netns0] # python3 -m http.server 5000" in text
    assert "Stopped" in text and "[host] # sudo -i" in text
    assert "cnlab-typed-" not in text and "\x1b" not in text
    # The world's own record of the session (what `cnlab export` is made from).
    events = (world.dir / "events").read_text()
    assert "\tnetns0\tcmd\tip link set lo up" in events


def test_a_hanging_command_can_be_interrupted(world: World) -> None:
    shell = typed.in_world(world, settle=1.0, on_hang="interrupt")
    try:
        done = shell.type("sleep 600")
        assert done.outcome == "interrupted" and done.status == 130
        assert shell.type("echo still here").output.strip() == "still here"
    finally:
        shell.close()
    sleeping = []
    for pid in world.processes():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x00600\x00":
                sleeping.append(pid)
    assert sleeping == []  # Ctrl-C ended it, as at a terminal
