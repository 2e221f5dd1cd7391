"""The scheduler's rules, without Textual: when to check, when to read the world."""

from __future__ import annotations

from lab.tui.scheduler import Scheduler


def test_nothing_happens_before_the_world_is_ready_or_while_building() -> None:
    s = Scheduler()
    assert not s.want_check() and not s.read_due(0.0)
    s.build_started()
    assert not s.want_check() and not s.read_due(5.0)
    assert s.world_ready(10.0) == (True, True)
    s.build_started()  # a reset while a check runs: its follow-up is dropped
    assert not s.check_done()
    assert not s.read_due(20.0)


def test_a_burst_of_commands_is_one_check_then_one_follow_up() -> None:
    s = Scheduler()
    s.world_ready(0.0)  # starts the first check
    assert s.checking
    assert not s.want_check() and not s.want_check() and not s.want_check()
    assert s.check_done() is True  # one follow-up for the three
    assert s.check_done() is False  # and nothing after it
    assert s.want_check() is True


def test_reads_are_spaced_and_a_change_asks_for_a_check() -> None:
    s = Scheduler(state_every=1.0)
    check, read = s.world_ready(0.0)
    assert check and read
    assert not s.read_due(0.5)  # one read at a time
    assert s.read_done(changed=True, first=True) is False  # the first read after a build
    assert not s.read_due(0.9)  # too soon
    assert s.read_due(1.0)
    s.check_done()  # the build's check ended
    assert s.read_done(changed=True, first=False) is True  # the learner changed the world
    assert s.read_due(2.0)
    assert s.read_done(changed=False, first=False) is False


def test_a_stopped_screen_starts_nothing() -> None:
    s = Scheduler()
    s.world_ready(0.0)
    s.stopped()
    assert not s.check_done() and not s.want_check() and not s.read_due(9.0)
