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

import os
import signal
import subprocess
import tempfile
from typing import IO

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
    """The one background run of scripts/vm-test.sh of this session."""

    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None


def start_early(nodeids: list[str]) -> None:
    """Start the VM now if this session will run its test (called after collection)."""
    if WANTED and NODE in nodeids and _Run.proc is None and os.geteuid() == 0:
        _start()


def _start() -> None:
    _Run.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
    # Its own process group, so that a timeout (or the session's end) also ends QEMU.
    _Run.proc = subprocess.Popen(
        [str(SCRIPT)], stdout=_Run.log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop() -> None:
    """End a run that is still going (the session ended without waiting for it)."""
    proc = _Run.proc
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if _Run.log is not None:
        _Run.log.close()
    _Run.proc = _Run.log = None


def _output() -> str:
    assert _Run.log is not None
    _Run.log.seek(0)
    return _Run.log.read().decode("utf-8", errors="replace")


@pytest.mark.skipif(
    not WANTED,
    reason="boots a VM for several minutes: runs in CI (CI=true) or with CNLAB_VM_TEST=1",
)
def test_quick_start_and_each_use_on_a_stock_debian_12_vm() -> None:
    if _Run.proc is None:  # run on its own (e.g. by node id from a plugin-less caller)
        _start()
    assert _Run.proc is not None
    try:
        _Run.proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(_Run.proc.pid, signal.SIGKILL)
        _Run.proc.wait()
        pytest.fail(f"scripts/vm-test.sh did not finish in {TIMEOUT_S} s:\n{_output()[-8000:]}")
    log = _output()
    code = _Run.proc.returncode
    stop()
    assert code == 0, log[-12000:]
    assert "pass (every step" in log, log[-4000:]
