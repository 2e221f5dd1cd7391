"""The pure tests need no root: ``pytest -m "not root"`` passes as the user nobody.

Issue 14's promise to a newcomer without root. The run drops every privilege
(``setpriv --reuid=65534 --regid=65534 --clear-groups``), so a pure test that
quietly builds a namespace, writes under /run or /var/lib, or reads a root-only file
fails here. It costs one run of the quick tier (about 10 s on a quiet machine).

The interpreter must be one that nobody may run. A virtual environment made from a
Python under /root (pyenv, as on the machine CI runs on) is not: then a view of
this venv is made (a ``pyvenv.cfg``, the system's Python of the same version, and
this venv's site-packages), so that ``sys.executable`` in the run, and the
subprocesses the tests start with it, work as nobody.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.root  # only root can become nobody
NOBODY = 65534
DROP = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
# The interpreter imports the project and pytest, and can start itself again (the tests
# run ``sys.executable`` and the check server).
CAN_RUN = (
    "import os, subprocess, sys, pytest, lab\n"
    "subprocess.run([sys.executable, '-c', 'import lab'], check=True)\n"
    "print(os.geteuid())\n"
)


def _runs_as_nobody(python: str) -> bool:
    check = subprocess.run(
        [*DROP, python, "-c", CAN_RUN],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return check.returncode == 0 and check.stdout.strip() == str(NOBODY)


def _venv_view(where: Path) -> str | None:
    """A venv at ``where`` using the system's Python and this venv's packages."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    system = shutil.which(f"python{version}", path="/usr/local/bin:/usr/bin:/bin")
    if system is None:
        return None
    (where / "bin").mkdir(parents=True)
    (where / "bin" / "python").symlink_to(system)
    (where / "lib" / f"python{version}").mkdir(parents=True)
    (where / "lib" / f"python{version}" / "site-packages").symlink_to(
        sysconfig.get_paths()["purelib"]
    )
    (where / "pyvenv.cfg").write_text(
        f"home = {Path(system).parent}\ninclude-system-site-packages = false\nversion = {version}\n"
    )
    return str(where / "bin" / "python")


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder nobody may use (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="cnlab-nonroot-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_quick_tier_passes_as_nobody(scratch: Path) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    python = sys.executable
    if not _runs_as_nobody(python):
        view = _venv_view(scratch / "venv")
        assert view is not None and _runs_as_nobody(view), (
            f"neither {sys.executable} nor a system Python {sys.version_info[:2]} "
            "with this venv's packages runs as nobody"
        )
        python = view
    home = scratch / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(home),
    }
    run = subprocess.run(
        [*DROP, python, "-m", "pytest", "-q", "-m", "not root",
         "--basetemp", str(home / "pytest")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=False,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    summary = out.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    # The tier is a few hundred tests; far fewer means most were skipped or not collected.
    assert passed is not None and int(passed.group(1)) >= 150, summary
    assert "failed" not in summary and "error" not in summary, summary
