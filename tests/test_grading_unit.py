"""Pure logic of the grader: input loading, the status channel's parser, exit codes, --out.

No world is built here (no root needed beyond what pytest's configuration asks).
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.grading.commands import check_out, exit_status, parse_fail_under, write_report
from lab.grading.runner import CRLF_NOTE, load_submissions
from lab.grading.sandbox import parse_status
from lab.model import SubmissionGrade


def _grade(score: float, passed: bool, status: str = "ok") -> SubmissionGrade:
    return SubmissionGrade("/s", "s", "w", status, None, passed, score, 3.0, [])


def test_crlf_is_read_as_unix_and_noted(tmp_path: Path) -> None:
    sub = tmp_path / "win.sh"
    sub.write_bytes(b"ip netns add alpha\r\nip netns add beta\r\n")
    (loaded,) = load_submissions([str(sub)])
    assert loaded.data == b"ip netns add alpha\nip netns add beta\n"
    assert loaded.notes == (CRLF_NOTE,)
    unix = tmp_path / "unix.sh"
    unix.write_bytes(b"ip netns add alpha\n")
    assert load_submissions([str(unix)])[0].notes == ()


@pytest.mark.parametrize(
    ("content", "why"),
    [(None, "submission file not found"), (b"", "empty submission"), (b"\x7fELF\x00", "binary")],
)
def test_unusable_files_are_bad_input_or_zero_when_lenient(
    tmp_path: Path, content: bytes | None, why: str
) -> None:
    sub = tmp_path / "commands.sh"
    if content is not None:
        sub.write_bytes(content)
    with pytest.raises(LabError) as err:
        load_submissions([str(sub)])
    assert why in err.value.message and err.value.status == 2
    (loaded,) = load_submissions([str(sub)], lenient=True)
    assert loaded.problem is not None and why in loaded.problem


def test_status_parser_trusts_only_the_jails_sequence() -> None:
    assert parse_status(b"ready", False, False) == ("ready", "")
    assert parse_status(b"setup mount /x: EPERM", False, False) == ("setup", "mount /x: EPERM")
    assert parse_status(b"exit 0", False, False) is None  # never before ready
    assert parse_status(b"exit 3", True, False) == ("exit", 3)
    assert parse_status(b"exit 0", True, True) is None  # only once
    for junk in (b"exit zz", b"exit ", b"exit 99999999999999999999", b"\xff\xfe", b"ready"):
        assert parse_status(junk, True, False) is None, junk


def test_fail_under_and_strict_exit_codes() -> None:
    partial, full = _grade(2.0, False), _grade(3.0, True)
    assert exit_status([partial], None, False) == 0  # the old contract, unchanged
    assert exit_status([partial], parse_fail_under("3"), False) == 3
    assert exit_status([partial], parse_fail_under("2"), False) == 0
    assert exit_status([partial], parse_fail_under("67%"), False) == 3
    assert exit_status([partial], parse_fail_under("66%"), False) == 0
    assert exit_status([partial, full], None, True) == 3
    assert exit_status([full], None, True) == 0
    assert exit_status([full, _grade(0, False, "error")], None, True) == 1
    for bad in ("x", "-1", "120%", "nan"):
        with pytest.raises(LabError) as err:
            parse_fail_under(bad)
        assert err.value.status == 2 and "--fail-under" in err.value.message


def test_out_writes_through_links_and_fifos_never_replaces_them(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_report(check_out(str(link)) or Path("-"), "new report\n")
    assert link.is_symlink() and target.read_text() == "new report\n"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_report(fifo, "through the fifo\n")
    reader.join(timeout=10)
    assert got == ["through the fifo\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)

    dev_null = os.stat("/dev/null")
    write_report(Path("/dev/null"), "discarded\n")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == dev_null.st_ino

    plain = tmp_path / "plain.json"
    write_report(plain, "a\n")
    write_report(plain, "b\n")
    assert plain.read_text() == "b\n"
    assert check_out("-") is None and check_out(None) is None
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(LabError):
        check_out(str(dangling))


def test_a_systemd_scope_only_where_systemd_owns_a_pure_v2_tree() -> None:
    from lab.grading.cgroups import needs_scope

    session = "/user.slice/user-0.slice/session-1.scope"
    # stock Debian 12: systemd, pure v2, the grader in a login session with its shell
    assert needs_scope(True, False, session, alone=False, marked=False)
    assert not needs_scope(True, False, session, alone=False, marked=True)  # never twice
    assert not needs_scope(True, False, session, alone=True, marked=False)  # a scope already
    assert not needs_scope(True, True, session, alone=False, marked=False)  # hybrid: v1 pids
    assert not needs_scope(False, False, session, alone=False, marked=False)  # no systemd
    assert not needs_scope(True, False, "/", alone=False, marked=False)  # the root group
    assert not needs_scope(True, False, None, alone=False, marked=False)  # no v2 at all


@pytest.mark.parametrize(
    ("args", "quick"),
    [
        (["-c", "2", "10.0.2.2"], True),
        (["-qc2", "10.0.2.2"], True),
        (["10.0.2.2", "-c", "5", "-W", "1"], True),  # options after the address, as ping reads them
        (["-p", "c", "-c", "1", "10.0.2.2"], True),  # "c" is -p's pattern, not -c
        (["10.0.2.2"], False),  # no count: it runs until stopped, faster would send more
        (["-c", "6", "10.0.2.2"], False),  # longer than a typed replay's settle time
        (["-c", "2", "-w", "3", "10.0.2.2"], False),  # a deadline bounds how many are sent
        (["-c", "2", "-i", "0.5", "10.0.2.2"], False),  # the learner's own interval
        (["-c", "2", "-f", "10.0.2.2"], False),
        (["-c", "2", "-Z", "10.0.2.2"], False),  # an option ping refuses: its own error
    ],
)
def test_graded_ping_is_quick_only_when_the_count_bounds_it(args: list[str], quick: bool) -> None:
    """Which pings a grading world's helper speeds up (lab/assets/ping), read from
    the command it runs; ``-V`` makes the real ping print its version and send nothing."""
    helper = Path(__file__).resolve().parent.parent / "lab" / "assets" / "ping"
    traced = subprocess.run(
        ["bash", "-x", str(helper), "-V", *args], capture_output=True, text=True, timeout=10
    )
    runs = [line for line in traced.stderr.splitlines() if line.startswith("+ exec -a ping ")]
    assert len(runs) == 1, traced.stderr
    assert (" -i 0.002 " in runs[0]) is quick, runs[0]
    assert runs[0].endswith(" ".join(["-V", *args])), runs[0]  # the rest passed as typed
