"""Small pure parts: the events tail, the session's bookkeeping, the key mapping."""

from __future__ import annotations

from pathlib import Path

from textual import events

from lab.lessons import DEFAULT_LESSONS_DIR, load_course
from lab.model import LessonReport
from lab.tui.events import EventsTail, parse_line
from lab.tui.keys import KEYS
from lab.tui.prefix import band_lines
from lab.tui.session import Session
from lab.tui.terminal import key_bytes

from .conftest import TUI_COURSE


def test_events_tail_reads_new_lines_and_survives_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "events"
    path.write_text("1.0\thost\tcmd\told\n")
    tail = EventsTail(path)
    assert tail.poll() == []
    with path.open("a") as fh:
        fh.write("2.0\thost\tcmd\tip netns add box\n2.1\thost\tdone\t0\n3.0\tbox\tcm")
    got = tail.poll()
    assert [(e.namespace, e.kind, e.value) for e in got] == [
        ("host", "cmd", "ip netns add box"),
        ("host", "done", "0"),
    ]
    with path.open("a") as fh:
        fh.write("d\texit\n")
    assert [e.value for e in tail.poll()] == ["exit"]
    assert tail.done_count == 1
    path.unlink()
    assert tail.poll() == []
    path.write_text("4.0\thost\tdone\t1\n")
    assert [e.value for e in tail.poll()] == ["1"]
    assert parse_line("garbage") is None
    assert parse_line("x\thost\tdone\t0").time == 0.0  # type: ignore[union-attr]


def test_session_records_and_saves(tui_env: Path) -> None:
    course = load_course(TUI_COURSE)
    session = Session("unit", course)
    first, second = course.lessons
    assert session.start_lesson(None, None) is first
    assert session.start_lesson(None, "02-second") is second
    assert session.start_lesson("nope", None) is first
    session.set_current(second)
    session.record_commands(first, ["ip netns add box", "  "])
    assert session.use_hint(first) == 1
    assert session.hints_shown(first) == [first.hints[0]]
    report = LessonReport.from_json(
        {"lesson": first.id, "milestones": [{"id": m.id, "passed": True} for m in first.milestones]}
    )
    assert session.record_report(first, report) is True
    assert session.record_report(first, report) is False
    again = Session("unit", course)
    assert again.progress.current == "02-second"
    assert again.progress.lesson(first.id).commands == ["ip netns add box"]
    assert again.passed_count(first) == 3 and again.completed(first)
    assert not again.all_completed()
    assert "| 1. A box of its own | 3/3 | 1/3 | no | 1 |" in again.summary_markdown()


def key(name: str, char: str | None) -> events.Key:
    return events.Key(name, char)


def test_keys_become_xterm_bytes() -> None:
    assert key_bytes(key("a", "a")) == b"a"
    assert key_bytes(key("enter", "\r")) == b"\r"
    assert key_bytes(key("tab", "\t")) == b"\t"
    assert key_bytes(key("ctrl+c", "\x03")) == b"\x03"
    assert key_bytes(key("ctrl+r", None)) == b"\x12"
    assert key_bytes(key("up", None)) == b"\x1b[A"
    assert key_bytes(key("up", None), app_cursor=True) == b"\x1bOA"
    assert key_bytes(key("backspace", "\x7f")) == b"\x7f"
    assert key_bytes(key("f5", None)) is None


def lesson6_report(forward: bool, no_way_back: bool) -> LessonReport:
    return LessonReport.from_json(
        {
            "lesson": "06-ip-forward",
            "passed": forward and no_way_back,
            "milestones": [
                {"id": "ip-forward-on", "passed": forward, "cause": None},
                {
                    "id": "no-way-back",
                    "passed": no_way_back,
                    "cause": None if no_way_back else "state-wrong",
                    "explanation": "the reply came back"
                    if not no_way_back
                    else "masquerade-missing",
                },
                {"id": "no-way-back-seen", "passed": True, "cause": None},  # the learner's ping
            ],
        }
    )


def test_a_failure_seen_stays_earned_when_the_learner_goes_ahead(tui_env: Path) -> None:
    # the real course: lesson 6 asks to see the reply go missing
    course = load_course(DEFAULT_LESSONS_DIR)
    lesson = course.find("6")
    assert [m.reaches_failure for m in lesson.milestones] == [False, True, False]
    assert [m.observes for m in lesson.milestones] == [False, False, True]
    session = Session("unit", course)
    # MASQUERADE before the failure was ever seen: nothing to keep
    ahead = session.earned(lesson, lesson6_report(True, False))
    assert ahead.passed is False
    # forwarding on, the ping is answered by nobody: seen, the lesson completes
    seen = session.earned(lesson, lesson6_report(True, True))
    assert session.record_report(lesson, seen) is True
    # then MASQUERADE (lesson 7's step): the ping now works, the lesson stays 2/2
    later = session.earned(lesson, lesson6_report(True, False))
    assert later.passed is True
    kept = later.milestones[1]
    assert kept.passed and kept.kept and kept.cause is None
    # a state milestone still says what the network does now
    off = session.earned(lesson, lesson6_report(False, False))
    assert off.passed is False
    assert off.milestones[0].passed is False and off.milestones[1].passed is True
    # and it survives a restart (progress on disk)
    again = Session("unit", course)
    assert again.earned(lesson, lesson6_report(True, False)).passed is True
    # a lesson with route clash and no-reply: both are failures to reach
    assert [m.id for m in course.find("3").milestones if m.reaches_failure] == [
        "two-routes",
        "netns1-limbo",
    ]


def test_the_letters_after_ctrl_bracket_all_show_at_80_columns() -> None:
    lines = band_lines("Ctrl+] pressed, now a letter:", 78)  # 80 columns less the padding
    assert all(line.cell_len <= 78 for line in lines) and len(lines) <= 5
    text = "\n".join(line.plain for line in lines)
    for key in KEYS:
        assert f" {key.letter}  {key.label}" in text  # a letter is never cut from its word
    assert " c  Shell" in text and " Esc  cancel" in text
