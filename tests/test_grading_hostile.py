"""Hostile submissions fail their own grade and change nothing else.

These tests are dangerous if containment is broken, so every one of them sits
behind the ``contained`` fixture: a harmless canary submission first proves, in
the same kind of sandbox, that it has its own PID, mount and network namespaces,
cannot write outside its scratch space, cannot see /run/cnlab, and that the
process limit is enforced. If any of that fails, the test fails at once and
nothing destructive runs. Even then the hostile commands aim at targets this
test made itself (sentinel folders, its own sleeping process) wherever possible.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.grading.runner import grade_all, load_submissions
from lab.grading.sandbox import Limits
from lab.lessons import load_course
from lab.world import World
from tests.conftest import ROOT, host_fingerprint, unique_world_name
from tests.test_grading import COURSE, leftovers, orphan_worlds

pytestmark = pytest.mark.integration

TAG = f"cnlab-canary-{os.getpid()}"
SENTINELS = [Path("/var/tmp") / TAG, Path("/usr/share/doc") / TAG, ROOT / ".pytest_cache" / TAG]

CANARY = f"""\
echo "pid=$$"
echo "ns-pid=$(readlink /proc/self/ns/pid)"
echo "ns-mnt=$(readlink /proc/self/ns/mnt)"
echo "ns-net=$(readlink /proc/self/ns/net)"
echo "procs=$(ls /proc | grep -c '^[0-9]')"
for f in /var/tmp/{TAG}.w /root/{TAG}.w {ROOT}/{TAG}.w /etc/{TAG}.w /usr/{TAG}.w; do
  touch "$f" 2>/dev/null && echo "WROTE $f"
