"""Language choice, translated code strings and Chinese lesson content: pure, no root."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import i18n
from lab.errors import LabError
from lab.lessons import DEFAULT_LESSONS_DIR, Course, load_course


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("zh", "zh"),
        ("zh_CN.UTF-8", "zh"),
        ("zh-Hans", "zh"),
        ("zh_TW", "zh"),
        ("en_US.UTF-8", "en"),
        ("C", "en"),
        ("C.UTF-8", "en"),
        ("POSIX", "en"),
        ("fr_FR", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize(value: str | None, want: str | None) -> None:
    assert i18n.normalize(value) == want


@pytest.mark.parametrize(
    ("env", "want"),
    [
        ({}, None),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL before LANG
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "C"}, "zh"),
        ({"LANGUAGE": "fr:zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),  # first it speaks
        ({"LANGUAGE": "fr", "LANG": "zh_CN.UTF-8"}, "zh"),
    ],
)
def test_environment(env: dict[str, str], want: str | None) -> None:
    assert i18n.from_environment(env) == want


def test_resolve_order() -> None:
    zh_env = {"LANG": "zh_CN.UTF-8"}
    assert i18n.resolve("en", "zh", zh_env) == "en"  # --lang first
    assert i18n.resolve(None, "en", zh_env) == "en"  # then the saved choice
    assert i18n.resolve(None, None, zh_env) == "zh"  # then the environment
    assert i18n.resolve(None, None, {}) == "en"


def test_set_language_refuses_an_unknown_one() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        i18n.set_language("fr")


def test_gettext_follows_the_current_language() -> None:
    msg = "unknown lesson {lesson}; the lessons are: {known}"
    assert i18n._(msg) == msg
    i18n.set_language("zh")
    assert i18n._(msg) != msg and "{lesson}" in i18n._(msg)
    with pytest.raises(LabError, match="没有课程"):
        load_course(lang="zh").find("99")


def test_catalog_compiles_the_po_when_no_mo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(i18n.LOCALE_DIR / "zh" / "LC_MESSAGES" / "cnlab.po", folder / "cnlab.po")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_catalogs", {})
    found = i18n.catalog("zh").gettext("unknown lesson {lesson}; the lessons are: {known}")
    assert "没有课程" in found


def test_width_counts_cells() -> None:
    assert i18n.width("abc") == 3
    assert i18n.width("主机") == 4
    assert i18n.width("（）") == 4
    assert i18n.ljust("网桥", 6) == "网桥  "
    assert i18n.width(i18n.ljust("br0 网桥", 10)) == 10


def test_join_cjk_lines_joins_prose_not_code_or_lists() -> None:
    source = (
        "第一行\n第二行。\n\n- 一\n- 二\n\n```\n主机\n命名空间\n```\n见 `ip`：\n**网桥**\nsee\nthis"
    )
    joined = i18n.join_cjk_lines(source)
    assert joined.startswith("第一行第二行。\n\n- 一\n- 二\n")
    assert "```\n主机\n命名空间\n```" in joined
    assert "见 `ip`：**网桥**\nsee\nthis" in joined


def test_lesson_one_reads_in_chinese() -> None:
    en = Course(DEFAULT_LESSONS_DIR, "en").lessons[0]
    zh = Course(DEFAULT_LESSONS_DIR, "zh").lessons[0]
    assert zh.lang == "zh" and en.lang == "en"
    assert zh.title == "属于自己的网络栈" and en.title == "A network stack of its own"
    assert "netns0" in zh.goal and "{{" not in zh.goal
    assert len(zh.hints) == len(en.hints)
    assert [m.id for m in zh.milestones] == [m.id for m in en.milestones]
    assert [m.args for m in zh.milestones] == [m.args for m in en.milestones]
    titles = {m.id: m.title for m in zh.milestones}
    assert titles["netns0-exists"] == "网络命名空间 netns0 已存在"
    assert "{{" not in titles["netns0-stack-seen"]
    assert "网络命名空间" in zh.text() and "sudo ip netns add netns0" in zh.text()
    zh_steps, en_steps = zh.solution_steps(), en.solution_steps()
    assert [s.command for s in zh_steps] == [s.command for s in en_steps]
    assert zh_steps[0].narration != en_steps[0].narration
    assert zh.solution_script() == en.solution_script()


def test_untranslated_lesson_stays_english() -> None:
    course = Course(DEFAULT_LESSONS_DIR, "zh")
    untranslated = [
        lesson for lesson in course.lessons if not (lesson.path / "lesson.zh.toml").exists()
    ]
    for lesson in untranslated:
        english = Course(DEFAULT_LESSONS_DIR, "en").find(lesson.id)
        assert lesson.title == english.title and lesson.text() == english.text()


def _course_with(tmp_path: Path, zh_toml: str) -> Course:
    root = tmp_path / "course"
    shutil.copytree(DEFAULT_LESSONS_DIR, root, ignore=shutil.ignore_patterns("0[2-9]-*", "10-*"))
    (root / "01-namespace" / "lesson.zh.toml").write_text(zh_toml, encoding="utf-8")
    return Course(root, "zh")


@pytest.mark.parametrize(
    ("zh_toml", "message"),
    [
        ("title = [", "not valid TOML"),
        ('colour = "红"', "unknown field"),
        ('hints = ["一"]', "1 hints, but lesson.toml has 5"),
        ('[milestones]\nno-such = "无"', "names no milestone"),
        ('title = ""', "'title' must be a non-empty string"),
    ],
)
def test_bad_translation_is_one_line(tmp_path: Path, zh_toml: str, message: str) -> None:
    with pytest.raises(LabError, match=message):
        _ = _course_with(tmp_path, zh_toml).lessons


def test_partial_translation_keeps_english_for_the_rest(tmp_path: Path) -> None:
    lesson = _course_with(tmp_path, 'title = "只有标题"').lessons[0]
    assert lesson.title == "只有标题"
    assert lesson.goal.startswith("Create the network namespace netns0")


def test_a_probes_words_in_chinese_the_kernels_as_they_are() -> None:
    from checks.kinds import probe_words

    i18n.set_language("zh")
    assert probe_words("no reply within 0.4 s") == "0.4 秒内没有回复"
    assert probe_words("lost: 没有路由") == "丢失：没有路由"
    assert probe_words("Network is unreachable") == "Network is unreachable"
    i18n.set_language("en")
    assert probe_words("no reply within 0.4 s") == "no reply within 0.4 s"
