"""The learner wrecks the world from inside: the lab keeps working and reset brings it back."""

from __future__ import annotations

import json
import os
import time

import pytest

from checks.causes import CAUSES
from lab.world import World

from .conftest import alive, no_traceback, run_cli, status, wait_gone, world_picture

pytestmark = pytest.mark.integration

# bash run in the world's host namespace, then in every namespace the learner made
EVERYWHERE = 'for ns in "" $(ip netns list | cut -d" " -f1); do {cmd}; done'
DROP_ALL = (
    "drop_all() { for t in filter mangle raw; do"
    " for c in $(iptables -t $t -S | awk '/^-P/ {print $2}'); do iptables -t $t -P $c DROP; done;"
    " done; }; "
)

MISUSE = {
    "delete eth0": "ip link del eth0",
    "delete the bridge and lo down": "ip link del br0; ip link set lo down",
    "flush every route": EVERYWHERE.format(
        cmd="ip ${ns:+-n $ns} route flush table main; ip ${ns:+-n $ns} route flush table local"
    ),
    "every iptables policy DROP": DROP_ALL
    + EVERYWHERE.format(cmd='${ns:+ip netns exec $ns} bash -c "$(declare -f drop_all); drop_all"'),
    "delete the namespaces and umount /run/netns": (
        "for ns in $(ip netns list | cut -d' ' -f1); do ip netns del $ns; done;"
        " umount -l /run/netns; umount -l /run/netns; ip netns add after-umount || true"
    ),
    "servers left running, some in deleted namespaces": (
        "ip netns exec netns1 python3 -m http.server --bind 172.18.0.20 8080 >/dev/null 2>&1 &"
        " echo pid=$!; (sleep 1000 >/dev/null 2>&1 &);"
        " ip netns add doomed; ip netns exec doomed sleep 1000 >/dev/null 2>&1 &"
        " echo pid=$!; sleep 0.3; ip netns del doomed"
    ),
    "fill a tmpfs, and the world's own /run/netns": (
        "mount -t tmpfs -o size=1m learner-fill /mnt &&"
        " (dd if=/dev/zero of=/mnt/big bs=64k 2>/dev/null; true);"
        " (dd if=/dev/zero of=/run/netns/big bs=64k 2>/dev/null; true); df -k /mnt | tail -1"
    ),
    "garbage where namespaces live": (
        "echo hi > /run/netns/notans; mkdir /run/netns/dir; ln -s /proc/1/ns/net /run/netns/lnk"
    ),
}


# what leaves the solved lesson 8 working (the rest must make `cnlab check` fail)
HARMLESS = {
    "servers left running, some in deleted namespaces",
    "fill a tmpfs, and the world's own /run/netns",
    # files that are not namespaces (one links to the real host's) are ignored, never entered
    "garbage where namespaces live",
}


@pytest.mark.parametrize("misuse", list(MISUSE))
def test_misuse_is_explained_and_reset_restores_the_start(
    misuse: str, wname: str, state_env: dict[str, str], fresh_lesson_8: str
) -> None:
    assert run_cli(wname, "reset", "8", env=state_env).returncode == 0
    assert run_cli(wname, "solve", env=state_env).returncode == 0
    world = World(wname)
    wreck = world.run(MISUSE[misuse], timeout=30)
    assert "Traceback" not in wreck.stderr

    # the learner types `exit` in their shell: nothing else happens
    out = run_cli(wname, "shell", env=state_env)  # stdin is not a tty: a script
    assert out.returncode == 0
    assert status(wname, state_env)["state"] == "ready"

    started = time.perf_counter()
    check = run_cli(wname, "check", "--json", env=state_env)
    took = time.perf_counter() - started
    no_traceback(check)
    assert check.returncode == (0 if misuse in HARMLESS else 1), check.stdout
    report = json.loads(check.stdout)
    for m in report["milestones"]:
        if not m["passed"]:
            assert m["explanation"], m
            assert m["cause"] is None or m["cause"] in CAUSES, m
    causes = sorted({m["cause"] for m in report["milestones"] if not m["passed"]}, key=str)
    print(f"\n{misuse}: check {took:.1f} s, causes {causes}")
    assert took < 30

    before_reset = world.processes()
    if "pid=" in wreck.stdout:
        assert len(before_reset) > 2  # the servers are found, even in a deleted namespace
    reset = run_cli(wname, "reset", env=state_env)
    no_traceback(reset)
    assert reset.returncode == 0, reset.stderr
    assert world_picture(world) == fresh_lesson_8
    assert len(world.processes()) == 2  # the init and the simulated DNS: no server left
    for pid in before_reset:  # nor any the learner started (the PIDs the world prints
        wait_gone(pid, timeout=2)  # are the world's own: the real machine's are these)
        assert not alive(pid), f"{misuse}: process {pid} outlived the reset"
    assert world.run("ip netns list | cut -d' ' -f1 | sort").stdout.split() == [
        "netns0",
        "netns1",
    ]
    assert not os.path.exists("/run/netns/after-umount")


@pytest.fixture(scope="module")
def fresh_lesson_8() -> str:
    """The picture of a freshly built lesson 8, to compare every reset with."""
    from lab.course_run import build_lesson
    from lab.lessons import load_course
    from tests.conftest import unique_world_name

    from .conftest import LESSONS

    saved = os.environ.get("CNLAB_LESSONS")
    os.environ["CNLAB_LESSONS"] = str(LESSONS)
    world = World(unique_world_name("ref"))
    try:
        build_lesson(world, load_course().find("8"))
        return world_picture(world)
    finally:
        world.destroy()
        if saved is None:
            del os.environ["CNLAB_LESSONS"]
        else:
            os.environ["CNLAB_LESSONS"] = saved


def test_ghost_namespaces_on_the_real_host_are_removed(
    wname: str, state_env: dict[str, str]
) -> None:
    """Three umounts expose the host's /run/netns; what `ip netns add` left there goes."""
    assert run_cli(wname, "reset", "1", env=state_env).returncode == 0
    world = World(wname)
    out = world.run(
        f"for i in 1 2 3 4; do umount -l /run/netns; done; ip netns add ghost-{wname} && echo made"
    )
    assert "made" in out.stdout, out.stderr
    if "made" in out.stdout:
        assert os.path.exists(f"/run/netns/ghost-{wname}")  # the host sees a ghost...
    assert run_cli(wname, "reset", "1", env=state_env).returncode == 0
    assert not os.path.exists(f"/run/netns/ghost-{wname}")  # ...until the next reset or down
