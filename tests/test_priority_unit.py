"""The lab's scheduling priority (:mod:`lab.priority`): better for the lab when allowed,
never worse, and the learner's programs started at the niceness from before."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lab import priority
from tests.conftest import ROOT


def test_nothing_changed_means_no_prefix_and_never_a_worse_priority() -> None:
    now = os.getpriority(os.PRIO_PROCESS, 0)
    assert priority.as_before() == []
    assert priority.raise_priority(min(now + 5, 19)) == now  # worse is never asked for
    assert os.getpriority(os.PRIO_PROCESS, 0) == now
    assert priority.as_before() == []


@pytest.mark.root
def test_root_runs_better_and_its_shells_as_before() -> None:
    """Costs one Python start (the change must not stay on the test process)."""
    code = (
        "import os, subprocess; from lab import priority\n"
        "print(priority.raise_priority(-3))\n"
        "argv = [*priority.as_before(), 'sh', '-c', 'cut -d\" \" -f19 /proc/self/stat']\n"
        "print(subprocess.run(argv, capture_output=True, text=True).stdout.strip())\n"
    )
    now = os.getpriority(os.PRIO_PROCESS, 0)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    assert out == [str(min(-3, now)), str(now)]
