"""What a process may do, read from /proc/self/status (pure logic, no root needed)."""

from __future__ import annotations

from lab.preflight import (
    effective_capabilities,
    missing_capabilities,
    user_namespace_map,
    why_mounts_fail,
)

STATUS = "Name:\tpython3\nCapInh:\t0000000000000000\nCapPrm:\t{0}\nCapEff:\t{0}\n"


def test_root_on_a_machine_has_everything() -> None:
    assert missing_capabilities(effective_capabilities(STATUS.format("000001ffffffffff"))) == []


def test_a_docker_default_root_lacks_sys_admin_and_net_admin() -> None:
    docker_default = "00000000a80425fb"  # chown, dac_override, ..., net_raw, kill, setfcap
    missing = missing_capabilities(effective_capabilities(STATUS.format(docker_default)))
    assert missing == ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]


def test_each_capability_is_its_own_bit() -> None:
    everything = 0x1FFFFFFFFFF
    assert missing_capabilities(everything & ~(1 << 13)) == ["CAP_NET_RAW"]
    assert missing_capabilities(0) == ["CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_NET_RAW"]
    assert effective_capabilities("Name:\tx\n") == 0


def test_a_user_namespace_is_recognised_by_its_uid_map() -> None:
    assert user_namespace_map("         0          0 4294967295\n") is None
    assert user_namespace_map("         0       1000          1\n") == "0 1000 1"
    assert "user namespace" in why_mounts_fail("0 1000 1\n")
    assert "seccomp" in why_mounts_fail("0 0 4294967295\n")
