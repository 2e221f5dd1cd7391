"""Laptops people have: Apple Silicon and Windows get a VM without rsync.

* The Vagrantfile's Parallels and VMware providers use bento's Debian 12 box (its arm64
  build on an arm64 laptop), share the folder natively instead of rsync, and provision
  through the same ``scripts/vagrant-provision.sh`` (``vagrant validate`` is run on the
  whole file by tests/test_workshop.py; here a copy whose host CPU reads as arm64 is
  validated too).
* ``lima/cnlab.yaml`` is checked against the keys and types of Lima's template format
  (``limactl validate`` when Lima is installed): Debian 12 images for both aarch64 and
  x86_64, a read-only mount (Lima's own sharing, no rsync), no containerd, the port of
  ``cnlab serve`` on the Mac's loopback, a provisioning script bash accepts that copies the
  clone and runs the same provisioning script as Vagrant.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_workshop import _vagrant, _validate

VAGRANTFILE = ROOT / "Vagrantfile"
LIMA = ROOT / "lima" / "cnlab.yaml"

#: The top-level keys of Lima's template format (lima's default.yaml) this file may use.
LIMA_KEYS = {
    "vmType",
    "os",
    "arch",
    "images",
    "cpus",
    "memory",
    "disk",
    "mounts",
    "mountType",
    "ssh",
    "containerd",
    "provision",
    "probes",
    "portForwards",
    "message",
    "env",
    "networks",
    "hostResolver",
    "propagateProxyEnv",
    "caCerts",
    "rosetta",
    "param",
    "minimumLimaVersion",
    "vmOpts",
    "timezone",
    "firmware",
    "video",
    "audio",
}


def _code(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def test_vagrantfile_has_parallels_and_vmware_with_an_arm64_box() -> None:
    text = VAGRANTFILE.read_text(encoding="utf-8")
    code = _code(text)
    assert re.search(r'\["parallels",\s*"vmware_desktop"\]\.each', code)
    assert '"bento/debian-12-arm64"' in code and '"bento/debian-12"' in code
    block = code.split('["parallels", "vmware_desktop"].each', 1)[1].split("\n  end", 1)[0]
    assert 'override.vm.synced_folder ".", "/opt/cnlab", disabled: true' in block
    assert re.search(r'override\.vm\.synced_folder "\.", "/mnt/cnlab-src"\s*\n', block)
    assert "rsync" not in block
    script = text.split("COPY_THEN_PROVISION = <<~SH", 1)[1].split("\nSH\n", 1)[0]
    assert "bash /opt/cnlab/scripts/vagrant-provision.sh" in script
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_vagrant_validates_the_arm64_variant(tmp_path: Path) -> None:
    vagrant = _vagrant()
    arm = tmp_path / "arm"
    arm.mkdir()
    text = VAGRANTFILE.read_text(encoding="utf-8").replace(
        'RbConfig::CONFIG["host_cpu"].to_s', '"aarch64"'
    )
    assert '"aarch64".match?' in text
    (arm / "Vagrantfile").write_text(text, encoding="utf-8")
    result = _validate(vagrant, arm, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _lima() -> dict[str, Any]:
    data = yaml.safe_load(LIMA.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_lima_template_shape() -> None:
    data = _lima()
    assert set(data) <= LIMA_KEYS, set(data) - LIMA_KEYS
    arches = {img["arch"]: img["location"] for img in data["images"]}
    assert set(arches) == {"aarch64", "x86_64"}
    for arch, url in arches.items():
        assert url.startswith("https://cloud.debian.org/images/cloud/bookworm/")
        assert url.endswith({"aarch64": "arm64", "x86_64": "amd64"}[arch] + ".qcow2")
    assert isinstance(data["cpus"], int) and data["cpus"] >= 2
    assert re.fullmatch(r"\d+(\.\d+)?GiB", data["memory"])
    (mount,) = data["mounts"]
    assert mount["mountPoint"] == "/mnt/cnlab-src" and mount["writable"] is False
    assert data["containerd"] == {"system": False, "user": False}
    assert {"guestPort": 8000, "hostIP": "127.0.0.1"} in data["portForwards"]
    (prov,) = data["provision"]
    assert prov["mode"] == "system"
    script = prov["script"]
    assert script.startswith("#!/bin/bash")
    assert "bash /opt/cnlab/scripts/vagrant-provision.sh" in script
    assert "rsync" not in script
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    for probe in data["probes"]:
        subprocess.run(["bash", "-n"], input=probe["script"], text=True, check=True)


def test_limactl_validate_when_available() -> None:
    limactl = shutil.which("limactl")
    if limactl is None:
        pytest.skip("Lima is not installed (the shape test above checks the template)")
    done = subprocess.run([limactl, "validate", str(LIMA)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
