"""The workshop VM: the Vagrantfile is valid, and its one installer is idempotent.

Nothing here boots a VM (no hypervisor in CI). What can be checked without one:

* ``vagrant validate`` accepts the Vagrantfile (and rejects a broken copy, so
  the check is not vacuous). The ``vagrant`` Debian package comes from
  ``scripts/setup.sh --test``; the test skips only if it cannot be installed.
* The Vagrantfile asks for what the workshop needs: Debian 12, 1-2 GB, both
  providers, port 8000 on the laptop's loopback only, and provisioning through
  ``scripts/vagrant-provision.sh``, which runs ``scripts/setup.sh`` (the same
  installer as the README's ``./run``).
* ``scripts/setup.sh`` run a second time prints nothing and changes nothing.
* ``scripts/vagrant-provision.sh`` (into a scratch DESTDIR) writes a working
  ``cnlab`` wrapper and a greeting, and a second run writes nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VAGRANTFILE = ROOT / "Vagrantfile"
SETUP = ROOT / "scripts" / "setup.sh"
PROVISION = ROOT / "scripts" / "vagrant-provision.sh"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="scripts/setup.sh needs root")


def _vagrant() -> str:
    """The vagrant binary, installed by ``scripts/setup.sh --test`` if missing."""
    found = shutil.which("vagrant")
    if found is None and os.geteuid() == 0:
        subprocess.run([str(SETUP), "--test"], capture_output=True, timeout=600, check=False)
        found = shutil.which("vagrant")
    if found is None:
        pytest.skip("vagrant is not installed and `scripts/setup.sh --test` could not install it")
    return found


def _validate(vagrant: str, directory: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        VAGRANT_HOME=str(scratch / "vagrant.d"),  # leave ~/.vagrant.d alone
        VAGRANT_DOTFILE_PATH=str(scratch / "dot-vagrant"),  # and no .vagrant/ in the repo
        VAGRANT_CHECKPOINT_DISABLE="1",  # offline: no version check
    )
    # No hypervisor here, so provider blocks cannot be checked against one.
    return subprocess.run(
        [vagrant, "validate", "--ignore-provider", "--no-tty"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_vagrant_validate_accepts_the_vagrantfile(tmp_path: Path) -> None:
    vagrant = _vagrant()
    had_dotdir = (ROOT / ".vagrant").exists()
    result = _validate(vagrant, ROOT, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout
    assert (ROOT / ".vagrant").exists() == had_dotdir, "validate left .vagrant/ in the repo"


def test_vagrant_validate_rejects_a_broken_copy(tmp_path: Path) -> None:
    """The control: validation would catch a mistake in the Vagrantfile."""
    vagrant = _vagrant()
    broken = tmp_path / "broken"
    broken.mkdir()
    text = VAGRANTFILE.read_text(encoding="utf-8").replace("config.vm.box =", "config.vm.boxx =")
    (broken / "Vagrantfile").write_text(text, encoding="utf-8")
    result = _validate(vagrant, broken, tmp_path)
    assert result.returncode != 0
    assert "boxx" in result.stdout + result.stderr


def test_vagrantfile_asks_for_the_workshop_vm() -> None:
    text = VAGRANTFILE.read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # no comments
    assert re.search(r'config\.vm\.box\s*=\s*"debian/bookworm64"', code)

    for provider in ("virtualbox", "libvirt"):
        block = re.search(
            rf'config\.vm\.provider\s+"{provider}"\s+do\s+\|(\w+)\|(.*?)\n\s*end', code, re.S
        )
        assert block, f"no {provider} provider block"
        var, body = block.group(1), block.group(2)
        memory = re.search(rf"{var}\.memory\s*=\s*(\d+)", body)
        assert memory and 1024 <= int(memory.group(1)) <= 2048, f"{provider} memory"

    forward = re.search(r'"forwarded_port",([^\n]*(?:\n\s+[^\n]*)?)', code)
    assert forward, "no forwarded port"
    assert re.search(r"guest:\s*8000\b", forward.group(1))
    assert re.search(r'host_ip:\s*"127\.0\.0\.1"', forward.group(1))

    # Exactly one provisioner, and it is the repository's script ...
    assert len(re.findall(r"config\.vm\.provision\b", code)) == 1
    assert "scripts/vagrant-provision.sh" in code
    assert not re.search(r"apt-get|pip install", code), "a second install path"
    # ... which installs through scripts/setup.sh, as ./run does.
    assert os.access(PROVISION, os.X_OK)
    provision = PROVISION.read_text(encoding="utf-8")
    assert re.search(r'^"\$repo/scripts/setup\.sh"$', provision, re.M)
    assert not re.search(r"apt-get|pip install", provision), "a second install path"
    assert re.search(r"^scripts/setup\.sh", (ROOT / "run").read_text(encoding="utf-8"), re.M)


def _snapshot(paths: list[Path]) -> dict[str, tuple[int, bytes] | None]:
    """mtime and content of each file (None if absent)."""
    out: dict[str, tuple[int, bytes] | None] = {}
    for path in paths:
        out[str(path)] = (path.stat().st_mtime_ns, path.read_bytes()) if path.is_file() else None
    return out


@needs_root
def test_setup_twice_changes_nothing() -> None:
    first = subprocess.run(
        [str(SETUP), "--test"], capture_output=True, text=True, timeout=900, check=False
    )
    assert first.returncode == 0, first.stderr
    watched = [
        ROOT / ".venv" / ".cnlab-installed",
        ROOT / ".venv" / "pyvenv.cfg",
        ROOT / ".venv" / "bin" / "cnlab",
        Path("/var/lib/dpkg/status"),
    ]
    before = _snapshot(watched)
    second = subprocess.run(
        [str(SETUP), "--test"], capture_output=True, text=True, timeout=120, check=False
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout == "" and second.stderr == "", "the second run did something"
    assert _snapshot(watched) == before


@needs_root
def test_vagrant_provision_twice_writes_once(tmp_path: Path) -> None:
    env = dict(os.environ, DESTDIR=str(tmp_path))
    first = subprocess.run(
        [str(PROVISION)], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert first.returncode == 0, first.stderr
    wrapper = tmp_path / "usr/local/bin/cnlab"
    motd = tmp_path / "etc/motd"
    assert "wrote /usr/local/bin/cnlab" in first.stderr and "wrote /etc/motd" in first.stderr

    greeting = motd.read_text(encoding="utf-8")
    assert "sudo cnlab" in greeting and "cnlab serve" in greeting
    assert "127.0.0.1:8000" in greeting

    # The wrapper runs this checkout's cnlab.
    assert os.access(wrapper, os.X_OK)
    helped = subprocess.run(
        [str(wrapper), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert helped.returncode == 0 and "usage: cnlab" in helped.stdout

    before = _snapshot([wrapper, motd])
    second = subprocess.run(
        [str(PROVISION)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout == "" and second.stderr == ""
    assert _snapshot([wrapper, motd]) == before
