"""The world is a boundary against a careless root learner (docs/security.md, "The world").

Every command here is typed the way a learner types it: through ``cnlab shell -c``
in a real world. The real machine must not notice: its processes, host name,
links and kernel knobs stay as they were (the ``host_untouched`` fixture checks
the network, byte for byte, around every test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.world import World
from tests.conftest import ROOT, attach_host_netns, host_fingerprint
from tests.robustness import conftest as _rb
from tests.robustness.conftest import run_cli, wait_gone

pytestmark = pytest.mark.integration

# the robustness suite's fixtures: a clean host around every test, worlds cleaned up
host_untouched = _rb.host_untouched
names = _rb.names
state_env = _rb.state_env
wname = _rb.wname


def shell(
    world: str, command: str, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    return run_cli(world, "shell", *extra, "-c", command, env=env)


@pytest.fixture
def ready(wname: str, state_env: dict[str, str]) -> str:
    result = run_cli(wname, "reset", "8", env=state_env)
    assert result.returncode == 0, result.stderr
    return wname


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process of the real machine with a name of its own (what `pkill NAME` matches)."""
    name = f"sentinel{os.getpid() % 100000}"
    link = tmp_path / name
    link.symlink_to("/bin/sleep")
    proc = subprocess.Popen([link, "300"])
    yield proc
    proc.kill()
    proc.wait()


