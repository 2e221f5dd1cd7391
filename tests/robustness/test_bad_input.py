"""Bad input gets one clear line naming the file or thing, and a non-zero exit.

Every case runs the real ``cnlab`` with ``CNLAB_LESSONS`` pointing at a broken
copy of ``tests/fixtures/course``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.world import World
from tests.conftest import FIXTURE_COURSE, ROOT, cnlab

from .conftest import run_cli, status

pytestmark = pytest.mark.integration

Mutate = Callable[[Path], None]


def _edit(rel: str, old: str, new: str) -> Mutate:
    def mutate(course: Path) -> None:
        path = course / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1))

    return mutate


def _write(rel: str, text: str) -> Mutate:
    def mutate(course: Path) -> None:
        (course / rel).write_text(text)

    return mutate


def _remove(rel: str) -> Mutate:
    return lambda course: (course / rel).unlink()


# (how the course is broken, the command, exit status, what the one line must say)
CASES: dict[str, tuple[Mutate, list[str], int, list[str]]] = {
    "lesson.toml not TOML": (
        _edit("01-pair/lesson.toml", 'title = "A box', "title = A box"),
        ["list"],
        1,
        ["01-pair/lesson.toml: not valid TOML"],
    ),
    "lesson.toml without milestones": (
        _write("02-outside/lesson.toml", 'title = "t"\ngoal = "g"\n'),
        ["reset", "1"],
        1,
        ["02-outside/lesson.toml: needs at least one [[milestones]] table"],
    ),
    "milestone title not a string": (
        _edit("01-pair/lesson.toml", 'title = "{{ ns }} exists"', "title = 5"),
        ["list"],
        1,
        ["01-pair/lesson.toml (milestone 1): 'title' must be a non-empty string"],
    ),
    "hints not a list": (
        _edit("01-pair/lesson.toml", "hints = [", 'hints = "oops"\nnohints = ['),
        ["list"],
        1,
        ["01-pair/lesson.toml: 'hints' must be a list"],
    ),
    "course.toml vars not a table": (
        _write("course.toml", 'vars = "x"\n'),
        ["list"],
        1,
        ["course.toml: [vars] must be a table"],
    ),
    "undefined variable in start.sh": (
        _edit("01-pair/start.sh", "true", "ip netns add {{ no_such_var }}"),
        ["reset", "1"],
        1,
        ["01-pair/start.sh", "template error", "'no_such_var' is undefined"],
    ),
    "template syntax error in solution.sh": (
        _edit("01-pair/solution.sh", "# Make the box.", "{% if %}"),
        ["solve", "1"],
        1,
        ["01-pair/solution.sh", "line 1", "template error"],
    ),
    "missing solution.sh": (
        _remove("02-outside/solution.sh"),
        ["reset", "1"],
        1,
        ["02-outside/solution.sh: file is missing"],
    ),
    "unknown lesson id (check)": (
        lambda course: None,
        ["check", "03-nope"],
        2,
        ["unknown lesson '03-nope'; the lessons are: 01-pair, 02-outside"],
    ),
    "a kernel without a feature (dummy links)": (
        _edit("01-pair/start.sh", "true", "ip link add x0 type dummy"),
        ["reset", "1"],
        1,
        ["01-pair/start.sh failed (exit", "Unknown device type", "may lack a feature"],
    ),
    "a start script that fails": (
        _edit("01-pair/start.sh", "true", "ip route add 10.9.9.0/24 via 10.99.0.1"),
        ["reset", "1"],
        1,
        ["01-pair/start.sh failed (exit 2)", "Nexthop has invalid gateway"],
    ),
    "unknown check kind": (
        _edit("01-pair/lesson.toml", 'check = "netns_exists"', 'check = "telepathy"'),
        ["check", "1"],
        1,
        ["01-pair/lesson.toml (milestone 1, 'box-exists'): unknown check kind 'telepathy'"],
    ),
    "a check without its arguments": (
        _edit("01-pair/lesson.toml", 'args = { from = "{{ ns }}", to = "{{ host_side_ip }}" }', ""),
        ["check", "1"],
        1,
        ["ping-host"],
    ),
    "a check argument of the wrong type": (
        _edit("01-pair/lesson.toml", 'to = "{{ host_side_ip }}"', "to = [1, 2]"),
        ["check", "1"],
        1,
        ["ping-host"],
    ),
    "lessons folder missing": (
        lambda course: shutil.rmtree(course),
        ["reset", "1"],
        1,
        ["lessons folder not found"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_course_gets_one_clear_line(
    case: str, tmp_path: Path, wname: str, state_env: dict[str, str]
) -> None:
    mutate, argv, code, says = CASES[case]
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course)
    env = {**state_env, "CNLAB_LESSONS": str(course)}
    if argv[0] in ("check", "solve"):  # these need a world: build it from the good course
        assert run_cli(wname, "reset", "1", env={**env, "CNLAB_LESSONS": str(FIXTURE_COURSE)})
    mutate(course)
    out = run_cli(wname, *argv, env=env)
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    assert out.returncode == code, (out.returncode, out.stderr, out.stdout[-500:])
    text = out.stderr if argv[0] != "check" else out.stdout + out.stderr
    for part in says:
        assert part in text, (part, text)
    if argv[0] != "check":
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("cnlab: "), out.stderr
    if argv[0] == "reset":  # a failed reset leaves no half world behind
        assert status(wname, env)["state"] == "absent"
        assert not World(wname).dir.exists()


def _as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    # A user namespace makes us uid 65534 while file access stays as before, so this
    # works wherever the checkout lives (CI clones into a 0700 folder).
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed"
    return subprocess.run(
        [
            unshare,
            "--user",
            "--map-user=65534",
            "--map-group=65534",
            sys.executable,
            "-m",
            "lab",
            *argv,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CNLAB_LESSONS": str(FIXTURE_COURSE), "CNLAB_STATE_DIR": "/nonexistent"},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["shell", "-c", "true"],
        ["solve", "1"],
        ["status"],
        ["down"],
        ["dev", "check"],
        ["grade", "1", "/etc/hostname"],
        [],  # the TUI
    ],
)
def test_a_non_root_user_is_told_before_anything(argv: list[str]) -> None:
    out = _as_nobody(*argv)
    assert out.returncode == 77, out.stderr
    assert out.stderr.strip() == (
        "cnlab: cnlab builds network namespaces and needs root: run it with sudo (or as root)"
    )


@pytest.mark.parametrize("tool", ["ip", "iptables", "nsenter"])
@pytest.mark.parametrize("verb", [["reset", "1"], ["check"], ["shell", "-c", "true"]])
def test_missing_tools_are_named_for_every_verb(
    tool: str, verb: list[str], tmp_path: Path, wname: str, state_env: dict[str, str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bash", "nsenter", "unshare", "ip", "iptables"):
        if name != tool:
            (bin_dir / name).symlink_to(shutil.which(name) or "/bin/false")
    env = {**state_env, "CNLAB_LESSONS": str(FIXTURE_COURSE), "PATH": str(bin_dir)}
    out = run_cli(wname, *verb, env=env)
    package = {"ip": "iproute2", "iptables": "iptables", "nsenter": "util-linux"}[tool]
    assert out.returncode == 69, out.stderr
    assert out.stderr.strip() == (
        f"cnlab: missing {tool} (package {package}): run ./run once, or install them"
    )


needs_grader = pytest.mark.skipif(
    importlib.util.find_spec("lab.grading.commands") is None,
    reason="the grader (lab.grading.commands) is pending",
)


@needs_grader
@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"ip netns add box\n\0\x01\x02ELF", "binary file, not shell commands"),
        (b"ip netns add box\n" + b"# padding\n" * 200_000, "too big for a submission"),
        (b"\xff\xfe ip netns add box\n", "not UTF-8 text"),
    ],
    ids=["binary", "huge", "not-utf8"],
)
def test_bad_submissions_are_refused_before_any_world(
    content: bytes, says: str, tmp_path: Path, state_env: dict[str, str]
) -> None:
    sub = tmp_path / "sub.sh"
    sub.write_bytes(content)
    before = set(os.listdir("/run/cnlab")) if os.path.isdir("/run/cnlab") else set()
    env = {**state_env, "CNLAB_LESSONS": str(FIXTURE_COURSE)}
    out = run_cli("default", "grade", "1", str(sub), env=env)
    assert "Traceback" not in out.stderr
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(sub) in lines[0] and says in lines[0], out.stderr
    after = set(os.listdir("/run/cnlab")) if os.path.isdir("/run/cnlab") else set()
    assert not {n for n in after - before if n.startswith("grade-")}


@needs_grader
def test_grading_an_unknown_lesson_or_a_missing_file(
    tmp_path: Path, state_env: dict[str, str]
) -> None:
    env = {**state_env, "CNLAB_LESSONS": str(FIXTURE_COURSE)}
    out = run_cli("default", "grade", "99", "/etc/hostname", env=env)
    assert out.returncode == 2 and "unknown lesson '99'" in out.stderr, out.stderr
    missing = tmp_path / "nope.sh"
    out = run_cli("default", "grade", "1", str(missing), env=env)
    assert out.returncode == 2
    assert out.stderr.strip() == f"cnlab: {missing}: submission file not found"


# ------------------------------------------------ odd lessons, world names, progress


def _one_line(out: subprocess.CompletedProcess[str], code: int, *says: str) -> str:
    assert "Traceback" not in out.stderr + out.stdout, out.stderr[-2000:]
    assert out.returncode == code, (out.returncode, out.stderr[-500:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnlab: "), out.stderr[-2000:]
    for part in says:
        assert part in lines[0], (part, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    "ref",
    ["²", "٣", "1" * 5000, "-1", "1.0"],
    ids=["superscript", "arabic", "5000-digits", "-1", "1.0"],
)
@pytest.mark.parametrize("verb", ["reset", "check", "solve", "grade"])
def test_odd_lesson_numbers(ref: str, verb: str, wname: str, state_env: dict[str, str]) -> None:
    if verb == "grade" and importlib.util.find_spec("lab.grading.commands") is None:
        pytest.skip("the grader is pending")
    env = {**state_env, "CNLAB_LESSONS": str(FIXTURE_COURSE)}
    if verb in ("check", "solve"):
        assert run_cli(wname, "reset", "1", env=env).returncode == 0
    argv = [verb, ref, "/etc/hostname"] if verb == "grade" else [verb, ref]
    line = _one_line(run_cli(wname, *argv, env=env), 2, "unknown lesson", "01-pair, 02-outside")
    assert len(line) < 200
    if verb == "check":  # the world is untouched
        assert status(wname, env)["lesson"] == "01-pair"


BAD_NAMES = ["../../x", "..", "a/b", "UPPER", "x" * 40, ""]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize(
    "verb", [["list"], ["list", "--json"], ["status"], ["export"], ["reset", "1"], []]
)
def test_world_names_are_checked_by_every_verb(
    name: str, verb: list[str], tmp_path: Path, state_env: dict[str, str]
) -> None:
    # An unrelated file where ../../x would lead from the state folder: never touched.
    state = tmp_path / "deep" / "er" / "state"
    elsewhere = tmp_path / "deep" / "x" / "progress.json"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text("someone else's file\n")
    env = {**state_env, "CNLAB_STATE_DIR": str(state), "CNLAB_LESSONS": str(FIXTURE_COURSE)}
    for argv in (["--world", name, *verb], [*verb, "--world", name]):
        out = cnlab(*argv, env=env, timeout=30)
        _one_line(out, 2, "invalid world name")
    assert sorted(p.name for p in elsewhere.parent.iterdir()) == ["progress.json"]
    assert elsewhere.read_text() == "someone else's file\n"
    assert not state.exists()


CORRUPT_PROGRESS = {
    "Infinity": '{"format": 1, "world": "W", "current": "01-pair", "updated": Infinity,'
    ' "lessons": {}}',
    "hints Infinity": '{"format": 1, "world": "W", "current": "01-pair", "updated": 1,'
    ' "lessons": {"01-pair": {"hints_used": Infinity}}}',
    "NaN": '{"format": 1, "world": "W", "current": null, "updated": NaN, "lessons": {}}',
    "nested arrays": '{"format": 1, "lessons": {"01-pair": {"passed": '
    + "[" * 100_000
    + "]" * 100_000
    + "}}}",
    "huge number": '{"format": 1, "lessons": {"01-pair": {"hints_used": 1e400}}}',
}


@pytest.mark.parametrize("case", list(CORRUPT_PROGRESS))
def test_progress_python_would_read_but_we_never_write(
    case: str, wname: str, state_env: dict[str, str]
) -> None:
    """Set aside like any corrupt file: every verb works, the bad file is kept for a look."""
    env = {**state_env, "CNLAB_LESSONS": str(FIXTURE_COURSE)}
    folder = Path(env["CNLAB_STATE_DIR"]) / wname
    folder.mkdir(parents=True)
    (folder / "progress.json").write_text(CORRUPT_PROGRESS[case].replace("W", wname))
    out = run_cli(wname, "list", "--json", env=env)
    assert "Traceback" not in out.stderr and out.returncode == 0, out.stderr[-2000:]
    assert [p.name.split("-")[0] for p in folder.iterdir()] == ["progress.json.corrupt"]
    out = run_cli(wname, "reset", "2", env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert status(wname, env)["lesson"] == "02-outside"


@pytest.fixture
def full_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs, mounted for this test and then filled to the last byte."""
    where = tmp_path / "full"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> None:
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()


