"""An installed cnlab works like any Python tool: the built wheel carries what the lab needs.

The wheel is built the way pip and pipx build it (an isolated build, the setuptools that
``pyproject.toml`` asks for), installed in a fresh virtual environment outside the checkout,
and its ``cnlab`` must list the lessons (shipped inside the package), build lesson 1 (the
world's helper scripts from ``lab/assets``) and take the world down again. The contents of
the wheel are checked by name too: the Textual stylesheet, the browser page, every lesson.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, unique_world_name

pytestmark = pytest.mark.integration


def _run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    wheels = list(out.glob("cnlab-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_lessons_stylesheet_and_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "lab/tui/app.tcss" in names
    assert "lab/assets/sudo" in names
    assert "lab/assets/serve/index.html" in names
    assert "lab/_lessons/course.toml" in names
    assert "lab/locale/zh/LC_MESSAGES/cnlab.po" in names  # the code's Chinese strings
    for lesson in sorted((ROOT / "lessons").glob("[0-9][0-9]-*")):
        for required in ("lesson.toml", "text.md.j2", "start.sh", "solution.sh"):
            assert f"lab/_lessons/{lesson.name}/{required}" in names
    # The helpers a world puts first in PATH stay executable once installed.
    info = zipfile.ZipFile(wheel).getinfo("lab/assets/sudo")
    assert (info.external_attr >> 16) & 0o111


def test_installed_wheel_lists_builds_and_downs(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    installed = _run(
        [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("CNLAB_LESSONS", "PYTHONPATH")}
    cnlab = str(venv / "bin/cnlab")
    where = _run(
        [str(venv / "bin/python"), "-c", "import lab; print(lab.__file__)"], cwd=tmp_path, env=env
    )
    assert str(venv) in where.stdout, where.stdout + where.stderr  # not the checkout's lab

    listed = _run([cnlab, "list"], cwd=tmp_path, env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "namespace" in listed.stdout.lower()
    chinese = {**env, "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}
    listed = _run([cnlab, "list", "--world", "pkg-zh-none"], cwd=tmp_path, env=chinese)
    assert "属于自己的网络栈" in listed.stdout, listed.stdout + listed.stderr  # lesson 1 in Chinese
    wrong = _run([cnlab, "lsit"], cwd=tmp_path, env=chinese)
    assert "未知的子命令" in wrong.stderr, wrong.stderr  # and the code's own strings

    world = unique_world_name("pkg")
    try:
        reset = _run([cnlab, "reset", "1", "--world", world], cwd=tmp_path, env=env, timeout=120)
        assert reset.returncode == 0, reset.stdout + reset.stderr
        status = _run([cnlab, "status", "--world", world], cwd=tmp_path, env=env, timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
    finally:
        down = _run([cnlab, "down", "--world", world], cwd=tmp_path, env=env, timeout=60)
    assert down.returncode == 0, down.stderr
