"""The shells a learner starts inside the world keep the lab's helpers and prompt.

Driven on a real pty with pexpect, as a learner types: the lab's shell (as the
TUI and ``cnlab shell`` start it), then each shell the article or habit starts
from it. In each, the helpers (``sudo``, ``iptables``, ``modprobe``) must be the
lab's, and the prompt must name the network namespace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pexpect
import pytest

from lab.world import World

pytestmark = pytest.mark.integration

#: The lab's prompt, in colour: ``[NS] DIR # ``; sh's plain ``[NS] # ``.
PROMPT = r"\[(?P<ns>[a-z0-9_-]+)\](\x1b\[0m)? [^\r\n]*[#$] $"


class Learner:
    """A real interactive shell of the world on a pty."""

    def __init__(self, world: World) -> None:
        self.world = world
        argv = [*world.enter_argv(None), "bash", "--rcfile", str(world.dir / "bashrc"), "-i"]
        self.child = pexpect.spawn(
            argv[0],
            argv[1:],
            env=world.env(term="dumb"),
            cwd=str(world.home),
            encoding="utf-8",
            timeout=10,
            dimensions=(24, 200),
        )
        self.child.delaybeforesend = None
        self.prompt()

    def prompt(self) -> str:
        """Wait for the next prompt; return the namespace it names."""
        self.child.expect(PROMPT)
        return str(self.child.match.group("ns"))

    def type(self, line: str) -> tuple[str, str]:
        """Type ``line``; return (its output, the namespace the next prompt names)."""
        self.child.sendline(line)
        ns = self.prompt()
        out = self.child.before.replace("\r\n", "\n")
        return out.split("\n", 1)[1] if "\n" in out else "", ns

    def close(self) -> None:
        self.child.close(force=True)


@pytest.fixture
def learner(world: World) -> Iterator[Learner]:
    world.run("ip netns add netns0", check=True)
    shell = Learner(world)
    yield shell
    shell.close()


def _helpers_are_the_labs(learner: Learner, expect_ns: str) -> None:
    out, ns = learner.type(
        "for t in sudo iptables modprobe; do command -v $t; done; modprobe br_netfilter"
    )
    assert ns == expect_ns, out
    found = [line.strip() for line in out.splitlines() if line.strip().startswith("/")]
    allowed = {"/usr/local/sbin", f"{learner.world.dir}/bin"}
    assert [p.rsplit("/", 1)[1] for p in found] == ["sudo", "iptables", "modprobe"], out
    assert all(p.rsplit("/", 1)[0] in allowed for p in found), out
    assert "cnlab: br_netfilter is already active" in out, out
    out, _ = learner.type('echo "home=$HOME"')
    assert f"home={learner.world.home}" in out, out


@pytest.mark.parametrize(
    ("start", "ns"),
    [
        ("sudo nsenter --net=/var/run/netns/netns0", "netns0"),  # the article's, no program
        ("bash", "host"),
        ("bash -l", "host"),
        ("sh", "host"),
        ("sudo -i", "host"),
        ("sudo su", "host"),
        ("sudo su -", "host"),
        ("sudo -s", "host"),
        ("ip netns exec netns0 bash -l", "netns0"),
        ("env -i /bin/bash -l", "host"),
        ("sudo unshare --net bash", "unnamed"),  # no name leads to it: not the host's
    ],
)
def test_helpers_and_prompt_survive_every_shell(learner: Learner, start: str, ns: str) -> None:
    assert learner.type("true")[1] == "host"
    _helpers_are_the_labs(learner, "host")
    learner.child.sendline(start)
    assert learner.prompt() == ns
    _helpers_are_the_labs(learner, ns)
    out, back = learner.type("exit")
    assert back == "host", out


def test_nested_shells_keep_the_lab_aliases_and_prompt(learner: Learner) -> None:
    learner.child.sendline("sudo nsenter --net=/var/run/netns/netns0")
    assert learner.prompt() == "netns0"
    out, ns = learner.type(
        "alias ip; sudo nsenter --net=/var/run/netns/netns0 bash -c 'ip netns identify'"
    )
    assert ns == "netns0"
    assert re.search(r"alias ip='ip -color=auto'", out), out
    assert "netns0" in out


ARTICLE_TYPO = "sudo iptables -t nat -A POSTROUTING -s 172.18.0.0/16 !-o br0 -j MASQUERADE"


@pytest.mark.parametrize("start", [None, "sudo nsenter --net=/var/run/netns/netns0", "bash"])
def test_the_articles_bang_typo_typed_at_a_prompt_is_explained(
    learner: Learner, start: str | None
) -> None:
    if start:
        learner.child.sendline(start)
        learner.prompt()
    out, _ = learner.type(ARTICLE_TYPO)
    assert "event not found" not in out, out
    assert "write '! -o' instead of '!-o'" in out, out
    out, _ = learner.type("history 2 | head -1")
    assert "!-o br0" in out, out  # recorded as typed