done
touch /tmp/{TAG}.w && echo scratch-ok
ls /run/cnlab/ 2>/dev/null | grep -v '^grade-' | sed 's/^/OTHER-WORLD /'
mount -o remount,rw / 2>/dev/null && echo REMOUNTED
echo canary-done
"""


def _grade(lesson: str, scripts: dict[str, str], tmp: Path, **limits: Any) -> dict[str, Any]:
    folder = tmp / f"subs-{time.monotonic_ns()}"
    folder.mkdir()
    for name, text in scripts.items():
        (folder / name).write_text(text)
    run = grade_all(
        load_course().find(lesson),
        load_submissions([str(folder)]),
        jobs=2,
        limits=Limits(**{"timeout": 6.0, **limits}),
    )
    return {g.name: g.to_json() for g in run.grades}


@pytest.fixture(scope="module")
def contained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Prove containment with a canary before any hostile submission runs."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CNLAB_LESSONS", str(COURSE))
    tmp = tmp_path_factory.mktemp("hostile")
    try:
        canary = _grade("1", {"canary.sh": CANARY}, tmp)["canary.sh"]
        out = canary["output"]
        facts = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        problems = []
        if canary["status"] != "ok" or "canary-done" not in out:
            problems.append(f"canary did not run cleanly: {canary['status']} {canary['reason']}")
        if facts.get("pid") not in ("2", "3"):
            problems.append(f"not in its own PID namespace (pid {facts.get('pid')})")
        for kind in ("pid", "mnt", "net"):
            if facts.get(f"ns-{kind}") == os.readlink(f"/proc/self/ns/{kind}"):
                problems.append(f"shares the host's {kind} namespace")
        if int(facts.get("procs", "99")) > 5:
            problems.append(f"sees {facts.get('procs')} processes")
        for word in ("WROTE", "OTHER-WORLD", "REMOUNTED"):
            problems += [line for line in out.splitlines() if line.startswith(word)]
        if "scratch-ok" not in out:
            problems.append("cannot write its scratch space")
        if not canary["enforced"].get("pids"):
            problems.append("no pids cgroup: a fork bomb would not be stopped")
        for path in (Path("/var/tmp"), Path("/root"), ROOT):
            if (path / f"{TAG}.w").exists():
                problems.append(f"a file appeared in {path}")
        if problems:
            pytest.fail("containment is broken, hostile tests NOT run: " + "; ".join(problems))
        yield tmp
    finally:
        mp.undo()


@pytest.fixture
def sentinels() -> Iterator[list[Path]]:
    made = []
    for path in SENTINELS:
        path.mkdir(parents=True, exist_ok=True)
        (path / "keep").write_text("must survive\n")
        made.append(path)
    yield made
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def test_hostile_class_fails_alone(contained: Path, sentinels: list[Path]) -> None:
    before = host_fingerprint()
    bystander = subprocess.Popen(["sleep", "300"])  # a process of ours outside the sandbox
    victim = World(unique_world_name("victim"))
    victim.create()
    try:
        victim.run("ip netns add alpha", check=True)
        victim_links = victim.run("ip -o link").stdout
        victim_dir = victim.dir
        targets = " ".join(str(p) for p in sentinels)
        hostile = {
            "forkbomb.sh": "ip netns add alpha\n:(){ :|:& };:\n",
            "killall.sh": "ip netns add alpha\nkill -9 -1\necho still-here\n",
            "rmrf.sh": f"rm -rf {targets}\nrm -rf /usr/share/doc/{TAG}*\necho rm-done\n",
            "filldisk.sh": "dd if=/dev/zero of=/tmp/fill bs=1M count=500 2>&1 | tail -1\n"
            "dd if=/dev/zero of=/var/tmp/fill bs=1M count=1 2>&1 | tail -1\n"
            "df -h /tmp | tail -1\n",
            "reboot.sh": "reboot\nreboot -f\necho b > /proc/sysrq-trigger\necho alive\n",
            "flood.sh": "while :; do echo flood; done\n",
            "sleeper.sh": "sleep infinity\n",
            "netns.sh": "ip netns add alpha\nip netns add beta\n"
            "umount /run/netns/*\nrm -f /run/netns/*\nip netns\necho wiped\n",
            "otherworld.sh": f"ls {victim_dir} 2>&1\n"
            f"nsenter --net={victim_dir}/host ip link add evil type veth peer name evil2 2>&1\n"
            f"nsenter --mount={victim_dir}/mnt ip netns del alpha 2>&1\n"
            f"kill -9 {bystander.pid} 2>&1\necho tried\n",
        }
        grades = _grade("1", hostile, contained, timeout=4.0)
    finally:
        alive = bystander.poll() is None
        bystander.kill()
        bystander.wait()
        victim_after = victim.run("ip -o link").stdout if victim.state() == "ready" else ""
        victim_ns = victim.learner_namespaces() if victim.state() == "ready" else []
        victim.destroy()

    for name, grade in grades.items():
        assert not grade["passed"], name
        assert grade["status"] != "error", (name, grade["reason"])

    assert grades["forkbomb.sh"]["status"] == "pid-limit"
    assert "fork bomb" in grades["forkbomb.sh"]["reason"]
    assert grades["killall.sh"]["status"] == "ok"
    assert "still-here" in grades["killall.sh"]["output"]
    assert grades["killall.sh"]["milestones"][0]["passed"]  # its own world kept its work
    assert "rm-done" in grades["rmrf.sh"]["output"]
    assert "Read-only file system" in grades["rmrf.sh"]["output"]
    assert "64 MiB) copied" in grades["filldisk.sh"]["output"]  # then the tmpfs was full
    assert "100% /tmp" in grades["filldisk.sh"]["output"]
    assert "Read-only file system" in grades["filldisk.sh"]["output"]
    assert "alive" in grades["reboot.sh"]["output"]
    assert grades["flood.sh"]["status"] == "output-limit"
    assert grades["sleeper.sh"]["status"] == "timeout"
    assert "wiped" in grades["netns.sh"]["output"]
    assert grades["netns.sh"]["milestones"][0]["cause"] == "netns-missing"
    other = grades["otherworld.sh"]["output"]
    assert "tried" in other and "No such file or directory" in other

    # Nothing else changed: the sentinels, our bystander, the victim world, the host.
    for path in sentinels:
        assert (path / "keep").read_text() == "must survive\n", path
    assert alive, "a process outside the sandbox was killed"
    assert victim_after == victim_links and victim_ns == ["alpha"]
    assert not Path("/var/tmp/fill").exists()
    assert host_fingerprint() == before
    assert leftovers(os.getpid()) == {"worlds": [], "cgroups": [], "processes": []}


def test_cli_reports_hostile_reason_in_every_format(contained: Path) -> None:
    sub = contained / "bomb.sh"
    sub.write_text(":(){ :|:& };:\n")
    env = {**os.environ, "CNLAB_LESSONS": str(COURSE)}
    for fmt in ("json", "junit", "gradescope"):
        result = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-m", "lab", "grade", "1", str(sub), "--timeout",
             "4", "--format", fmt],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "fork bomb" in result.stdout, fmt
        if fmt == "json":
            assert json.loads(result.stdout)["submissions"][0]["status"] == "pid-limit"
    assert orphan_worlds() == []
