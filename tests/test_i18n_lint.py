"""Every word a learner reads exists in Chinese too, with its facts intact (no root).

The lesson part is strict only for lessons that have Chinese files until
``lab.i18n_lint.STRICT_LESSONS`` is turned; untranslated lessons are listed in the test's
output. The mutation tests prove each rule catches what it is for.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab import i18n_lint
from lab.lessons import DEFAULT_LESSONS_DIR, Course

COURSE = Course(DEFAULT_LESSONS_DIR)
LESSON_1 = DEFAULT_LESSONS_DIR / "01-namespace"


def test_the_catalog_translates_every_marked_string_with_its_placeholders() -> None:
    assert i18n_lint.catalog_problems("zh") == []


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=lambda lesson: lesson.id)
def test_every_translated_lesson_is_complete(lesson: object) -> None:
    path = lesson.path  # type: ignore[attr-defined]
    assert i18n_lint.lesson_problems(path, COURSE.variables, "zh") == []


def test_every_lesson_is_in_chinese_and_the_lint_is_strict() -> None:
    assert i18n_lint.untranslated(DEFAULT_LESSONS_DIR, "zh") == []
    assert i18n_lint.STRICT_LESSONS


def test_strict_switch_fails_an_untranslated_lesson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lesson = _copy(tmp_path)
    for name in ("lesson.zh.toml", "text.zh.md.j2", "solution.zh.sh"):
        (lesson / name).unlink()
    monkeypatch.setattr(i18n_lint, "STRICT_LESSONS", False)
    monkeypatch.delenv("CNLAB_I18N_STRICT", raising=False)
    assert i18n_lint.lesson_problems(lesson, COURSE.variables) == []
    monkeypatch.setattr(i18n_lint, "STRICT_LESSONS", True)
    assert i18n_lint.lesson_problems(lesson, COURSE.variables) == [
        "not translated into zh (lesson.zh.toml, text.zh.md.j2, solution.zh.sh)"
    ]
    monkeypatch.setattr(i18n_lint, "STRICT_LESSONS", False)
    monkeypatch.setenv("CNLAB_I18N_STRICT", "1")
    assert i18n_lint.lesson_problems(lesson, COURSE.variables) != []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "01-namespace"
    shutil.copytree(LESSON_1, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "lesson.zh.toml",
            'title = "属于自己的网络栈"',
            'title = "A network stack"',
            "title: not translated",
        ),
        (
            "lesson.zh.toml",
            "网络命名空间 {{ ns0 }} 已存在",
            "网络命名空间 netns0 已存在",
            "variables differ",
        ),
        (
            "lesson.zh.toml",
            "`iptables -N` 用来创建链",
            "`iptables -X` 用来创建链",
            "code spans differ",
        ),
        ("lesson.zh.toml", 'netns0-exists = "', 'netns0-gone = "', "names no milestone"),
        (
            "text.zh.md.j2",
            "sudo ip netns add {{ ns0 }}\n",
            "sudo ip netns add ns0\n",
            "code blocks differ",
        ),
        ("text.zh.md.j2", "| 没有路由          |", "| 没有路由 |", "diagram 1 is not as wide"),
        ("text.zh.md.j2", "{{ article_url }}", "https://example.org/", "variables differ"),
        ("solution.zh.sh", "sudo ip netns add {{ ns0 }}", "sudo ip netns add x", "commands differ"),
        ("solution.zh.sh", "# 完全没有路由。", "# No routes at all.", "narration not translated"),
    ],
)
def test_the_lint_catches(tmp_path: Path, file: str, old: str, new: str, expected: str) -> None:
    lesson = _copy(tmp_path)
    _edit(lesson / file, old, new)
    problems = i18n_lint.lesson_problems(lesson, COURSE.variables)
    assert any(expected in p for p in problems), problems


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    lesson = _copy(tmp_path)
    (lesson / "solution.zh.sh").unlink()
    assert "solution.zh.sh: missing" in i18n_lint.lesson_problems(lesson, COURSE.variables)


@pytest.mark.parametrize(
    ("msgid", "msgstr", "expected"),
    [
        ("world {world} destroyed", "世界 {世界} 已销毁", "placeholders differ"),
        ("world {world} destroyed", "世界已销毁", "placeholders differ"),
        ("{n!r} items", "{n} 项", "placeholders differ"),
        ("usage: %s", "用法：", "%-placeholders differ"),
        ("[b]F1[/b] help", "F1 帮助", "markup differ"),
        ("{a} {{literal}}", "{a} {literal}", "placeholders differ"),
    ],
)
def test_placeholders_are_checked(msgid: str, msgstr: str, expected: str) -> None:
    assert any(expected in p for p in i18n_lint.placeholder_problems(msgid, msgstr))
    assert i18n_lint.placeholder_problems(msgid, msgid) == []


def test_an_untranslated_or_stale_catalog_entry_is_named(tmp_path: Path) -> None:
    po = tmp_path / "cnlab.po"
    text = (i18n_lint.ROOT / "lab/locale/zh/LC_MESSAGES/cnlab.po").read_text(encoding="utf-8")
    text = text.replace('msgstr "已中断"', 'msgstr ""')
    text += '\nmsgid "a string the code no longer has"\nmsgstr "代码里已经没有的字符串"\n'
    po.write_text(text, encoding="utf-8")
    problems = i18n_lint.catalog_problems("zh", po=po)
    assert "'interrupted': no zh translation" in problems
    assert any("no longer in the code" in p for p in problems)
