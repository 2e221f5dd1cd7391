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
    assert not s.read_due(1.0)  # the build's check still runs
    s.check_done()  # it ended
    assert s.read_due(1.1)
    assert s.read_done(changed=True, first=False) is True  # the learner changed the world
    s.check_done()
    assert s.read_due(2.1)
    assert s.read_done(changed=False, first=False) is False


def test_a_stopped_screen_starts_nothing() -> None:
    s = Scheduler()
    s.world_ready(0.0)
    s.stopped()
    assert not s.check_done() and not s.want_check() and not s.read_due(9.0)


def test_no_read_starts_while_a_check_runs_or_waits() -> None:
    s = Scheduler(state_every=1.0)
    s.world_ready(0.0)  # the build's check runs
    s.read_done(changed=False, first=True)
    assert not s.read_due(1.5)  # due, but the check server is busy with the check
    s.check_done()
    assert s.read_due(1.6)
    s.read_done(changed=False, first=False)
    assert s.want_check()
    assert not s.want_check()  # a second reason waits as a follow-up
    assert not s.read_due(2.7)  # and a read would go between the two checks
    assert s.check_done()  # the follow-up starts
    assert not s.check_done()
    assert s.read_due(2.8)


def test_a_typed_command_holds_reads_until_its_prompt_comes_back() -> None:
    s = Scheduler(state_every=1.0, hold=0.5)
    s.world_ready(0.0)
    s.check_done()
    s.read_done(changed=False, first=True)
    s.command_started(1.0)
    assert not s.read_due(1.2)  # its prompt (and its check) are about to come
    assert s.command_ended() is True  # the check starts at once, no debounce
    assert not s.read_due(1.3)  # it runs
    s.check_done()
    assert s.read_due(1.4)


def test_a_long_command_holds_reads_for_a_while_only() -> None:
    s = Scheduler(state_every=1.0, hold=0.5)
    s.world_ready(0.0)
    s.check_done()
    s.read_done(changed=False, first=True)
    s.command_started(1.0)  # a foreground server: no prompt for minutes
    assert not s.read_due(1.4)
    assert s.read_due(1.6)  # the map follows what it changes
    s.read_done(changed=True, first=False)  # it did: the lesson is checked
    assert s.checking


def test_an_overdue_read_goes_even_while_checks_follow_one_another() -> None:
    s = Scheduler(state_every=1.0)
    s.world_ready(0.0)
    s.read_done(changed=False, first=True)
    s.want_check()  # checks back to back: one runs, one waits
    assert not s.read_due(2.9)
    assert s.read_due(3.0)  # three periods without a look at the world: read anyway
