"""A probe sent before the snapshot is read judges its packet when the snapshot comes,
as if it had been there all along (pure logic: no root, no world)."""

from __future__ import annotations

import select
import time

from checks import probes
from checks.probes import LateState
from tests.test_fate_unit import clash


def _watcher(late: LateState) -> probes._Watcher:
    return probes._Watcher([], set(), late, "netns1", {"proto": "icmp", "id": 7})


def test_the_departure_waits_for_the_snapshot_then_counts_from_when_it_left() -> None:
    late = LateState()
    try:
        watcher = _watcher(late)
        left = time.monotonic()
        watcher.departed("172.18.0.99")  # nobody on ceth1's cable has it
        assert watcher.ended is None and late.ready_fd in watcher.fds()
        published = time.monotonic()
        late.publish(clash())
        watcher.read(late.ready_fd)
        assert watcher.ended is not None and "nobody has 172.18.0.99" in watcher.ended.reason
        assert left <= watcher.ended_at <= published  # the grace runs from the departure
        assert watcher.deadline(left + 0.4, 0.06) == watcher.ended_at + 0.06
        assert late.ready_fd not in watcher.fds()
    finally:
        late.close()


def test_a_packet_that_can_be_answered_gets_no_fate_when_the_snapshot_comes() -> None:
    late = LateState()
    try:
        watcher = _watcher(late)
        watcher.departed("172.18.0.21")  # veth1, at the other end of ceth1
        late.publish(clash())
        watcher.read(late.ready_fd)
        assert watcher.ended is None
        assert watcher.deadline(123.0, 0.06) == 123.0
    finally:
        late.close()


def test_without_a_snapshot_nothing_is_judged() -> None:
    late = LateState()
    try:
        watcher = _watcher(late)
        watcher.departed("172.18.0.99")
        late.publish(None)  # the reading failed: the probe waits its whole timeout
        watcher.read(late.ready_fd)
        assert watcher.ended is None and late.ready_fd not in watcher.fds()
    finally:
        late.close()


def test_a_probe_sends_only_after_the_go() -> None:
    late = LateState()
    try:
        assert not select.select([late.go_fd], [], [], 0)[0]
        late.go()
        late.go()  # once is enough, twice is harmless
        assert select.select([late.go_fd], [], [], 0)[0]
        probes.wait_go(late)
        probes.wait_go(clash())  # a snapshot already read: nothing to wait for
    finally:
        late.close()
