"""Shared helpers for the robustness scenarios: real worlds, real processes, a clean host.

Every test here is watched by :func:`host_untouched`: the real host's network
(links, addresses, routes, rules, iptables, ip_forward, ``ip netns``) must be
byte-identical before and after it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.world import RUN_ROOT, World, lock_path
from tests.conftest import ROOT, cnlab, host_fingerprint, unique_world_name

LESSONS = ROOT / "lessons"


@pytest.fixture(autouse=True)
def host_untouched() -> Iterator[None]:
    """Fail the test if the real host's network changed while it ran."""
    before = host_fingerprint()
    yield
    after = host_fingerprint()
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"the real host changed: {changed}"


@pytest.fixture
def state_env(tmp_path: Path) -> dict[str, str]:
    """Environment for `cnlab` with the real lessons and a private progress store."""
    return {"CNLAB_STATE_DIR": str(tmp_path / "state"), "CNLAB_LESSONS": str(LESSONS)}


@pytest.fixture
def names() -> Iterator[list[str]]:
    """World names a test builds through the CLI; each is destroyed afterwards."""
    made: list[str] = []
    yield made
    failed = []
    for name in made:  # every one, even if destroying another failed
        try:
            World(name).destroy()
            lock_path(name).unlink(missing_ok=True)  # nobody else uses a test's name
        except Exception as exc:
            failed.append(f"{name}: {exc!r}")
    assert not failed, failed


@pytest.fixture
def wname(names: list[str]) -> str:
    name = unique_world_name("rb")
    names.append(name)
    return name


def run_cli(
    world: str, *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return cnlab("--world", world, *args, env=env, timeout=timeout)


def start_cli(world: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `cnlab` without waiting (to kill it, or to race another command)."""
    return subprocess.Popen(
        [sys.executable, "-m", "lab", "--world", world, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def status(world: str, env: dict[str, str]) -> dict[str, object]:
    out = run_cli(world, "status", "--json", env=env)
    no_traceback(out)
    data: dict[str, object] = json.loads(out.stdout)
    return data


_IFINDEX = re.compile(r"@if\d+")


def world_picture(world: World) -> str:
    """What a learner sees of the start state: addresses, routes, firewall, everywhere.

    Interface indexes of veth peers (``@ifN``), MAC addresses, IPv6 link-local
    addresses (made from random MACs), UNKNOWN for UP (a bridge says UNKNOWN until
    its ports settle), iptables counters and
    timestamps are left out; everything else must match between two builds.
    """
    script = r"""
    pic() {
        ip -br link | awk '{ if ($2 == "UNKNOWN") $2 = "UP"; print $1, $2 }' | sort
        ip -br -4 addr | awk '{ $2 = ""; print }' | sort
        ip r; cat /proc/sys/net/ipv4/ip_forward
    }
    echo "== host"; pic
    iptables-save | grep -v '^#' | sed 's/ \[[0-9:]*\]$//'
    for ns in $(ip netns list | cut -d' ' -f1 | sort); do
        echo "== $ns"; ip netns exec "$ns" bash -c "$(declare -f pic); pic"
    done
    """
    out = world.run(script, timeout=30)
    assert out.returncode == 0, out.stderr
    return _IFINDEX.sub("", out.stdout)


def world_mounts(world: World) -> list[str]:
    """Mount points of this process's namespace that belong to ``world``."""
    prefix = str(world.dir)
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        return [
            line.split()[4]
            for line in fh
            if line.split()[4] == prefix or line.split()[4].startswith(prefix + "/")
        ]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def run_entries() -> set[str]:
    return set(os.listdir(RUN_ROOT)) if RUN_ROOT.is_dir() else set()