def test_pkill_in_the_world_never_reaches_the_real_machine(
    ready: str, state_env: dict[str, str], sentinel: subprocess.Popen[bytes]
) -> None:
    name = sentinel.args[0].name  # type: ignore[index, union-attr]
    # the world has its own PIDs: its init is PID 1, and `ps` lists only the world
    out = shell(ready, "cat /proc/1/comm; ps -e -o comm=", state_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "cnlab-init"
    assert name not in out.stdout and "pytest" not in out.stdout
    # the natural clean-up after lesson 8's server (only once the world is known to
    # be isolated, above: a regression must fail there, not kill the machine's python3)
    shell(ready, f"pkill {name}; pkill -f {name}; pkill python3; kill -9 1", state_env)
    time.sleep(0.2)
    assert sentinel.poll() is None, "a process of the real machine was killed from a world"
    # and the world still works: its init survived `kill -9 1` (a PID 1 ignores it)
    out = shell(ready, "cat /proc/1/comm", state_env)
    assert out.stdout.strip() == "cnlab-init"
    assert World(ready).state() == "ready"


def test_pkill_in_the_world_ends_the_worlds_own_server(
    ready: str, state_env: dict[str, str]
) -> None:
    assert shell(ready, "cat /proc/1/comm", state_env).stdout.strip() == "cnlab-init"
    shell(ready, "(python3 -m http.server -b 127.0.0.1 8123 >/dev/null 2>&1 &)", state_env)
    out = shell(
        ready, "sleep 0.5; pgrep -c python3; pkill python3; sleep 0.3; pgrep -c python3", state_env
    )
    assert out.stdout.split() == ["1", "0"], out.stdout + out.stderr


def test_a_world_whose_init_died_is_broken_and_reset_rebuilds_it(
    ready: str, state_env: dict[str, str]
) -> None:
    world = World(ready)
    init = world.init_pid()
    assert init is not None
    os.kill(init, 9)  # from the real machine: a PID namespace dies with its PID 1
    wait_gone(init, timeout=2)
    status = run_cli(ready, "status", env=state_env)
    assert status.returncode == 1 and "broken" in status.stdout, status.stdout
    out = shell(ready, "true", state_env)
    assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert run_cli(ready, "reset", "8", env=state_env).returncode == 0
    assert world.state() == "ready" and world.init_pid() not in (None, init)
    assert shell(ready, "cat /proc/1/comm", state_env).stdout.strip() == "cnlab-init"


def test_hostname_and_domainname_rename_only_the_world(
    ready: str, state_env: dict[str, str]
) -> None:
    real = (
        Path("/proc/sys/kernel/hostname").read_text(),
        Path("/proc/sys/kernel/domainname").read_text(),
    )
    # only once the world is known to have a name of its own (a regression must fail
    # here, not rename the machine)
    assert shell(ready, "hostname", state_env).stdout.strip() == "localhost"
    out = shell(
        ready, "hostname; hostname learner-box; domainname learner.example; hostname", state_env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["localhost", "learner-box"]  # the article's VM name
    assert (
        Path("/proc/sys/kernel/hostname").read_text(),
        Path("/proc/sys/kernel/domainname").read_text(),
    ) == real
    assert shell(ready, "hostname", state_env).stdout.strip() == "learner-box"


def test_netns_1_means_the_world_and_reset_leaves_no_link_on_the_host(
    ready: str, state_env: dict[str, str]
) -> None:
    before = host_fingerprint()
    assert shell(ready, "cat /proc/1/comm", state_env).stdout.strip() == "cnlab-init"
    out = shell(
        ready,
        "ip link add escA type veth peer name escB netns 1;"
        " ip link add escC type veth peer name escD;"
        " ip link set escC netns 1; ip link set escD netns /proc/1/ns/net;"
        " ip -br link | cut -d' ' -f1",
        state_env,
    )
    assert out.returncode == 0, out.stderr
    assert {"escA@escB", "escB@escA", "escC@escD", "escD@escC"} <= set(out.stdout.split())
    assert host_fingerprint() == before  # while the world lives...
    assert run_cli(ready, "reset", env=state_env).returncode == 0
    assert host_fingerprint() == before  # ...and after a reset
    assert run_cli(ready, "down", env=state_env).returncode == 0
    assert host_fingerprint() == before


# test -w asks the kernel (access(2)) without writing: nothing is changed even
# where the file is writable. Machine-wide ones must be read-only in the world.
MACHINE_WIDE = [
    "/proc/sys/kernel/printk",
    "/proc/sys/vm/swappiness",
    "/proc/sys/fs/file-max",
    "/proc/sysrq-trigger",
    "/proc/sys/net/netfilter/nf_hooks_lwtunnel",
    "/sys/power/state",
    "/sys/block",
    "/sys/kernel",
]
PER_WORLD = [
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv4/conf/all/forwarding",
    "/sys/class/net/eth0/mtu",
]


def test_machine_wide_knobs_are_read_only_in_the_world(
    ready: str, state_env: dict[str, str]
) -> None:
    paths = [p for p in MACHINE_WIDE if os.path.exists(p)] + PER_WORLD
    script = "; ".join(f"if test -w {p}; then echo {p} rw; else echo {p} ro; fi" for p in paths)
    out = shell(ready, script, state_env)
    assert out.returncode == 0, out.stderr
    seen = dict(line.split() for line in out.stdout.splitlines())
    assert {p: seen[p] for p in paths} == {p: ("rw" if p in PER_WORLD else "ro") for p in paths}
    # a real write of the value already there: refused for a machine knob, fine per world
    out = shell(
        ready,
        "echo $(cat /proc/sys/vm/swappiness) > /proc/sys/vm/swappiness;"
        " sysctl -qw net.ipv4.ip_forward=1 && cat /proc/sys/net/ipv4/ip_forward",
        state_env,
    )
    assert "Read-only file system" in out.stderr
    assert out.stdout.strip() == "1"
    assert (
        Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
        == host_fingerprint()["ip_forward"].strip()
    )


def test_ip_netns_exec_keeps_machine_wide_sys_read_only(
    ready: str, state_env: dict[str, str]
) -> None:
    """`ip netns exec` mounts a fresh sysfs for the namespace; it must not be a way out."""
    paths = [p for p in MACHINE_WIDE if p.startswith("/sys") and os.path.exists(p)]
    probe = "; ".join(f"if test -w {p}; then echo {p} rw; else echo {p} ro; fi" for p in paths)
    out = shell(
        ready,
        f"ip netns exec netns0 sh -c '{probe}; ls /sys/class/net'",
        state_env,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert {p: lines[lines.index(p) + 1] for p in paths} == dict.fromkeys(paths, "ro")
    assert "ceth0" in lines  # the fresh /sys still shows netns0's own links
    # the command's exit status and arguments pass through untouched
    out = shell(ready, "ip netns exec netns0 sh -c 'exit 7' x; echo status=$?", state_env)
    assert "status=7" in out.stdout


INSIDE = ["check", "shell -c true", "status", "reset 1", "down", "solve", "demo 2"]


@pytest.mark.parametrize("verb", INSIDE)
def test_cnlab_typed_inside_the_world_refuses_and_leaves_the_world_alone(
    ready: str, state_env: dict[str, str], verb: str
) -> None:
    world = World(ready)
    init, dns = world.init_pid(), world.read_meta()["dns_pid"]
    env = " ".join(f"{k}={v}" for k, v in state_env.items())
    out = shell(
        ready, f"cd {ROOT} && env {env} {sys.executable} -m lab --world {ready} {verb}", state_env
    )
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "inside the lab's world" in lines[0], out.stderr
    assert world.state() == "ready" and world.init_pid() == init
    assert Path(f"/proc/{dns}").exists()
    status = run_cli(ready, "status", env=state_env)
    assert status.returncode == 0 and "ready" in status.stdout


def test_a_world_seen_from_where_it_is_invisible_is_never_torn_down(
    ready: str, state_env: dict[str, str]
) -> None:
    """Even past the CLI's refusal: the engine inside a world does not destroy it."""
    code = (
        "from lab.world import World; from lab.errors import LabError\n"
        f"w = World({ready!r}); print(w.state())\n"
        "try:\n    w.destroy()\nexcept LabError as e:\n    print('refused')\n"
    )
    out = shell(ready, f'cd {ROOT} && {sys.executable} -c "{code}"', state_env)
    assert out.stdout.split() == ["elsewhere", "refused"], out.stdout + out.stderr
    assert World(ready).state() == "ready"


def test_a_world_whose_folder_was_removed_by_hand_is_still_cleaned(
    ready: str, state_env: dict[str, str]
) -> None:
    world = World(ready)
    shell(ready, "(sleep 600 >/dev/null 2>&1 &)", state_env)
    pids = world.processes()
    assert len(pids) == 3  # init, DNS, the sleep
    subprocess.run(["umount", "-l", str(world.dir)], check=True)
    subprocess.run(["rm", "-rf", str(world.dir)], check=True)
    out = run_cli(ready, "down", env=state_env)
    assert out.returncode == 0, out.stderr
    for pid in pids:
        wait_gone(pid, timeout=2)


def test_a_world_whose_folder_was_removed_by_hand_is_cleaned_by_reset(
    ready: str, state_env: dict[str, str]
) -> None:
    world = World(ready)
    old = world.processes()
    subprocess.run(["umount", "-l", str(world.dir)], check=True)
    subprocess.run(["rm", "-rf", str(world.dir)], check=True)
    assert run_cli(ready, "reset", "8", env=state_env).returncode == 0
    for pid in old:
        wait_gone(pid, timeout=2)
    assert world.state() == "ready" and len(world.processes()) == 2


def test_shell_ns_enters_only_the_worlds_own_namespaces(
    ready: str, state_env: dict[str, str]
) -> None:
    world = World(ready)
    attach_host_netns(world, symlink="hostlink", bind="hostbind")
    real_links = host_fingerprint()["links"]
    for name in ("hostlink", "hostbind"):
        out = shell(ready, "ip -br link", state_env, "--ns", name)
        assert out.returncode != 0, f"entered {name}: {out.stdout}"
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
        assert out.stdout == ""
    assert host_fingerprint()["links"] == real_links
    # the world's own namespaces are entered as before
    out = shell(ready, "ip -br link | cut -d' ' -f1", state_env, "--ns", "netns0")
    assert out.returncode == 0, out.stderr
    assert "ceth0" in out.stdout and "escA" not in out.stdout


def test_a_mount_with_a_non_utf8_name_breaks_no_world(
    ready: str, state_env: dict[str, str], names: list[str]
) -> None:
    """Mount tables are bytes: a learner's mount named b"\\xff" in one world (every
    world's build reads every mount namespace's table) is no traceback anywhere."""
    out = shell(
        ready, "d=/run/netns/$(printf '\\377x'); mkdir $d && mount -t tmpfs t $d", state_env
    )
    assert out.returncode == 0, out.stderr
    other = ready + "b"
    names.append(other)
    for world, verb in ((other, "reset"), (ready, "status"), (ready, "reset"), (other, "down")):
        result = run_cli(world, verb, env=state_env)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_the_learner_is_unprivileged_and_its_proc_keeps_machine_knobs_read_only(
    wname: str, state_env: dict[str, str]
) -> None:
    """`su learner` (lesson 11): no capability, no_new_privs, no veth on the host; its own
    /proc lets `unshare --map-root-user` write uid_map, and nothing machine-wide, even for
    root entering that mount namespace."""
    assert run_cli(wname, "reset", "11", env=state_env).returncode == 0
    out = shell(
        wname,
        'su learner -c \'id -un; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status;'
        " ip link add v9 type veth peer name c9 || echo no-veth;"
        " unshare --user --map-root-user --net cat /proc/self/uid_map;"
        " sleep 1000 >/dev/null 2>&1 & echo pid=$!'",
        state_env,
    )
    assert out.returncode == 0, out.stderr
    words = out.stdout.split()
    assert words[:5] == ["learner", "CapEff:", "0000000000000000", "NoNewPrivs:", "1"]
    assert "no-veth" in words and "Operation not permitted" in out.stderr
    inside, outside, count = words[words.index("no-veth") + 1 : words.index("no-veth") + 4]
    assert (inside, count) == ("0", "1") and outside not in ("0", "1")  # 0 is learner's uid
    pid = out.stdout.split("pid=")[1].split()[0]
    paths = [p for p in MACHINE_WIDE if p.startswith("/proc") and os.path.exists(p)]
    probe = "; ".join(f"if test -w {p}; then echo {p} rw; else echo {p} ro; fi" for p in paths)
    out = shell(
        wname,
        f"nsenter --target {pid} --mount sh -c '{probe}; test -w /proc/self/uid_map && echo uid_map rw'",
        state_env,
    )
    assert out.returncode == 0, out.stderr
    seen = dict(line.split() for line in out.stdout.splitlines())
    assert seen == {**dict.fromkeys(paths, "ro"), "uid_map": "rw"}
    # the root shells' own /proc is untouched: read-only, uid_map included
    out = shell(wname, "test -w /proc/self/uid_map && echo rw || echo ro", state_env)
    assert out.stdout.strip() == "ro"
