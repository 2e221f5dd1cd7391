"""The world on machines unlike the one the lab is built on.

A stock Debian 12 mounts ``/run`` with ``noexec``; containers run cnlab in a
non-initial mount namespace. Each test here recreates such a machine inside a
private mount namespace of its own (``unshare -m``, then a fresh ``noexec``
tmpfs on ``/run``), so the real host is never changed: everything the test
mounts vanishes with that namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.world import RUN_ROOT, lock_path
from tests.conftest import FIXTURE_COURSE, ROOT, cnlab, host_fingerprint, unique_world_name

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

#: /run noexec as on a stock Debian 12, a real sudo in /usr/bin (an overlay on
#: /usr/bin inside this private namespace only) and a tool of the machine's own in
#: /usr/local/sbin.
STOCK_DEBIAN = f"""{NOEXEC_RUN}
mount -t tmpfs tmpfs /mnt && mkdir /mnt/up /mnt/work && cat > /mnt/up/sudo <<'END'
{FAKE_SUDO}END
chmod 755 /mnt/up/sudo
mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=/mnt/up,workdir=/mnt/work /usr/bin
mount -t tmpfs tmpfs /usr/local/sbin && printf '#!/bin/sh\necho machine-tool\n' > /usr/local/sbin/mytool
chmod 755 /usr/local/sbin/mytool
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
                "mytool",
            ):
                result = world.run(script)
                print(f"--- {script}\\n{result.returncode}\\n{result.stdout}{result.stderr}")
        finally:
            world.destroy()
        """,
        setup=STOCK_DEBIAN,
    )
    parts = out.split("--- ")[1:]
    assert len(parts) == 7, out
    assert parts[0].splitlines()[1:3] == ["0", "x"], out
    for part in parts[1:3]:
        assert "cnlab: '!' must stand apart" in part, out
        assert "write '! -o' instead of '!-o'" in part, out
    for part in parts[3:5]:
        assert "cnlab: br_netfilter is already active" in part, out
    assert parts[5].splitlines()[1:3] == ["0", "> Network devices"], out
    assert parts[6].splitlines()[1:3] == ["0", "machine-tool"], out  # the machine's stay
    assert "Permission denied" not in out
    assert "fake-real-sudo" not in out  # the world's sudo stands in for the real one
    assert host_fingerprint() == before


@pytest.fixture
def cap_env(tmp_path: Path) -> dict[str, str]:
    return {"CNLAB_LESSONS": str(FIXTURE_COURSE), "CNLAB_STATE_DIR": str(tmp_path / "state")}


@pytest.mark.parametrize("cap", ["sys_admin", "net_admin", "net_raw"])
@pytest.mark.parametrize(
    "verb",
    [["reset", "1"], ["check"], ["solve"], ["shell", "-c", "true"], ["down"], ["serve"], []],
)
def test_root_without_a_capability_gets_one_line(
    cap: str, verb: list[str], cap_env: dict[str, str]
) -> None:
    """Root in a container with default capabilities: one line naming what is missing,
    a non-zero exit, and nothing left behind (no world, no lock file)."""
    name = unique_world_name("cap")
    drop = f"-{cap}"
    proc = subprocess.run(
        ["setpriv", "--bounding-set", drop, "--inh-caps", drop, "--",
         sys.executable, "-m", "lab", "--world", name, *verb],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **cap_env},
        stdin=subprocess.DEVNULL, timeout=60, check=False,
    )  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 77, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"CAP_{cap.upper()}" in lines[0] and f"--cap-add {cap.upper()}" in lines[0]
    assert not (RUN_ROOT / name).exists()
    assert not lock_path(name).exists()


def test_a_failed_build_leaves_no_lock_file(tmp_path: Path, cap_env: dict[str, str]) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course)
    start = course / "01-pair" / "start.sh"
    start.write_text(start.read_text() + "\nfalse\n")
    name = unique_world_name("lock")
    result = cnlab("--world", name, "reset", "1", env={**cap_env, "CNLAB_LESSONS": str(course)})
    assert result.returncode == 1 and "start.sh failed" in result.stderr
    assert not (RUN_ROOT / name).exists()
    assert not lock_path(name).exists()


@pytest.mark.parametrize("unshare", [["-U", "-r"], ["-U", "-r", "-m", "--propagation", "private"]])
def test_root_of_a_user_namespace_is_told_why_in_one_line(
    unshare: list[str], cap_env: dict[str, str]
) -> None:
    """A rootless container's root has every capability, but only over its own user
    namespace: the kernel refuses the world's mounts. One line says why; nothing is left."""
    name = unique_world_name("userns")
    proc = subprocess.run(
        ["unshare", *unshare, sys.executable, "-m", "lab", "--world", name, "reset", "1"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **cap_env},
        stdin=subprocess.DEVNULL, timeout=60, check=False,
    )  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"could not create world {name!r}" in lines[0]
    assert "user namespace" in lines[0] and "real root, or in a VM" in lines[0]
    assert not (RUN_ROOT / name).exists()
    assert not lock_path(name).exists()


def test_lessons_2_and_8_pass_on_a_stock_debian_like_machine(tmp_path: Path) -> None:
    """The issue's smoke, where it failed (every `sudo` refused on a noexec /run, no
    real sudo installed): reset, solve and check lessons 2 and 8 with the real command
    line, inside a private mount namespace with a stock Debian 12's /run."""
    before = host_fingerprint()
    out = in_container(
        f"""
        import json, os, subprocess, sys
        env = {{**os.environ, "CNLAB_STATE_DIR": {str(tmp_path / "state")!r}}}
        def cnlab(*args):
            return subprocess.run([sys.executable, "-m", "lab", "--world", "smoke", *args],
                                  capture_output=True, text=True, env=env, timeout=120)
        try:
            for lesson in ("2", "8"):
                for verb in ("reset", "solve"):
                    done = cnlab(verb, lesson)
                    assert done.returncode == 0, (verb, lesson, done.stdout, done.stderr)
                report = json.loads(cnlab("check", lesson, "--json").stdout)
                print(lesson, report["passed"], [m["cause"] for m in report["milestones"]])
        finally:
            cnlab("down")
        """,
        timeout=300,
    )
    assert out.splitlines()[0].startswith("2 True"), out
    assert out.splitlines()[1].startswith("8 True"), out
    assert host_fingerprint() == before


def test_a_multi_call_su_is_left_alone() -> None:
    """Where ``su`` is a link to a multi-call binary (busybox), covering its target
    would change every tool it provides: the world's su is then found by PATH only."""
    setup = f"""{NOEXEC_RUN}
mount -t tmpfs tmpfs /mnt && mkdir /mnt/up /mnt/work
printf '#!/bin/sh\\necho "multi-call as $(basename "$0")"\\n' > /mnt/up/multicall
chmod 755 /mnt/up/multicall && ln -s multicall /mnt/up/su
mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=/mnt/up,workdir=/mnt/work /usr/bin
"""
    out = in_container(
        """
        from lab.world import World
        world = World("multicall")
        try:
            world.create()
            print(world.run("/usr/bin/multicall; su -c 'echo shim-su'").stdout)
        finally:
            world.destroy()
        """,
        setup=setup,
    )
    assert "multi-call as multicall" in out
    assert "shim-su" in out
