"""Nothing done inside a world reaches the real host's network."""

from __future__ import annotations

import pytest

from lab.world import World
from tests.conftest import attach_host_netns, host_fingerprint

pytestmark = pytest.mark.integration

HOSTILE = """
ip link del eth0
ip route flush table main
ip route flush table all
ip rule add from all lookup 100 prio 5
iptables -P INPUT DROP; iptables -P FORWARD DROP; iptables -P OUTPUT DROP
iptables -t nat -A POSTROUTING -j MASQUERADE
iptables-legacy -A INPUT -j DROP
echo 1 > /proc/sys/net/ipv4/ip_forward
sysctl -w net.ipv4.conf.all.forwarding=1
ip netns add evil; ip netns add netns0; ip netns del netns0
ip link add br-evil type bridge; ip link set br-evil up
ip link add veth-evil type veth peer name veth-evil2
ip addr add 192.0.2.99/24 dev lo
ip link set lo down
"""
# A learner who unmounts the world's /run/netns finds a read-only guard below it.
UNMOUNT = """
umount -l /run/netns
ip netns add after-umount
"""


def test_hostile_commands_leave_the_real_host_byte_identical(world: World) -> None:
    before = host_fingerprint()
    world.run(HOSTILE)
    world.run(HOSTILE, ns="internet")
    result = world.run(UNMOUNT)
    assert result.returncode != 0
    assert host_fingerprint() == before
    world.destroy()
    assert host_fingerprint() == before


def test_the_world_still_works_after_being_wrecked_and_rebuilt(world: World) -> None:
    world.run(HOSTILE)
    world.create()
    out = world.run("ping -c1 -W2 8.8.8.8 >/dev/null && echo ok; iptables -S", check=True)
    assert out.stdout.startswith("ok\n-P INPUT ACCEPT")


def test_a_link_to_the_real_hosts_namespace_is_never_entered(world: World) -> None:
    import os

    from lab import inns, state

    # this test runs in the real host's network namespace: attach it to the world
    me = os.getpid()
    world.run("ip netns add netns0", check=True)
    attach_host_netns(world, symlink="realhost", bind="bound")
    with pytest.raises(inns.NamespaceGone):
        inns.run(world, "realhost", state.read_current_namespace, "realhost")
    snapshot = state.read_world(world, forget_unresolved=True)
    assert "realhost" not in snapshot.namespaces
    assert "netns0" in snapshot.namespaces
    for name in ("realhost", "bound"):
        with pytest.raises(inns.NamespaceGone):
            inns.run(world, name, state.read_current_namespace, name)
    # and tearing the world down ends only the world's processes, not ours
    assert me not in world.processes() and os.getppid() not in world.processes()


def test_a_process_namespace_is_entered_only_for_the_worlds_own_processes(world: World) -> None:
    """``pid:N`` (lesson 11's rootless checks) names a namespace through a process: never
    one of the machine's, a number that is not a process, or the machine's own namespace."""
    import os

    from lab import inns, state

    for name in (f"pid:{os.getpid()}", "pid:1", "pid:x", "pid:"):
        with pytest.raises(inns.NamespaceGone):
            inns.run(world, name, state.read_current_namespace, name)
    inside = world.run("sleep 100 >/dev/null 2>&1 & echo $!", check=True).stdout.split()[-1]
    mine = [pid for pid in world.processes() if _nspid(pid) == int(inside)]
    assert len(mine) == 1
    seen = inns.run(world, f"pid:{mine[0]}", state.read_current_namespace, "host")
    assert any(link.name == "eth0" for link in seen.links)  # the world's host, entered


def _nspid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return -1
