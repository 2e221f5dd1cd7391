"""Check kinds' typed argument specs: validated at lesson load, and the docs made from them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checks import specs
from checks.kinds import KINDS
from lab.errors import LabError
from lab.lessons import Course
from tests.conftest import FIXTURE_COURSE, ROOT


def test_every_kind_has_a_spec_and_every_spec_a_kind() -> None:
    assert set(specs.SPECS) == set(KINDS)


def test_lesson_format_doc_is_generated_from_the_specs() -> None:
    text = specs.DOC.read_text()
    assert specs.BEGIN in text and specs.END in text
    assert specs.render_doc(text) == text, "run: python -m checks.specs --write"
    for kind in specs.SPECS:
        assert f"| `{kind}` |" in text


def test_the_real_course_loads_and_args_are_typed() -> None:
    course = Course(ROOT / "lessons")
    lesson = course.find(8)
    listening = next(m for m in lesson.milestones if m.check == "listening")
    assert listening.args["port"] == 5000  # "{{ port }}" renders a string; the spec makes it int
    ping = next(m for m in course.find(6).milestones if m.check == "ping")
    assert ping.args["expect"] == "no-reply" and ping.args["cause"] == "masquerade-missing"


def test_defaults_are_filled_in() -> None:
    parsed = specs.parse("ip_forward", {})
    assert parsed.as_args() == {"ns": "host", "value": 1}


@pytest.mark.parametrize(
    ("check", "args", "message"),
    [
        ("ping", {"from": "a", "to": "10.0.0.1", "answerd_by": "b"}, "no argument 'answerd_by'"),
        ("ping", {"from": "a"}, "needs the argument 'to'"),
        ("ping", {"from": "a", "to": "10.0.0.300"}, "not a valid IPv4 address"),
        ("ping", {"from": "a", "to": "10.0.0.1", "expect": "maybe"}, "must be one of"),
        ("ping", {"from": "a", "to": "10.0.0.1", "cause": "gremlins"}, "cause code"),
        ("address", {"ns": "a", "dev": "e", "address": "10.0.0.1"}, "prefix length"),
        ("http", {"from": "a", "to": "10.0.0.1", "port": "http"}, "whole number"),
        ("http", {"from": "a", "to": "10.0.0.1", "port": 70000}, "port from 1 to 65535"),
        ("link", {"ns": "a", "name": "x", "up": "yes"}, "true or false"),
        ("dnat", {"chain": "INPUT", "dst": "1.1.1.1", "port": 1, "to": "2.2.2.2:1"}, "one of"),
        ("dnat", {"chain": "OUTPUT", "dst": "1.1.1.1", "port": 1, "to": "2.2.2.2"}, "ip:port"),
        ("teleport", {}, "unknown check kind 'teleport'"),
    ],
)
def test_bad_args_are_one_clear_line(check: str, args: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(specs.SpecError) as caught:
        specs.parse(check, args)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_key_names_the_file_and_the_milestone(tmp_path: Path) -> None:
    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    toml = root / "02-outside" / "lesson.toml"
    toml.write_text(toml.read_text().replace('to = "8.8.8.8"', 'to = "8.8.8.8", tos = 1'))
    with pytest.raises(LabError) as caught:
        Course(root).find(2)
    assert str(toml) in caught.value.message
    assert "milestone 1" in caught.value.message and "'tos'" in caught.value.message
