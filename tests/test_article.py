"""The article's first section, typed verbatim inside a world, shows what it shows."""

from __future__ import annotations

import pytest

from lab.world import World

pytestmark = pytest.mark.integration

INSPECT = """#!/usr/bin/env bash

echo "> Network devices"
ip link

echo -e "\\n> Route table"
ip route

echo -e "\\n> Iptables rules"
iptables --list-rules
"""


def test_first_section_verbatim(world: World, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("article")
    script = folder / "inspect-net-stack.sh"
    script.write_text(INSPECT)
    script.chmod(0o755)
    session = f"""cd {folder}
sudo iptables -N ROOT_NS
sudo ./inspect-net-stack.sh
echo ==== netns
sudo ip netns add netns0
ip netns
sudo nsenter --net=/var/run/netns/netns0 bash
sudo ./inspect-net-stack.sh
exit
"""
    out = world.run(session, check=True).stdout
    host, netns = out.split("==== netns\n")
    assert "eth0@if" in host and "state UP" in host  # eth0 is a veth into the simulated internet
    assert "default via 10.0.2.2 dev eth0" in host
    assert "10.0.2.0/24 dev eth0 proto kernel scope link src 10.0.2.15" in host
    assert "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-N ROOT_NS" in host
    listed, inside = netns.split("> Network devices\n")
    assert listed.strip() == "netns0"
    assert "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN" in inside
    assert "eth0" not in inside
    assert "> Route table\n\n> Iptables rules" in inside
    assert "ROOT_NS" not in inside
    assert inside.rstrip().endswith("-P OUTPUT ACCEPT")
