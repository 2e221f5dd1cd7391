"""What the machine must offer before cnlab can build a world."""

from __future__ import annotations

import os
import shutil

from lab.errors import LabError

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "iptables": "iptables",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "bash": "bash",
}


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "cnlab builds network namespaces and needs root: run it with sudo (or as root)",
            status=77,
        )


def require_tools() -> None:
    missing = [
        f"{tool} (package {pkg})" for tool, pkg in REQUIRED_TOOLS.items() if not shutil.which(tool)
    ]
    if missing:
        raise LabError(f"missing {', '.join(missing)}: run ./run once, or install them", status=69)


def require_netns() -> None:
    if not os.path.exists("/proc/self/ns/net"):
        raise LabError(
            "this kernel has no network namespaces (CONFIG_NET_NS); cnlab cannot run here", 69
        )


def require_all() -> None:
    require_root()
    require_tools()
    require_netns()
