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
    script = f'set -e\n{setup}\nexec "$0" -c "$1"'
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


#: A stand-in for the real sudo (cloud images, Vagrant boxes): like sudoers'
#: ``secure_path``, it replaces PATH before running the command.
FAKE_SUDO = """#!/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
echo fake-real-sudo >&2
exec "$@"
"""

#: /run noexec as on a stock Debian 12, and a real sudo in /usr/bin (an overlay
#: on /usr/bin inside this private namespace only).
STOCK_DEBIAN = f"""{NOEXEC_RUN}
mount -t tmpfs tmpfs /mnt && mkdir /mnt/up /mnt/work && cat > /mnt/up/sudo <<'END'
{FAKE_SUDO}END
chmod 755 /mnt/up/sudo
mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=/mnt/up,workdir=/mnt/work /usr/bin
"""


def test_helpers_run_with_a_noexec_run_and_a_real_sudo() -> None:
    before = host_fingerprint()
    out = in_container(
        """
        from lab.world import World
        world = World("stock")
        try:
            world.create()
            for script in (
                "sudo ip netns add x && ip netns list",
                "sudo iptables -t nat -A POSTROUTING -s 172.18.0.0/16 !-o br0 -j MASQUERADE",
                "PATH=/usr/bin:/bin sudo iptables -A FORWARD !-o br0 -j ACCEPT",
                "/usr/bin/sudo modprobe br_netfilter",
                "sudo modprobe br_netfilter",
                "cd ~ && sudo ./inspect-net-stack.sh | head -1",
            ):
                result = world.run(script)
                print(f"--- {script}\\n{result.returncode}\\n{result.stdout}{result.stderr}")
        finally:
            world.destroy()
        """,
        setup=STOCK_DEBIAN,
    )
    parts = out.split("--- ")[1:]
    assert len(parts) == 6, out
    assert parts[0].splitlines()[1:3] == ["0", "x"], out
    for part in parts[1:3]:
        assert "cnlab: '!' must stand apart" in part, out
        assert "write '! -o' instead of '!-o'" in part, out
    for part in parts[3:5]:
        assert "cnlab: br_netfilter is already active" in part, out
    assert parts[5].splitlines()[1:3] == ["0", "> Network devices"], out
    assert "Permission denied" not in out
    assert "fake-real-sudo" not in out  # the world's sudo stands in for the real one
    assert host_fingerprint() == before
