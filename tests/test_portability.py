"""The world on machines unlike the one the lab is built on.

A stock Debian 12 mounts ``/run`` with ``noexec``; containers run cnlab in a
non-initial mount namespace. Each test here recreates such a machine inside a
private mount namespace of its own (``unshare -m``, then a fresh ``noexec``
tmpfs on ``/run``), so the real host is never changed: everything the test
mounts vanishes with that namespace.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT, host_fingerprint

pytestmark = pytest.mark.integration

#: Run by ``sh`` inside the private mount namespace before the Python code.
NOEXEC_RUN = "mount -t tmpfs -o noexec,nosuid,nodev,mode=0755 tmpfs /run"


def in_container(code: str, setup: str = NOEXEC_RUN, timeout: float = 120) -> str:
    """Run Python ``code`` (with ``lab`` importable) in a private mount namespace
    where ``setup`` ran first; return its output, failing the test on a non-zero exit."""
    script = f'{setup} && exec "$0" -c "$1"'
    proc = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            sys.executable,
            textwrap.dedent(code),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_twenty_worlds_in_a_row_inside_a_container() -> None:
    before = host_fingerprint()
    out = in_container(
        """
        from lab.world import World
        for i in range(20):
            world = World(f"c{i}")
            try:
                world.create()
                assert world.state() == "ready", world.state()
            finally:
                world.destroy()
        print("built 20")
        """
    )
    assert "built 20" in out
    assert host_fingerprint() == before
