"""The sealed world: real namespaces, built and torn down for each test."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lab import nsutil
from lab.errors import WorldMissing
from lab.world import World, list_worlds
from tests.conftest import host_fingerprint

pytestmark = pytest.mark.integration


def test_world_looks_like_the_articles_vm(world: World) -> None:
    out = world.run(
        "ip -4 -o addr show dev eth0; ip route; cat /proc/sys/net/ipv4/ip_forward;"
        " ip -o link show lo; iptables -S; ip netns list | wc -l",
        check=True,
    ).stdout
    assert "inet 10.0.2.15/24" in out
    assert "default via 10.0.2.2 dev eth0" in out
    assert "10.0.2.0/24 dev eth0" in out
    assert "\n0\n" in out  # ip_forward
    assert "lo: <LOOPBACK,UP,LOWER_UP>" in out
    assert "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n0" in out


def test_simulated_internet_answers_ping_and_dns(world: World) -> None:
    out = world.run(
        "ping -c1 -W2 8.8.8.8 >/dev/null && echo ping-ok;"
        " ping -c1 -W2 10.0.2.2 >/dev/null && echo router-ok;"
        " getent hosts dns.google; cat /etc/resolv.conf",
        check=True,
    ).stdout
    assert "ping-ok" in out and "router-ok" in out
    assert "8.8.8.8         dns.google" in out
    assert "nameserver 8.8.8.8" in out


def test_the_internets_web_server_names_the_address_it_sees(world: World) -> None:
    """8.8.8.8:80 answers any request with the client's address as the internet sees it."""
    out = world.run(
        "curl -s -m 5 http://8.8.8.8/; curl -s -m 5 -o /dev/null -w '%{http_code}' dns.google"
    )
    assert out.stdout.startswith("Hello from the internet (8.8.8.8).\nYou came from 10.0.2.15:")
    assert out.stdout.endswith("200"), out.stdout


def test_the_world_has_one_unprivileged_user(world: World) -> None:
    """`learner` exists inside the world only, with an id no user of the machine has."""
    uid = world.learner_uid
    assert uid is not None and uid >= 1000
    out = world.run("id learner; su learner -c 'id -u; echo $HOME'; su nobody-else")
    assert f"uid={uid}(learner) gid={uid}(learner)" in out.stdout
    assert out.stdout.split()[-2:] == [str(uid), "/home/learner"]
    assert "does not exist here" in out.stderr
    with pytest.raises(KeyError):
        pwd.getpwnam("learner")  # the machine's own users are unchanged
    assert all(u.pw_uid != uid for u in pwd.getpwall())


def test_free_id_skips_the_machines_users_and_groups() -> None:
    from lab.world import free_id

    passwd = "root:x:0:0::/root:/bin/bash\nvagrant:x:1000:1000::/home/vagrant:/bin/bash\n"
    group = "root:x:0:\nvagrant:x:1000:\ndocker:x:1001:vagrant\n"
    assert free_id(passwd, group) == 1002
    assert free_id("", "") == 1000


def test_unknown_names_fail_fast_instead_of_hanging(world: World) -> None:
    started = time.monotonic()
    result = world.run("getent hosts no-such-name.example")
    assert result.returncode != 0
    assert time.monotonic() - started < 1.5


def test_internet_has_no_route_back_to_the_container_subnet(world: World) -> None:
    out = world.run("ip route get 172.18.0.10 2>&1; ip route", ns="internet").stdout
    assert "unreachable" in out
    assert "172.18" not in out.split("\n", 1)[1]


def test_learner_namespaces_stay_inside_the_world(world: World) -> None:
    before = host_fingerprint()
    out = world.run("ip netns add netns0 && ip netns list", check=True).stdout
    assert out.strip() == "netns0"
    assert world.learner_namespaces() == ["netns0"]
    assert host_fingerprint() == before
    assert not Path("/run/netns/netns0").exists()


def test_two_worlds_have_the_same_names_without_crosstalk(make_world: Callable[..., World]) -> None:
    a, b = make_world("a"), make_world("b")
    script = (
        "ip netns add netns0 && ip link add veth0 type veth peer name ceth0 netns netns0"
        " && ip addr add 172.18.0.11/16 dev veth0 && ip link set veth0 up"
        " && ip -n netns0 addr add 172.18.0.10/16 dev ceth0 && ip -n netns0 link set ceth0 up"
    )
    a.run(script, check=True)
    b.run(script, check=True)
    a.run("ip -n netns0 addr add 172.18.0.99/16 dev ceth0", check=True)
    assert "172.18.0.99" not in b.run("ip -n netns0 addr", check=True).stdout
    assert "1 received" in b.run("ping -c1 -W2 172.18.0.10").stdout
    b.run("ip netns del netns0", check=True)
    assert a.learner_namespaces() == ["netns0"]
    assert b.learner_namespaces() == []


def test_destroy_ends_processes_and_leaves_nothing(make_world: Callable[..., World]) -> None:
    before = host_fingerprint()
    world = make_world()
    world.run(
        "ip netns add netns0; (sleep 600 >/dev/null 2>&1 &);"
        " ip netns exec netns0 sleep 600 >/dev/null 2>&1 &",
        check=True,
    )
    time.sleep(0.1)
    pids = world.processes()
    assert len(pids) >= 3  # the DNS responder and two sleeps
    world.destroy()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    assert not world.dir.exists()
    assert world.name not in list_worlds()
    assert str(world.dir) not in "\n".join(nsutil.mountpoints())
    assert host_fingerprint() == before


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_broken_world_is_detected_and_cleaned(make_world: Callable[..., World]) -> None:
    world = make_world()
    world.meta_path.unlink()  # as if the creator was killed half-way
    assert world.state() == "broken"
    with pytest.raises(WorldMissing, match="left broken"):
        world.require()
    assert world.state() == "absent"


def test_creator_killed_mid_way_leaves_a_world_the_next_command_cleans(
    make_world: Callable[..., World],
) -> None:
    world = make_world(create=False)
    code = (
        "import os, signal; from lab.world import World; from lab.world import build as w;"
        "orig = w._run\n"
        "def boom(*a, **k):\n"
        "    orig(*a, **k); os.kill(os.getpid(), signal.SIGKILL)\n"
        f"w._run = boom; World({world.name!r}).create()"
    )
    proc = subprocess.run(
        ["python3", "-c", code],
        cwd=Path(__file__).parent.parent,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert proc.returncode == -signal.SIGKILL
    assert world.state() == "broken"
    world.create()  # the next build replaces it: never doubled
    assert world.state() == "ready"
    assert list_worlds().count(world.name) == 1


def test_world_creation_is_fast(make_world: Callable[..., World]) -> None:
    # Not a timing test (see bench/): a generous bound that only catches a hang.
    world = make_world(create=False)
    started = time.perf_counter()
    world.create()
    assert time.perf_counter() - started < 5


def test_processes_in_ignores_other_namespaces(world: World) -> None:
    net, mnt = world.namespace_ids()
    assert os.getpid() not in nsutil.processes_in(net, mnt)
    assert 1 not in nsutil.processes_in(net, mnt)
