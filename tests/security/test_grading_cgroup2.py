"""Sandboxes keep their limits under cgroup v2's "no internal processes" rule.

On a stock Debian 12 (systemd, pure cgroup v2) the grader sits in a group that
holds processes (a login session, a service). cgroup v2 forbids such a group to
hand controllers to children: the old sandbox enabled ``pids`` there and the
move into the child failed (EOPNOTSUPP), so every submission failed.

This machine has hybrid cgroups: pids, memory and cpu are bound to v1, and only
``hugetlb`` is offered by the unified (v2) tree. The rule is the same for every
controller, so these tests put the grader in a v2 group holding processes, as
systemd would, and check that each sandbox still lands in a leaf with its v2
limit (hugetlb: no huge pages) in force, and that nothing is left behind. Both
ways the grader finds a subtree of its own are tested: alone in its group (a
``systemd-run --scope -p Delegate=yes`` scope), sharing it with others, and at the
top of a container's own cgroup namespace (Docker, a Gradescope autograder).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.grading import cgroups
from tests.conftest import ROOT
from tests.security.conftest import CLASS, COURSE

pytestmark = pytest.mark.integration

V2 = Path("/sys/fs/cgroup/unified")
if not (V2 / "cgroup.controllers").exists():
    V2 = Path("/sys/fs/cgroup")

GRADER = f"""
import json, os, sys
from pathlib import Path
Path(sys.argv[1], "cgroup.procs").write_text(str(os.getpid()))  # like a session
if os.environ.get("AS_CONTAINER"):
    # A container's view: its own cgroup namespace, rooted at the session group,
    # and the unified tree mounted afresh (it shows that group as "/").
    from lab import nsutil
    nsutil.unshare(0x02000000 | nsutil.CLONE_NEWNS)  # CLONE_NEWCGROUP
    nsutil.mount("none", "/", None, nsutil.MS_REC | nsutil.MS_PRIVATE)
    nsutil.umount("/sys/fs/cgroup/memory")  # v1, not namespaced here: left out
    nsutil.umount({str(V2)!r})
    nsutil.mount("cgroup2", {str(V2)!r}, "cgroup2", 0)
    assert open("/proc/self/cgroup").read().splitlines()[-1] == "0::/"
os.environ["CNLAB_LESSONS"] = {str(COURSE)!r}
from lab.grading.runner import grade_all, load_submissions
from lab.grading.sandbox import Limits
from lab.lessons import load_course
run = grade_all(load_course().find("1"), load_submissions(sys.argv[2:]), jobs=2,
                limits=Limits(timeout=10))
print(json.dumps([g.to_json() for g in run.grades]))
"""


@pytest.fixture
def session() -> Iterator[Path]:
    if "hugetlb" not in (V2 / "cgroup.controllers").read_text().split():
        pytest.skip("the unified cgroup tree offers no controller to test the rule with")
    base = V2 / f"cnlab-v2test-{os.getpid()}"
    group = base / "session"
    group.mkdir(parents=True)
    yield group
    for leftover in sorted(base.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if leftover.is_dir():
            leftover.rmdir()
    base.rmdir()


def _grade_from(group: Path, tmp_path: Path, container: bool) -> list[dict[str, object]]:
    sub = tmp_path / "where.sh"
    sub.write_text("cat /proc/self/cgroup | grep '^0::'\n" + (CLASS / "correct.sh").read_text())
    env = {**os.environ, "AS_CONTAINER": "1" if container else ""}
    done = subprocess.run(
        [sys.executable, "-c", GRADER, str(group), str(sub)],
        capture_output=True, text=True, cwd=ROOT, timeout=180, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def _the_rule_holds(group: Path) -> None:
    """A group holding a process cannot hand a domain controller down (EBUSY)."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (group / "cgroup.procs").write_text(str(sleeper.pid))
        parent = group.parent
        for node in (V2, parent):  # allowed: the root, and a group without processes
            (node / "cgroup.subtree_control").write_text("+hugetlb")
        with pytest.raises(OSError) as err:
            (group / "cgroup.subtree_control").write_text("+hugetlb")
        assert err.value.errno == errno.EBUSY
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize(
    "case", ["alone-like-a-scope", "shared", "container"], ids=lambda case: case
)
def test_sandbox_limits_in_a_v2_group_holding_processes(
    session: Path, tmp_path: Path, case: str
) -> None:
    _the_rule_holds(session)
    neighbour = None
    shared = case == "shared"
    if case in ("shared", "container"):
        neighbour = subprocess.Popen(["sleep", "300"])
        (session / "cgroup.procs").write_text(str(neighbour.pid))
    try:
        (grade,) = _grade_from(session, tmp_path, container=case == "container")
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    assert grade["status"] == "ok" and grade["passed"], grade
    enforced = grade["enforced"]
    assert isinstance(enforced, dict) and enforced["hugetlb"] and enforced["pids"], enforced
    where = str(grade["output"]).splitlines()[0].removeprefix("0::")
    base = "/" + str(session.parent.relative_to(V2))
    if shared:  # a sibling subtree under the parent, which holds no process
        assert where.startswith(f"{base}/cnlab-grade-"), where
    elif case == "container":  # paths as the container sees them
        assert where.startswith("/cnlab-grade-"), where
    else:  # the grader moved into a leaf of its own group; jobs are leaves beside it
        assert where.startswith(f"{base}/session/cnlab-grade-"), where
    # Everything made for the run is gone; the session group hands nothing down.
    assert sorted(p.name for p in session.parent.iterdir() if p.is_dir()) == ["session"]
    left = sorted(p.name for p in session.iterdir() if p.is_dir())
    assert left == (["init"] if case == "container" else []), left  # the container's others
    assert (session / "cgroup.subtree_control").read_text().strip() == ""


def test_scope_is_asked_for_only_where_systemd_owns_the_tree() -> None:
    argv = [sys.executable, "-m", "lab", "grade", "1", "x.sh"]
    # This machine: no systemd as PID 1, or hybrid cgroups: never re-run in a scope.
    assert cgroups.scope_argv(argv, {}) is None
    assert cgroups.scope_argv(argv, {"CNLAB_GRADE_SCOPE": "1"}) is None


def test_a_cgroup_the_kernel_refuses_is_one_clear_reason(session: Path) -> None:
    """The issue's symptom was `status: error` and "Exception occurred in
    preexec_fn". A group the kernel refuses to take the sandbox into (here: one
    that hands a controller down, so the v2 rule forbids processes in it) is a
    `setup-failed` naming the groups, and nothing runs."""
    from lab.grading.sandbox import Limits, Sandbox
    from lab.world import World

    for node in (V2, session.parent, session):
        (node / "cgroup.subtree_control").write_text("+hugetlb")
    (session / "child").mkdir()
    world = World(f"refused{os.getpid() % 100000}")
    world.create()
    try:
        box = Sandbox(world, Limits(timeout=5))
        create = box.cgroups.create

        def create_then_add_a_refusing_group() -> None:
            create()
            box.cgroups.dirs.append(session)  # a real group that cannot hold processes

        box.cgroups.create = create_then_add_a_refusing_group  # type: ignore[method-assign]
        with box:
            result = box.run(b"touch /tmp/ran\n")
    finally:
        world.destroy()
        box.cgroups.dirs = [d for d in box.cgroups.dirs if d != session]
        (session / "child").rmdir()
        (session / "cgroup.subtree_control").write_text("-hugetlb")
    assert result.status == "setup-failed", result
    assert "could not join its cgroups" in str(result.reason) and str(session) in str(result.reason)
