"""``scripts/setup.sh`` (what ``./run`` runs first) repairs what an earlier run left half-made.

Each test runs the real script in a scratch copy of the repository whose project has no
dependencies (so pip installs in seconds), as root, on this machine:

* a ``.venv`` without pip (a first run on a machine without python3-venv) or without
  the stamp of a finished install (a run cut short) is made again, and works;
* a finished ``.venv`` is left alone;
* a machine without python3 gets python3-venv in the same apt round (apt is played by a
  script that records what it is asked for);
* Python 3.10 (Ubuntu 22.04) is accepted, 3.9 is refused in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

PROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "cnlab-setup-probe"
version = "0"

[project.optional-dependencies]
dev = []

[tool.setuptools]
packages = []
"""

PYENV = Path("/root/.pyenv/versions")


def _python(version: str) -> str | None:
    """A Python ``version`` (e.g. "3.10") on this machine, if there is one."""
    found = shutil.which(f"python{version}")
    if found and _version_of(found) == version:
        return found
    for candidate in sorted(PYENV.glob(f"{version}.*/bin/python{version}")):
        return str(candidate)
    return None


def _version_of(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    return tmp_path


def setup(repo: Path, python: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if python:
        env["CNLAB_PYTHON"] = python
    env.pop("CNLAB_SETUP_TEST", None)
    return subprocess.run(
        ["bash", str(repo / "scripts" / "setup.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def venv_works(repo: Path) -> bool:
    python = repo / ".venv" / "bin" / "python"
    check = subprocess.run([str(python), "-c", "import pip"], capture_output=True, check=False)
    return check.returncode == 0 and (repo / ".venv" / ".cnlab-installed").is_file()


def test_a_venv_without_pip_is_made_again(repo: Path) -> None:
    python = shutil.which("python3")
    assert python
    subprocess.run([python, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    assert not venv_works(repo)
    out = setup(repo)
    assert out.returncode == 0, out.stderr
    assert "incomplete" in out.stderr
    assert venv_works(repo)


def test_a_venv_without_the_stamp_is_made_again_and_a_good_one_kept(repo: Path) -> None:
    out = setup(repo)
    assert out.returncode == 0, out.stderr
    assert venv_works(repo)
    marker = repo / ".venv" / "made-by-the-first-run"
    marker.touch()
    # a finished venv is left alone
    again = setup(repo)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert marker.exists()
    # a run cut short before the stamp: made again
    (repo / ".venv" / ".cnlab-installed").unlink()
    out = setup(repo)
    assert out.returncode == 0, out.stderr
    assert "incomplete" in out.stderr
    assert not marker.exists()
    assert venv_works(repo)


def test_python_3_10_is_enough(repo: Path) -> None:
    python = _python("3.10")
    if python is None:
        pytest.skip("no Python 3.10 on this machine")
    out = setup(repo, python)
    assert out.returncode == 0, out.stderr
    assert _version_of(str(repo / ".venv" / "bin" / "python")) == "3.10"
    assert venv_works(repo)


def test_python_3_9_is_refused_in_one_line(repo: Path) -> None:
    python = _python("3.9")
    if python is None:
        pytest.skip("no Python 3.9 on this machine")
    out = setup(repo, python)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"setup: cnlab needs Python 3.10 or newer (found Python {_version_of_full(python)})"
    ]
    assert not (repo / ".venv").exists()


def _version_of_full(python: str) -> str:
    out = subprocess.run([python, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().removeprefix("Python ")


def test_a_machine_without_python3_gets_venv_support_in_the_same_round(
    repo: Path, tmp_path: Path
) -> None:
    """The first ./run on a machine without python3 installed python3 but not python3-venv,
    and the venv half-formed. apt is played by a script that records what it is asked for
    (and "installs" python3 by linking the real one); everything else is real."""
    real_python = Path(sys.base_prefix) / "bin" / "python3"  # not a pyenv shim
    assert real_python.exists()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    (bin_dir / "apt-get").write_text(
        "#!/bin/bash\n"
        f'echo "$*" >> {log}\n'
        'if [ "$1" = install ]; then\n'
        '  for p in "$@"; do\n'
        f'    [ "$p" = python3 ] && {shutil.which("ln")} -sf {real_python} {bin_dir}/python3\n'
        "  done\n"
        "fi\n"
        "exit 0\n"
    )
    (bin_dir / "apt-get").chmod(0o755)
    for tool in [
        "bash",
        "id",
        "uname",
        "sha256sum",
        "cut",
        "cat",
        "sort",
        "rm",
        "dirname",
        "env",
        "ip",
        "iptables",
        "ping",
        "curl",
        "nsenter",
        "unshare",
        "tmux",
        "ps",
        "git",
        "nft",
        "slirp4netns",
    ]:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    assert not (bin_dir / "python3").exists()
    out = subprocess.run(
        [str(bin_dir / "bash"), str(repo / "scripts" / "setup.sh")],
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/root")},
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    installs = [line.split() for line in log.read_text().splitlines() if line.startswith("install")]
    assert len(installs) == 1, installs
    assert {"python3", "python3-venv"} <= set(installs[0]), installs
    assert venv_works(repo)