def test_a_full_state_folder(full_tmpfs: Path, wname: str, state_env: dict[str, str]) -> None:
    env = {**state_env, "CNLAB_LESSONS": str(FIXTURE_COURSE), "CNLAB_STATE_DIR": str(full_tmpfs)}
    assert run_cli(wname, "reset", "1", env=env).returncode == 0
    saved = (full_tmpfs / wname / "progress.json").read_bytes()
    fill(full_tmpfs)
    # reset: refused before the world is touched; progress still says lesson 1
    _one_line(
        run_cli(wname, "reset", "2", env=env),
        74,
        "progress could not be saved",
        "No space left on device",
        "the world was left as it was",
    )
    assert status(wname, env)["lesson"] == "01-pair"
    assert (full_tmpfs / wname / "progress.json").read_bytes() == saved
    # check: the results are printed, then one line says they were not recorded
    assert run_cli(wname, "solve", env=env).returncode == 0
    out = run_cli(wname, "check", "--json", env=env)
    _one_line(out, 74, "progress could not be saved", "were not recorded")
    assert json.loads(out.stdout)["passed"] is True
    assert (full_tmpfs / wname / "progress.json").read_bytes() == saved
    assert not list((full_tmpfs / wname).glob(".progress-*"))


def test_a_full_run_folder(full_tmpfs: Path, wname: str, state_env: dict[str, str]) -> None:
    env = {**state_env, "CNLAB_LESSONS": str(FIXTURE_COURSE), "CNLAB_RUN_DIR": str(full_tmpfs)}
    fill(full_tmpfs)
    try:
        _one_line(run_cli(wname, "reset", "2", env=env), 74, "No space left on device")
        assert status(wname, env)["state"] in ("absent", "broken")
        # progress is on the lesson asked for (saved first), never on an old one
        saved = json.loads((Path(env["CNLAB_STATE_DIR"]) / wname / "progress.json").read_text())
        assert saved["current"] == "02-outside"
        (full_tmpfs / "filler").unlink()
        assert run_cli(wname, "reset", env=env).returncode == 0
        assert status(wname, env)["lesson"] == "02-outside"
    finally:
        run_cli(wname, "down", env=env)
