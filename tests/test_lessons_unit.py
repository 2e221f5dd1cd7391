"""Lesson loading is pure: folders of data in, lessons or one clear error out."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lab import lessons
from lab.errors import LabError
from lab.lessons import Course, parse_steps
from tests.conftest import FIXTURE_COURSE


def copy_course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    return root


def test_parse_steps_keeps_narration_and_continuations() -> None:
    steps = parse_steps(
        "#!/bin/bash\n# Make a namespace.\n# It is empty.\nip netns add a\n\n"
        "ip link add x \\\n  type veth peer name y\n# That is all.\n"
    )
    assert [s.command for s in steps] == [
        "ip netns add a",
        "ip link add x \\\n  type veth peer name y",
        "",
    ]
    assert steps[0].narration == ("Make a namespace.", "It is empty.")
    assert steps[2].narration == ("That is all.",)


def test_fixture_course_loads_in_order_with_variables() -> None:
    course = Course(FIXTURE_COURSE)
    assert [lesson.id for lesson in course.lessons] == ["01-pair", "02-outside"]
    first = course.find("1")
    assert course.find("01") is first and course.find("01-pair") is first
    assert first.milestones[0].args == {"ns": "box"}
    assert first.milestones[2].title == "box reaches the host (192.168.7.1)"
    assert "ip netns add box" in first.solution_script()
    assert course.next_after(first) is course.find(2)
    assert course.next_after(course.find(2)) is None


def test_unknown_lesson_names_the_known_ones() -> None:
    with pytest.raises(LabError, match="unknown lesson 'x'; the lessons are: 01-pair, 02-outside"):
        Course(FIXTURE_COURSE).find("x")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda r: (r / "01-pair" / "solution.sh").unlink(),
            "01-pair/solution.sh: file is missing",
        ),
        (
            lambda r: (r / "01-pair" / "lesson.toml").write_text("title = [unclosed"),
            "not valid TOML",
        ),
        (
            lambda r: (r / "01-pair" / "lesson.toml").write_text(
                'title = "t"\ngoal = "g"\n[[milestones]]\nid = "a"\ntitle = "x"\n'
                'check = "ip_forward"\n[[milestones]]\nid = "a"\ntitle = "y"\ncheck = "ip_forward"\n'
            ),
            "duplicate milestone id 'a'",
        ),
        (
            lambda r: (r / "01-pair" / "lesson.toml").write_text('title = "t"\ngoal = "g"\n'),
            "needs at least one [[milestones]] table",
        ),
        (
            lambda r: (r / "01-pair" / "lesson.toml").write_text(
                'title = "t"\ngoal = "g"\nhints = [""]\n[[milestones]]\nid = "a"\ntitle = "x"\ncheck = "c"\n'
            ),
            "'hints' must be a list of non-empty strings",
        ),
        (
            lambda r: (r / "01-pair" / "lesson.toml").write_text(
                'title = "t"\ngoal = "g"\n[[milestones]]\nid = "a"\ntitle = "{{ nope }}"\n'
                'check = "ip_forward"\n'
            ),
            "bad variable in title or args: 'nope' is undefined",
        ),
    ],
)
def test_malformed_lessons_get_one_clear_message(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    root = copy_course(tmp_path)
    mutate(root)
    with pytest.raises(LabError) as info:
        _ = Course(root).lessons
    assert message in info.value.message


def test_template_errors_name_the_file(tmp_path: Path) -> None:
    root = copy_course(tmp_path)
    (root / "01-pair" / "text.md.j2").write_text("Hello {{ no_such_variable }}\n")
    lesson = Course(root).find(1)
    with pytest.raises(
        LabError, match=r"01-pair/text.md.j2, line 1: template error: 'no_such_variable'"
    ):
        lesson.text()


def test_missing_lessons_folder(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="lessons folder not found"):
        _ = Course(tmp_path / "nope").lessons


def _jinja(value: str, variables: dict[str, object]) -> str:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return env.from_string(value).render(**variables)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def test_placeholders_are_filled_as_jinja_fills_them() -> None:
    """The fast path for ``{{ name }}`` gives Jinja2's text for every string of the real
    course, and hands anything else (tags, filters, stray braces, a missing name, a
    trailing newline: Jinja2 drops it) to Jinja2."""
    from lab.compat import tomllib
    from lab.lessons import DEFAULT_LESSONS_DIR, _substitute

    course = Course(DEFAULT_LESSONS_DIR)
    variables = course.variables
    strings = [
        s
        for path in sorted(DEFAULT_LESSONS_DIR.glob("*/lesson*.toml"))
        for s in _strings(tomllib.loads(path.read_text()))
        if "{{" in s
    ]
    assert len(strings) > 100
    for value in strings:
        assert _substitute(value, variables) == _jinja(value, variables), value
    odd = {"n": 5, "s": "x", "t": True, "f": 1.5, "none": "not a literal"}
    for value in ["{{n}}:{{ s }}", "a {{ t }} b {{  f  }}", "}} {{ n }} }", "{{ s }}{{s}}"]:
        assert _substitute(value, odd) == _jinja(value, odd), value
    for value in [
        "{{ n | string }}",
        "{{- n }}",
        "{% if n %}y{% endif %}",
        "{{{ n }}",
        "{# c #}{{ n }}",
        "{{ missing }}",
        "{{ none }}",
        "{{ n }}\n",
        "a\r\n{{ n }}",
    ]:
        assert _substitute(value, odd) is None, value
    assert course.find(5).milestones[0].title == "br0 has the address 172.18.0.1/16"


def test_two_folders_with_one_number_are_refused(tmp_path: Path) -> None:
    root = copy_course(tmp_path)
    shutil.copytree(root / "02-outside", root / "02-again")
    with pytest.raises(LabError, match="two lessons share a number"):
        Course(root).find("1")


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: only root keeps a cache")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setattr(lessons, "CACHE_DIR", where)
    return where


@needs_root
def test_a_course_read_once_comes_from_the_cache_until_a_file_changes(
    tmp_path: Path, cache_dir: Path
) -> None:
    root = copy_course(tmp_path)
    (root / "01-pair" / "start.sh").write_text("ip netns add {{ ns }}\n")
    first = Course(root).find(1)
    assert first.start_script() == "ip netns add box\n"
    assert len(list(cache_dir.iterdir())) == 1
    cached = lessons._CourseCache(root, first.lang).load()
    assert cached is not None and cached[0] == first
    assert cached[0].__dict__["_start"] == first.start_script()  # kept rendered
    again = Course(root).find(1)
    assert again == first and again.start_script() == first.start_script()
    # any file of the course counts: a variable, the script, even another lesson's file
    course_toml = root / "course.toml"
    course_toml.write_text(course_toml.read_text().replace("box", "cube"))
    changed = Course(root).find(1)
    assert changed.milestones[0].args == {"ns": "cube"}
    assert changed.start_script() == "ip netns add cube\n"
    (root / "02-outside" / "start.sh").write_text("# edited\n")
    assert lessons._CourseCache(root, first.lang).load() is None


@needs_root
def test_a_broken_lesson_is_never_served_from_the_cache(tmp_path: Path, cache_dir: Path) -> None:
    """Every command still reads a broken course as broken (one clear line), even
    right after it was read and cached whole."""
    root = copy_course(tmp_path)
    assert Course(root).find(1).id == "01-pair"
    (root / "02-outside" / "solution.sh").unlink()
    for _ in range(2):
        with pytest.raises(LabError, match=r"02-outside/solution\.sh: file is missing"):
            Course(root).find(1)


@needs_root
def test_a_cache_anyone_could_have_written_is_not_read(tmp_path: Path, cache_dir: Path) -> None:
    root = copy_course(tmp_path)
    Course(root).find(1)
    (path,) = cache_dir.iterdir()
    reader = lessons._CourseCache(root, "en")
    assert reader.load() is not None
    path.chmod(0o666)
    assert reader.load() is None
    path.chmod(0o600)
    path.write_bytes(b"not a pickle")
    assert reader.load() is None
    assert Course(root).find(1).id == "01-pair"  # read afresh, and cached again
    assert reader.load() is not None
