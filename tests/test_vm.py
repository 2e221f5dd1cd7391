"""The lab on a stock Debian 12 VM: the README's quick start and each use, booted for real.

``scripts/vm-test.sh`` builds (or takes from its cache) a debootstrap image of Debian 12
with its own kernel and systemd, boots it with QEMU and runs ``scripts/setup.sh``,
lessons 2 and 8, a graded class with the sandbox's limits, ``cnlab serve`` and a
comparison of the guest's network before and after (see the script). It takes minutes
(software emulation here; see README's testing section for the measured figures, and
the image build and bake are extra when their cache is cold), so it runs only in CI
(``CI=true``) or when asked for (``CNLAB_VM_TEST=1``).

The VM boots in the background as soon as the session has collected this test
(``tests/conftest.py`` calls :func:`start_early`), so its minutes of emulation overlap
the rest of the suite instead of adding to it; the test itself waits for the result.
The VM touches nothing the other tests look at: QEMU's user networking makes no host
link, route or rule, and its disks are files in the image cache.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration
SCRIPT = ROOT / "scripts" / "vm-test.sh"
WANTED = os.environ.get("CI") == "true" or os.environ.get("CNLAB_VM_TEST") == "1"
# The script gives the boot and the smoke 25 minutes, plus the image build and bake when
# they are not cached yet.
TIMEOUT_S = 40 * 60
NODE = "tests/test_vm.py::test_quick_start_and_each_use_on_a_stock_debian_12_vm"


class _Run:
    """The one background run of scripts/vm-test.sh of this session: its folder holds
    ``pid`` (its process group), ``log`` and, once it ended, ``rc``."""

    dir: Path | None = None


def start_early(nodeids: list[str]) -> None:
    """Start the VM now if this session will run its test (called after collection)."""
    if WANTED and NODE in nodeids and _Run.dir is None and os.geteuid() == 0:
        _start()


def _start() -> None:
    _Run.dir = Path(tempfile.mkdtemp(prefix="cnlab-vm-run-"))
    # Detached (setsid -f): its own session and process group, so that a timeout or the
    # session's end ends QEMU too, and not a descendant of this process, so that the tests
    # that count this process's children (grading, leaks) do not see it.
    subprocess.run(
        ["setsid", "-f", "sh", "-c", 'echo $$ > "$1/pid"; "$2" > "$1/log" 2>&1; echo $? > "$1/rc"',
         "vm-run", str(_Run.dir), str(SCRIPT)],
        check=True, timeout=30,
    )  # fmt: skip


def _wait(timeout: float) -> int | None:
    """The script's exit status, or None if it did not end within ``timeout`` seconds."""
    assert _Run.dir is not None
    rc = _Run.dir / "rc"
    deadline = time.monotonic() + timeout
    while not rc.exists() or not rc.read_text().strip():
        if time.monotonic() > deadline:
            return None
        time.sleep(1)
    return int(rc.read_text())


def stop() -> None:
    """End a run that is still going (the session ended without waiting for it)."""
    if _Run.dir is None:
        return
    pid = _Run.dir / "pid"
    if not (_Run.dir / "rc").exists() and pid.exists():
        _kill_session(int(pid.read_text()))
    shutil.rmtree(_Run.dir, ignore_errors=True)
    _Run.dir = None


def _kill_session(sid: int) -> None:
    """End every process of session ``sid`` (the run's: `timeout` puts QEMU in a process
    group of its own, but it stays in the session ``setsid`` made)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[3]) == sid:
                os.kill(int(entry.name), signal.SIGKILL)


def _output() -> str:
    assert _Run.dir is not None
    log = _Run.dir / "log"
    return log.read_text(errors="replace") if log.exists() else ""


@pytest.mark.skipif(
    not WANTED,
    reason="boots a VM for several minutes: runs in CI (CI=true) or with CNLAB_VM_TEST=1",
)
def test_quick_start_and_each_use_on_a_stock_debian_12_vm() -> None:
    if _Run.dir is None:  # not started at collection (e.g. run without tests/conftest.py)
        _start()
    code = _wait(TIMEOUT_S)
    log = _output()
    stop()  # ends it if it did not finish
    assert code is not None, f"scripts/vm-test.sh did not finish in {TIMEOUT_S} s:\n{log[-8000:]}"
    assert code == 0, log[-12000:]
    assert "pass (every step" in log, log[-4000:]
