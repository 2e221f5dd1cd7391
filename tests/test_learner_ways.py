"""Checks judge the resulting network, not the command text: other ways pass too."""

from __future__ import annotations

import pytest

from tests.conftest import cnlab, unique_world_name

pytestmark = pytest.mark.integration
REAL = {"CNLAB_LESSONS": ""}

# Each: the lesson, then commands a learner might type instead of the reference solution.
WAYS = {
    "02-veth": """
ip link add veth0 type veth peer name ceth0 netns netns0
ip link set veth0 up && ip addr add 172.18.0.11/16 dev veth0
ip netns exec netns0 ip link set lo up
ip netns exec netns0 ip link set ceth0 up
ip netns exec netns0 ip addr add 172.18.0.10/16 dev ceth0
""",
    "04-bridge": """
ip link del veth0; ip link del veth1
ip netns del netns0; ip netns del netns1
sleep 1
ip netns add netns0; ip netns add netns1
ip link add br0 type bridge && ip link set dev br0 up
for i in 0 1; do
  ip link add veth$i type veth peer name ceth$i netns netns$i
  ip link set veth$i master br0 up
  ip -n netns$i link set lo up
  ip -n netns$i link set ceth$i up
  ip -n netns$i addr add 172.18.0.$((i * 10 + 10))/16 dev ceth$i
done
""",
    "05-gateway": """
ip address add 172.18.0.1/16 dev br0
ip -n netns0 route add 0.0.0.0/0 via 172.18.0.1 dev ceth0
ip netns exec netns1 ip route replace default via 172.18.0.1
""",
    "07-masquerade": """
iptables -t nat -I POSTROUTING 1 -s 172.18.0.0/16 -o eth0 -j SNAT --to-source 10.0.2.15
""",
    "08-port-publishing": """
ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &
iptables -t nat -A PREROUTING -p tcp -d 10.0.2.15/32 --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
iptables -t nat -I OUTPUT -p tcp --dport 5000 -d 10.0.2.15 -j DNAT --to 172.18.0.10:5000
for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done
""",
}


@pytest.mark.parametrize("lesson", sorted(WAYS))
def test_another_way_passes(lesson: str) -> None:
    name = unique_world_name("way")
    try:
        assert cnlab("--world", name, "reset", lesson, env=REAL).returncode == 0
        ran = cnlab("--world", name, "shell", env=REAL, input=WAYS[lesson])
        assert ran.returncode == 0, ran.stderr
        out = cnlab("--world", name, "check", env=REAL)
        assert out.returncode == 0, out.stdout
    finally:
        cnlab("--world", name, "down")


def test_sysctl_form_of_ip_forward() -> None:
    name = unique_world_name("way")
    try:
        cnlab("--world", name, "reset", "06-ip-forward", env=REAL)
        cnlab("--world", name, "shell", "-c", "sysctl -w net.ipv4.ip_forward=1 >/dev/null")
        out = cnlab("--world", name, "check", env=REAL)
        assert out.returncode == 0, out.stdout
    finally:
        cnlab("--world", name, "down")
