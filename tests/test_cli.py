"""The command line as a learner, an instructor and a grader use it (real processes)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_COURSE, cnlab, host_fingerprint, unique_world_name

pytestmark = pytest.mark.integration
FIXTURE = {"CNLAB_LESSONS": str(FIXTURE_COURSE)}


@pytest.fixture
def name() -> object:
    world = unique_world_name("cli")
    yield world
    cnlab("--world", world, "down")


@pytest.fixture
def state_dir(tmp_path: Path) -> dict[str, str]:
    return {**FIXTURE, "CNLAB_STATE_DIR": str(tmp_path / "state")}


def test_done_when_reset_then_netns_inside_only(name: str, state_dir: dict[str, str]) -> None:
    before = host_fingerprint()
    assert cnlab("--world", name, "reset", "1", env=state_dir).returncode == 0
    out = cnlab(
        "--world", name, "shell", "-c", "ip netns add netns0 && ip netns list", env=state_dir
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "netns0"
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout == ""
    assert cnlab("--world", name, "down", env=state_dir).returncode == 0
    assert host_fingerprint() == before


def test_shell_exit_status_and_stdin_script(name: str, state_dir: dict[str, str]) -> None:
    cnlab("--world", name, "reset", env=state_dir)
    assert cnlab("--world", name, "shell", "-c", "exit 7", env=state_dir).returncode == 7
    out = cnlab("--world", name, "shell", env=state_dir, input="ip -4 -o addr show eth0\n")
    assert "10.0.2.15/24" in out.stdout
    out = cnlab(
        "--world", name, "shell", "--ns", "internet", "-c", "ip -4 -o addr show lo", env=state_dir
    )
    assert "8.8.8.8/32" in out.stdout


def test_shell_in_a_learner_namespace(name: str, state_dir: dict[str, str]) -> None:
    cnlab("--world", name, "reset", env=state_dir)
    cnlab("--world", name, "shell", "-c", "ip netns add netns0", env=state_dir)
    out = cnlab(
        "--world", name, "shell", "--ns", "netns0", "-c", "ip -o link | wc -l", env=state_dir
    )
    assert out.stdout.strip() == "1"
    bad = cnlab("--world", name, "shell", "--ns", "nope", "-c", "true", env=state_dir)
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        f"cnlab: no namespace 'nope' in world '{name}' (it has: host, internet, netns0)"
    )


def test_check_solve_status_list(name: str, state_dir: dict[str, str]) -> None:
    cnlab("--world", name, "reset", "01-pair", env=state_dir)
    failing = cnlab("--world", name, "check", "--json", env=state_dir)
    assert failing.returncode == 1
    report = json.loads(failing.stdout)
    assert set(report) == {"lesson", "world", "passed", "duration_ms", "milestones"}
    assert report["lesson"] == "01-pair" and report["world"] == name and not report["passed"]
    assert report["milestones"][0]["cause"] == "netns-missing"
    assert set(report["milestones"][0]) == {
        "id",
        "title",
        "passed",
        "cause",
        "explanation",
        "evidence",
    }
    assert cnlab("--world", name, "solve", env=state_dir).returncode == 0
    passing = cnlab("--world", name, "check", env=state_dir)
    assert passing.returncode == 0, passing.stdout
    status = json.loads(cnlab("--world", name, "status", "--json", env=state_dir).stdout)
    assert status["state"] == "ready" and status["lesson"] == "01-pair"
    assert status["namespaces"] == ["box"]
    listing = json.loads(cnlab("--world", name, "list", "--json", env=state_dir).stdout)
    first = listing["lessons"][0]
    assert first["completed"] and first["passed"] == first["milestones"] == 3
    every = json.loads(cnlab("--world", name, "check", "--all", "--json", env=state_dir).stdout)
    assert [r["lesson"] for r in every] == ["01-pair", "02-outside"]


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (["reset", "99"], "cnlab: unknown lesson '99'; the lessons are: 01-pair, 02-outside", 2),
        (["check"], "cnlab: no world '{name}' yet: run `cnlab reset 1 --world {name}` first", 1),
        (
            ["shell", "-c", "true"],
            "cnlab: no world '{name}' yet: run `cnlab reset 1 --world {name}` first",
            1,
        ),
    ],
)
def test_errors_are_one_clear_line(
    name: str, state_dir: dict[str, str], args: list[str], message: str, status: int
) -> None:
    out = cnlab("--world", name, *args, env=state_dir)
    assert out.returncode == status
    assert out.stderr.strip() == message.format(name=name)
    assert "Traceback" not in out.stderr


def test_bad_world_name(state_dir: dict[str, str]) -> None:
    out = cnlab("--world", "../etc", "status", env=state_dir)
    assert out.returncode == 2
    assert "invalid world name" in out.stderr and "Traceback" not in out.stderr


def test_missing_tools_are_named(name: str, state_dir: dict[str, str], tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "nsenter", "unshare", "ip"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or "/bin/false")
    out = cnlab("--world", name, "reset", env={**state_dir, "PATH": str(bin_dir)})
    assert out.returncode == 69
    assert (
        out.stderr.strip()
        == "cnlab: missing iptables (package iptables): run ./run once, or install them"
    )


def test_python_dash_m_lab_and_console_script_agree() -> None:
    script = Path(sys.executable).parent / "cnlab"
    one = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    two = cnlab("--help")
    assert one.returncode == two.returncode == 0
    assert one.stdout.replace("cnlab", "") == two.stdout.replace("cnlab", "")


BOOM = (
    "import lab.cli as cli\n"
    "def boom(args):\n"
    "    raise KeyError('a bug')\n"
    "cli.cmd_list = boom\n"
    "raise SystemExit(cli.main(['list']))\n"
)


@pytest.mark.parametrize("debug", ["", "1"])
def test_an_unexpected_error_is_one_line_unless_debugging(debug: str) -> None:
    """A bug is one line and exit 70; ``CNLAB_DEBUG=1`` prints the whole traceback."""
    out = subprocess.run(
        [sys.executable, "-c", BOOM],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "CNLAB_DEBUG": debug},
    )
    assert out.returncode == 70
    if debug:
        assert "Traceback (most recent call last)" in out.stderr
        assert "KeyError: 'a bug'" in out.stderr
    else:
        assert out.stderr.strip().splitlines() == [
            "cnlab: unexpected error: KeyError: 'a bug' "
            "(a bug: run again with CNLAB_DEBUG=1 for the traceback, and report it)"
        ]


def test_version() -> None:
    out = cnlab("--version")
    assert out.returncode == 0
    assert re.fullmatch(r"cnlab \d+\.\d+\.\d+\S*\n", out.stdout), out.stdout


def test_every_verb_has_a_description_and_an_example(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process (the command line's own ``main``): a subprocess per verb cost a
    second each and added nothing to what ``--help`` prints."""
    from lab.cli import build_parser, main

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"list", "reset", "check", "serve", "grade"} <= set(verbs)
    for verb in verbs:
        with pytest.raises(SystemExit) as exited:
            main([verb, "--help"])
        out = capsys.readouterr()
        assert exited.value.code == 0, (verb, out.err)
        head, _, examples = out.out.partition("\nexamples:\n")
        assert examples.strip(), f"`cnlab {verb} --help` has no example"
        for line in examples.strip().splitlines():
            assert "cnlab" in line, (verb, line)
        description = head.split("\n\n")[1]
        assert len(description) > 10 and not description.startswith(" "), (verb, head)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("chek", "cnlab: unknown verb 'chek'; did you mean 'check'? (see `cnlab --help`)"),
        ("lsit", "cnlab: unknown verb 'lsit'; did you mean 'list'? (see `cnlab --help`)"),
        ("serv", "cnlab: unknown verb 'serv'; did you mean 'serve'? (see `cnlab --help`)"),
        ("xyzzy", "cnlab: unknown verb 'xyzzy' (see `cnlab --help`)"),
    ],
)
def test_a_mistyped_verb_gets_a_suggestion(typed: str, says: str) -> None:
    out = cnlab("--world", "w", typed)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip() == says


@pytest.mark.parametrize(
    "argv",
    [["serve", "--port", "9" * 5000], ["grade", "1", "x", "--jobs", "1" * 5000], ["x" * 5000]],
    ids=["port", "jobs", "verb"],
)
def test_huge_arguments_are_one_short_line(argv: list[str]) -> None:
    out = cnlab(*argv)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnlab"), out.stderr[:300]
    assert len(lines[0]) < 200, lines[0][:300]
