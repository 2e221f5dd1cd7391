"""The grader trusts only real namespaces in the world's own /run/netns.

The grader reads every learner namespace as root, outside the sandbox. A
submission chooses what is in /run/netns: a symbolic link to a host FIFO or to
another world's namespace, thousands of plain files. None of it may be opened,
counted or forked for.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lab import inns, state
from lab.world import World
from tests.conftest import host_fingerprint
from tests.security.conftest import CLASS, grade
from tests.test_grading import leftovers

pytestmark = pytest.mark.integration


class FifoWatch:
    """Notices whether anyone opens ``path`` (a FIFO) for reading while it runs.

    Opening a FIFO for writing without blocking succeeds only while a reader has
    it open, so a poll loop sees every open that lasts longer than a poll.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                assert exc.errno == errno.ENXIO  # no reader: as it should be
            else:
                self.opened += 1
                os.close(fd)  # the reader sees end of file and moves on
            time.sleep(0.005)

    def __enter__(self) -> FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_links_into_the_host_or_another_world_score_nothing(tmp_path: Path) -> None:
    before = host_fingerprint()
    fifo = Path(f"/var/tmp/cnlab-fifo-{os.getpid()}")
    os.mkfifo(fifo)
    victim = World(f"victim{os.getpid() % 100000}")
    victim.create()
    try:
        victim.run("ip netns add alpha && ip netns add beta", check=True)
        planted = {
            # the attack, word for word: a host FIFO where a namespace was
            "fifo.sh": f"ip netns add alpha\nip netns del alpha\n"
            f"ln -s {fifo} /run/netns/alpha\nln -s {fifo} /run/netns/beta\n",
            # another world's namespaces, by the name that follows from its world
            "other.sh": f"ln -s /run/cnlab/{victim.name}/host /run/netns/alpha\n"
            f"ln -s /run/cnlab/{victim.name}/inet /run/netns/beta\n",
            "devices.sh": "ln -s /dev/zero /run/netns/alpha\ntouch /run/netns/beta\n",
        }
        with FifoWatch(fifo) as watch:
            grades = grade("1", planted, tmp_path, jobs=1)
    finally:
        victim.destroy()
        fifo.unlink()
    assert watch.opened == 0, "the grader opened the FIFO a submission pointed at"
    for name, graded in grades.items():
        assert graded["score"] == 0, (name, graded["milestones"])
        assert graded["status"] == "ok", (name, graded["reason"])
        causes = {m["cause"] for m in graded["milestones"][:2]}
        assert causes == {"netns-missing"}, (name, graded["milestones"])
    assert host_fingerprint() == before
    assert leftovers(os.getpid()) == {"worlds": [], "cgroups": [], "processes": []}


def test_a_world_holds_no_other_worlds_namespace_files() -> None:
    first, second = World(f"nsa{os.getpid() % 100000}"), World(f"nsb{os.getpid() % 100000}")
    first.create()
    try:
        second.create()
        try:
            seen = subprocess.run(
                [*second.enter_argv(), "cat", "/proc/self/mountinfo"],
                capture_output=True, text=True, check=True, timeout=10,
            ).stdout  # fmt: skip
        finally:
            second.destroy()
    finally:
        first.destroy()
    nsfs = [line.split()[4] for line in seen.splitlines() if " - nsfs " in line]
    assert not [p for p in nsfs if first.name in p], nsfs
    assert not [p for p in seen.splitlines() if f"/{first.name} " in p]


def test_thousands_of_entries_fork_a_bounded_number_of_helpers(tmp_path: Path) -> None:
    spam = (
        "ip netns add alpha\nip netns add beta\n"
        "for i in $(seq 1 1200); do : > /run/netns/junk$i; done\n"
        "mkfifo /run/netns/zz-fifo\nls /run/netns | wc -l\n"
    )
    correct = (CLASS / "correct.sh").read_text()
    forks: list[str] = []
    real_start = inns.start

    def counting_start(*args: object, **kwargs: object) -> inns.Pending:
        # which pids group the helper is forked in (jobs=1: this very process)
        groups = Path("/proc/self/cgroup").read_text().splitlines()
        forks.append(next(g for g in groups if g.split(":")[1] in ("pids", "")))
        return real_start(*args, **kwargs)  # type: ignore[arg-type]

    mp = pytest.MonkeyPatch()
    mp.setattr(inns, "start", counting_start)
    try:
        grades = grade("1", {"spam.sh": spam + correct}, tmp_path, jobs=1)
    finally:
        mp.undo()
    graded = grades["spam.sh"]
    assert "1203" in graded["output"]
    assert graded["score"] == 3.0 and graded["passed"], graded["milestones"]
    assert len(forks) < 60, f"{len(forks)} helpers forked for one submission"
    # every one of them inside a fenced group of the job's, never the grader's own
    outside = [g for g in forks if not g.endswith("-checks")]
    assert outside == [], outside
    assert state.READ_PARALLEL <= 8
