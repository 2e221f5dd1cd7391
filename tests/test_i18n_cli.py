"""The command line in Chinese: --lang on any verb, remembered, else the locale (no root)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cnlab, unique_world_name

NO_LOCALE = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}


def run(state: Path, *args: str, **env: str) -> tuple[int, str, str]:
    done = cnlab(*args, env={**NO_LOCALE, "CNLAB_STATE_DIR": str(state), **env})
    return done.returncode, done.stdout, done.stderr


def test_lang_is_remembered_with_the_progress(tmp_path: Path) -> None:
    code, out, _err = run(tmp_path, "list")
    assert code == 0 and "A network stack of its own" in out
    code, out, _err = run(tmp_path, "list", "--lang", "zh")  # after the verb
    assert code == 0 and "属于自己的网络栈" in out
    saved = json.loads((tmp_path / "default" / "progress.json").read_text())
    assert saved["lang"] == "zh"
    code, out, _err = run(tmp_path, "list")  # remembered
    assert "属于自己的网络栈" in out
    code, out, _err = run(tmp_path, "--lang", "en", "list")  # before the verb
    assert "A network stack of its own" in out
    assert json.loads((tmp_path / "default" / "progress.json").read_text())["lang"] == "en"


def test_the_locale_chooses_when_nothing_was_chosen(tmp_path: Path) -> None:
    _code, out, _err = run(tmp_path, "list", LANG="zh_CN.UTF-8")
    assert "属于自己的网络栈" in out
    _code, out, _err = run(tmp_path, "list", LANGUAGE="zh_CN:en", LANG="en_US.UTF-8")
    assert "属于自己的网络栈" in out
    assert not (tmp_path / "default" / "progress.json").exists()  # nothing chosen, nothing saved


def test_json_keeps_machine_fields_english(tmp_path: Path) -> None:
    _code, out, _err = run(tmp_path, "list", "--json", "--lang", "zh")
    rows = json.loads(out)["lessons"]
    assert rows[0]["id"] == "01-namespace" and rows[0]["title"] == "属于自己的网络栈"
    assert set(rows[0]) == {"id", "number", "title", "milestones", "passed", "completed", "current"}


def test_errors_and_help_in_chinese(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "--lang", "zh", "lsit")
    assert code == 2 and "未知的子命令 'lsit'" in err and "'list'" in err
    code, out, err = run(tmp_path, "--lang", "zh", "check", "--help", COLUMNS="80")
    assert code == 0 and "用法：" in out and "对照正在运行的世界检查" in out
    from lab.i18n import width

    assert max(width(line) for line in out.splitlines()) <= 80, out  # wrapped by cells
    code, out, err = run(tmp_path, "--lang", "fr", "list")
    assert code == 2 and "--lang" in err and len(err.strip().splitlines()) == 1


def test_list_columns_align_by_terminal_cells(tmp_path: Path) -> None:
    from lab.i18n import width

    _code, out, _err = run(tmp_path, "--lang", "zh", "list")
    first = out.splitlines()[0]
    count_at = width(first[: first.rindex(" ")])
    second = out.splitlines()[1]
    assert width(second[: second.rindex(" ")]) == count_at


@pytest.mark.integration
def test_check_explains_a_failure_in_chinese(tmp_path: Path) -> None:
    """A real world at lesson 2's start (about 1 s): the explanation is Chinese, the
    machine fields of --json stay English."""
    world = unique_world_name("zh")
    env = {**NO_LOCALE, "CNLAB_STATE_DIR": str(tmp_path)}
    try:
        assert cnlab("--world", world, "reset", "2", env=env).returncode == 0
        done = cnlab("--world", world, "check", "--lang", "zh", env=env)
        assert done.returncode == 1
        assert "个里程碑" in done.stdout
        assert "原因：link-missing —— 里程碑需要的接口不存在" in done.stdout
        assert "host 里没有接口 veth0。" in done.stdout
        assert "netns0 只有回环接口" in done.stdout
        report = json.loads(cnlab("--world", world, "check", "--json", env=env).stdout)
        first = report["milestones"][0]
        assert (first["id"], first["cause"]) == ("veth0-up", "link-missing")
        assert first["explanation"] == "host 里没有接口 veth0。"  # remembered: still Chinese
        english = json.loads(
            cnlab("--world", world, "check", "--json", "--lang", "en", env=env).stdout
        )
        assert english["milestones"][0]["explanation"] == "There is no interface veth0 in host."
    finally:
        cnlab("--world", world, "down", env=env)


@pytest.mark.integration
def test_dev_check_lang_zh_proves_a_lesson_and_its_translation(tmp_path: Path) -> None:
    """One real proof of lesson 1 (about 3 s); an instructor's --lang is not remembered."""
    code, out, err = run(tmp_path, "dev", "check", "1", "--lang", "zh")
    assert code == 0, out + err
    assert out.startswith("ok   01-namespace")
    assert not (tmp_path / "default" / "progress.json").exists()


@pytest.mark.integration
def test_grade_lang_zh_words_in_chinese_machine_fields_in_english(tmp_path: Path) -> None:
    """One submission graded in its own sandboxed world (about 2 s)."""
    submission = tmp_path / "one.sh"
    submission.write_text("sudo iptables -N ROOT_NS\n", encoding="utf-8")
    code, out, err = run(tmp_path, "grade", "1", str(submission), "--lang", "zh", "--jobs", "1")
    assert code == 0, err
    graded = json.loads(out)["submissions"][0]["milestones"]
    missing = next(m for m in graded if m["id"] == "netns0-exists")
    assert (missing["passed"], missing["cause"]) == (False, "netns-missing")
    assert missing["title"] == "网络命名空间 netns0 已存在"
    assert missing["explanation"].startswith("没有名为 netns0 的网络命名空间")
