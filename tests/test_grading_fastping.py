"""A graded replay's quick ping observes what the real ping observes.

In a grading world, ``ping -c N`` (N at most 5) sends its packets 2 ms apart
instead of one second apart (``lab/assets/ping``). These tests run the same
pings in one graded sandbox twice, through the helper (``ping``) and through
the real binary by its full path (``/usr/bin/ping``), and compare what each
saw: the exit status, the lines printed (times aside) and the number of echo
requests that left, counted by an iptables rule. No timing is asserted.
Cost: one world and about 4 s of the real ping's own waiting.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from lab.grading.sandbox import Limits, Sandbox
from lab.world import ROUTER_ADDR, World

pytestmark = pytest.mark.integration

# Each case runs through the helper (``ping``, found on the PATH), then through the
# real binary; both are started under the name ``ping``, as a learner types it. The
# counter rule counts echo requests to the router as they leave the world's host.
SCRIPT = f"""
command -v ping
iptables -w -A OUTPUT -p icmp --icmp-type echo-request -d {ROUTER_ADDR}
ip netns add lonely
sent() {{ iptables -w -nvxL OUTPUT | grep icmptype; }}
for p in ping /usr/bin/ping; do
  echo "== reachable $p"; bash -c "exec -a ping $p -c 2 {ROUTER_ADDR}"; echo "rc=$?"; sent
  echo "== noroute $p"
  ip netns exec lonely bash -c "exec -a ping $p -c 2 {ROUTER_ADDR}" 2>&1; echo "rc=$?"; sent
done
iptables -w -A INPUT -p icmp --icmp-type echo-reply -s {ROUTER_ADDR} -j DROP
for p in ping /usr/bin/ping; do
  echo "== silent $p"; bash -c "exec -a ping $p -c 2 -W 1 {ROUTER_ADDR}"; echo "rc=$?"; sent
done
"""
# (case, exit status, echo requests it sends), in the order the script runs them
CASES = (("reachable", "rc=0", 2), ("noroute", "rc=2", 0), ("silent", "rc=1", 2))

_TIMES = (
    (re.compile(r"time[=<][\d.]+ ms"), "time=T ms"),
    (re.compile(r"time \d+ms"), "time Tms"),
    (re.compile(r"= [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms"), "= R ms"),
)


def _shape(lines: list[str]) -> list[str]:
    """The lines with every measured time replaced (the one thing that may differ)."""
    out = []
    for line in lines:
        for pattern, stand_in in _TIMES:
            line = pattern.sub(stand_in, line)
        out.append(line)
    return out


def _sections(output: str) -> tuple[str, dict[tuple[str, str], list[str]]]:
    head, *parts = output.split("== ")
    sections = {}
    for part in parts:
        title, *lines = part.rstrip("\n").split("\n")
        case, program = title.split()
        sections[(case, program)] = lines
    return head, sections


def _sent(lines: list[str]) -> int:
    """Echo requests counted so far (the counter line's first column)."""
    return int(next(line for line in lines if "icmptype 8" in line).split()[0])


def test_graded_ping_sees_what_the_real_ping_sees(make_world: Callable[..., World]) -> None:
    world = make_world("fp", create=False)
    world.create(graded=True)
    with Sandbox(world, Limits(timeout=60)) as box:
        run = box.run(SCRIPT.encode())
    assert run.status == "ok", run.output
    head, sections = _sections(run.output)
    assert head.strip() == f"{world.dir}/bin/ping"  # the helper, first on the PATH
    for case, expected_rc, _ in CASES:
        quick, real = sections[(case, "ping")], sections[(case, "/usr/bin/ping")]
        assert expected_rc in quick, (case, quick)
        assert _shape(quick[:-1]) == _shape(real[:-1]), case  # all but the counter line
    sent = 0
    order = [c for c in CASES if c[0] != "silent"]
    runs = [(c, "ping") for c in order] + [(c, "/usr/bin/ping") for c in order]
    runs += [(CASES[2], "ping"), (CASES[2], "/usr/bin/ping")]
    for (case, _, went), program in runs:  # the same count on the wire, quick or not
        sent += went
        assert _sent(sections[(case, program)]) == sent, (case, program, sections[(case, program)])
    reachable = "\n".join(sections[("reachable", "ping")])
    assert "2 packets transmitted, 2 received, 0% packet loss" in reachable
    silent = "\n".join(sections[("silent", "ping")])
    assert "2 packets transmitted, 0 received, 100% packet loss" in silent
    assert "ping: connect: Network is unreachable" in sections[("noroute", "ping")]


def test_a_learners_world_has_the_real_ping(world: World) -> None:
    """Only grading worlds get the quick ping: a learner's ping waits as it always did."""
    where = world.run("command -v ping", timeout=10).stdout.strip()
    assert where in ("/usr/bin/ping", "/bin/ping"), where
