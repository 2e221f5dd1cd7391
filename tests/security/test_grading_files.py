"""The sandbox sees an allow-list of the machine: programs, libraries, a minimal
/etc, its own /tmp. Never the machine's secrets, homes, data or the class folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.security.conftest import CLASS, grade
from tests.test_grading import leftovers

pytestmark = pytest.mark.integration

TAG = f"cnlab-secret-{os.getpid()}"
# Where a machine keeps what a submission must never read; each gets a sentinel.
PRIVATE = [Path("/root"), Path("/home"), Path("/srv"), Path("/opt"), Path("/var/tmp")]

LOOK = f"""\
cat /etc/shadow 2>&1 | head -2
cat /etc/gshadow 2>&1 | head -1
for d in {" ".join(str(p) for p in PRIVATE)} /work /var/lib; do
  ls -la "$d" 2>&1 | grep -q {TAG} && echo "SAW $d"
  cat "$d/{TAG}" 2>/dev/null && echo "READ $d"
done
grep -rl {TAG} /etc /run /var /home /srv /opt /root /work /tmp 2>/dev/null | sed 's/^/FOUND /'
echo "top: $(ls / | tr '\\n' ' ')"
echo "home: $(ls -A /home | tr '\\n' ' ')"
ip netns add alpha && echo tools-work
"""


def test_submission_sees_only_the_allow_list(tmp_path: Path) -> None:
    made = []
    klass = Path(f"/var/tmp/{TAG}-class")
    try:
        for folder in PRIVATE:
            if folder.is_dir():
                (folder / TAG).write_text("the secret\n")
                made.append(folder / TAG)
        klass.mkdir()
        shutil.copy(CLASS / "correct.sh", klass / "alice.sh")
        thief = LOOK + f"bash {klass}/alice.sh 2>&1 | tail -1\n. {klass}/alice.sh\n"
        grades = grade("1", {"mallory.sh": thief}, tmp_path, jobs=1)
    finally:
        for path in made:
            path.unlink(missing_ok=True)
        shutil.rmtree(klass, ignore_errors=True)
    out = grades["mallory.sh"]["output"]
    assert "tools-work" in out, out
    assert "No such file or directory" in out  # /etc/shadow is not there at all
    assert "root:" not in out.split("top:")[0], out
    for word in ("SAW", "READ", "FOUND"):
        assert word not in out, out
    top = set(out.split("top: ")[1].splitlines()[0].split())
    assert top <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev",
                   "proc", "sys", "run", "tmp", "var", "home"}, top  # fmt: skip
    # /home is the sandbox's own: the world's unprivileged learner's empty home, nothing else
    assert out.split("home: ")[1].splitlines()[0].split() == ["learner"], out
    # the classmate's work was out of reach: only its own `ip netns add alpha` counted
    assert grades["mallory.sh"]["score"] == 1.0, grades["mallory.sh"]["milestones"]
    assert leftovers(os.getpid()) == {"worlds": [], "cgroups": [], "processes": []}


def test_correct_submission_still_has_what_it_needs(tmp_path: Path) -> None:
    """Every tool a correct solution may use works (iptables-legacy takes a lock
    file in /run: once a read-only /run failed it, and a correct submission)."""
    uses = (CLASS / "correct.sh").read_text() + (
        "python3 -c 'import socket; print(\"py-ok\")'\n"
        "getent hosts localhost && iptables -S >/dev/null && echo ipt-ok\n"
        "iptables-legacy -N LEGACY && iptables-legacy -S | grep -q LEGACY && echo legacy-ok\n"
        "ls /var/run/netns\n"
    )
    graded = grade("1", {"uses.sh": uses}, tmp_path, jobs=1)["uses.sh"]
    assert graded["passed"], graded["output"]
    for word in ("py-ok", "ipt-ok", "legacy-ok", "alpha", "localhost"):
        assert word in graded["output"], graded["output"]


def test_a_mount_under_the_machines_tmp_does_not_break_grading(tmp_path: Path) -> None:
    """The sandbox's root is built on a tmpfs over /tmp; a mount another program has
    under the machine's /tmp (a test's, a desktop's) once made every sandbox fail
    to build (`setup-failed`), intermittently, whenever one existed."""
    cover = Path(f"/tmp/cnlab-cover-{os.getpid()}")
    cover.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "cnlab-cover", str(cover)],
                   check=True)  # fmt: skip
    try:
        graded = grade("1", {"c.sh": (CLASS / "correct.sh").read_text()}, tmp_path, jobs=1)
    finally:
        subprocess.run(["umount", str(cover)], check=True)
        cover.rmdir()
    assert graded["c.sh"]["status"] == "ok", graded["c.sh"]["reason"]
    assert graded["c.sh"]["passed"]


PROC_ESCAPES = """\
echo 1 > /proc/sys/net/ipv4/ip_forward && echo net-still-writable
mkdir -p /tmp/p && mount --bind /proc /tmp/p && echo bound
v=$(cat /tmp/p/sys/vm/swappiness); (echo "$v" > /tmp/p/sys/vm/swappiness) 2>/dev/null && echo WROTE-BIND
test -w /tmp/p/sys/kernel/core_pattern && echo WRITABLE-BIND
umount -l /proc/sys 2>&1; umount -l /proc/sys/net 2>&1
v=$(cat /proc/sys/vm/swappiness); (echo "$v" > /proc/sys/vm/swappiness) 2>/dev/null && echo WROTE-UMOUNT
test -w /proc/sys/kernel/core_pattern && echo WRITABLE-UMOUNT
test -w /proc/self/uid_map && echo WRITABLE-UID-MAP
"""


def test_proc_of_the_machine_cannot_be_bared(tmp_path: Path) -> None:
    """Root in the sandbox may bind-mount and detach (``ip netns`` needs both): neither
    a bind of /proc nor ``umount -l /proc/sys`` reaches a writable /proc/sys of the
    machine, because /proc is read-only as one mount (found by a red-team pass)."""
    out = grade("1", {"mallory.sh": PROC_ESCAPES}, tmp_path, jobs=1)["mallory.sh"]["output"]
    assert "bound" in out, out  # the bind itself is allowed; what it shows is read-only
    for word in ("WROTE-BIND", "WRITABLE-BIND", "WROTE-UMOUNT", "WRITABLE-UMOUNT"):
        assert word not in out, out
    assert "WRITABLE-UID-MAP" not in out, out
    assert "net-still-writable" in out, out


def test_a_lesson_the_sandbox_cannot_grade_fairly_is_refused(tmp_path: Path) -> None:
    """Lesson 11's rootless namespace needs a writable uid_map, which the sandbox keeps
    read-only: a correct submission would fail, so grading it is refused in one line."""
    from tests.conftest import cnlab

    sub = tmp_path / "alice.sh"
    sub.write_text("su - learner -c 'unshare --user --map-root-user --net true'\n")
    done = cnlab("grade", "11", str(sub), env={"CNLAB_LESSONS": ""})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be graded" in lines[0] and "uid_map" in lines[0], lines
