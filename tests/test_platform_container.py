"""The lab inside a container-like platform, on this machine: the VM test's smoke, fast.

A learner's machine is not the one the lab is built on. On a stock Debian 12 install
(``scripts/vm-test.sh`` boots one) ``/run`` is a tmpfs mounted ``nodev,noexec,nosuid``
by the initramfs, so nothing can be executed from it; in a container the lab runs in a
mount namespace that is not the machine's first one. Here both are reproduced without
a VM: ``unshare --mount`` gives a private mount namespace, and a fresh
``noexec,nosuid,nodev`` tmpfs is mounted on its ``/run`` (with an empty ``/run/netns``),
hiding this machine's; it has its own PID namespace too, as containers do, so
whatever is left running is seen (and ends with it). Inside, as a learner would: reset, solve and check lessons 2
and 8, then grade a small class (a right answer, a broken one, a fork bomb stopped by
the sandbox's process limit). The real host's network is compared before and after,
and nothing but the container's shell may be left running at the end.

``CNLAB_CONTAINER_RUNS=20 pytest tests/test_platform_container.py`` repeats it (the
suite runs it twice, enough to show a fault that comes and goes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, host_fingerprint, unique_world_name

pytestmark = pytest.mark.integration
RUNS = int(os.environ.get("CNLAB_CONTAINER_RUNS", "2"))
# Grading once hung here (a Pool worker that died, 3 of ~30 runs); since the grader forks one
# child per submission, 20 of 20 passed. CNLAB_CONTAINER_GRADE=0 leaves it out.
GRADE = os.environ.get("CNLAB_CONTAINER_GRADE", "1") == "1"
CLASS = ROOT / "tests" / "fixtures" / "class-05"

# Runs in the container's shell; $CNLAB is the command line, $W the world, $OUT a folder.
SMOKE = r"""
set -euo pipefail
mount -t tmpfs -o nodev,noexec,nosuid,mode=0755 cnlab-test-run /run
mkdir /run/netns
findmnt -no OPTIONS /run > "$OUT/run-options"
trap '$CNLAB --world "$W" down >/dev/null 2>&1 || true' EXIT
for lesson in 2 8; do
  echo "== lesson $lesson"
  $CNLAB --world "$W" reset $lesson
  $CNLAB --world "$W" solve $lesson
  $CNLAB --world "$W" check $lesson
done
if [ "$GRADE" = 1 ]; then
  echo "== grade"
  printf ':(){ :|:& };:\n' > "$OUT/forkbomb.sh"
  $CNLAB grade 5 "$CLASS/correct.sh" "$CLASS/cable-down.sh" "$OUT/forkbomb.sh" \
    --timeout 60 --out "$OUT/grades.json"
fi
$CNLAB --world "$W" down
# This shell is PID 1 of the container: anything else still running was left behind.
$PY - > "$OUT/leftovers" <<'EOF'
import os
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid not in (1, os.getpid()):
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            print(pid, fh.read().replace(b"\0", b" ").decode(errors="replace"))
EOF
"""


def _brief(sub: dict[str, Any]) -> dict[str, Any]:
    """What explains a grade: its status, failed milestones and the end of its output."""
    failed = [(m["id"], m["cause"]) for m in sub["milestones"] if not m["passed"]]
    keys = ("status", "reason", "exit_code", "timing_ms")
    return {**{k: sub.get(k) for k in keys}, "failed": failed, "output": sub["output"][-600:]}


@pytest.mark.parametrize("run", range(RUNS))
def test_lessons_and_grading_with_a_noexec_run(run: int, tmp_path: Path) -> None:
    world = unique_world_name("ctr")
    before = host_fingerprint()
    env = {
        **os.environ,
        "CNLAB": f"{sys.executable} -m lab",
        "PY": sys.executable,
        "W": world,
        "OUT": str(tmp_path),
        "CLASS": str(CLASS),
        "CNLAB_LESSONS": "",
        "CNLAB_STATE_DIR": str(tmp_path / "state"),
        "GRADE": "1" if GRADE else "0",
    }
    argv = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
            "--kill-child", "--mount-proc", "--", "bash", "-c", SMOKE]  # fmt: skip
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False
        )
    except subprocess.TimeoutExpired as exc:  # killing unshare ends the whole container
        pytest.fail(f"the smoke took over 600 s; it was at:\n{str(exc.stdout)[-3000:]}")
    log = result.stdout[-6000:] + result.stderr[-4000:]
    assert "noexec" in (tmp_path / "run-options").read_text().split(",")
    assert result.returncode == 0, log
    left = (tmp_path / "leftovers").read_text()
    assert not left, f"processes still running after `cnlab down` and grading:\n{left}"

    assert host_fingerprint() == before
    if not GRADE:
        return
    grades = json.loads((tmp_path / "grades.json").read_text())
    by_name = {s["name"]: s for s in grades["submissions"]}
    brief = {name: _brief(sub) for name, sub in by_name.items()}
    assert by_name["correct.sh"]["passed"], brief
    assert by_name["correct.sh"]["status"] == "ok", brief
    broken = by_name["cable-down.sh"]
    assert not broken["passed"], brief
    assert {m["cause"] for m in broken["milestones"] if not m["passed"]} == {"link-down"}, brief
    assert by_name["forkbomb.sh"]["status"] == "pid-limit", brief
    assert all(s["enforced"]["pids"] and s["enforced"]["memory"] for s in by_name.values())
    assert host_fingerprint() == before
