"""What the machine must offer before cnlab can build a world.

Namespaces are made and entered with ``unshare``/``setns``/``mount``, which need
CAP_SYS_ADMIN; everything network inside them needs CAP_NET_ADMIN, and probes
CAP_NET_RAW. Root on a machine has them all; root in a container often does not.
"""

from __future__ import annotations

import os
import shutil

from lab.errors import LabError
from lab.i18n import _

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
            _("cnlab builds network namespaces and needs root: run it with sudo (or as root)"),
            status=77,
        )


def require_tools() -> None:
    missing = [
        f"{tool} (package {pkg})" for tool, pkg in REQUIRED_TOOLS.items() if not shutil.which(tool)
    ]
    if missing:
        raise LabError(
            _("missing {value1}: run ./run once, or install them").format(
                value1=", ".join(missing)
            ),
            status=69,
        )


def require_netns() -> None:
    if not os.path.exists("/proc/self/ns/net"):
        raise LabError(
            _("this kernel has no network namespaces (CONFIG_NET_NS); cnlab cannot run here"), 69
        )


#: What building and probing a world takes, by bit number in the capability sets.
REQUIRED_CAPS = {
    "CAP_SYS_ADMIN": 21,  # unshare, setns and mount: the world's namespaces
    "CAP_NET_ADMIN": 12,  # links, addresses, routes, iptables inside them
    "CAP_NET_RAW": 13,  # ping and the checks' probes (raw sockets)
}


def effective_capabilities(status: str | None = None) -> int:
    """The calling process's effective capability set (``CapEff`` in /proc/self/status)."""
    if status is None:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            status = fh.read()
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def missing_capabilities(effective: int) -> list[str]:
    return [name for name, bit in REQUIRED_CAPS.items() if not effective >> bit & 1]


def require_capabilities() -> None:
    """Root is not enough in a container: its default capabilities lack SYS_ADMIN and
    NET_ADMIN. Say so before anything is made (no lock, no half world)."""
    missing = missing_capabilities(effective_capabilities())
    if missing:
        flags = " ".join(f"--cap-add {name.removeprefix('CAP_')}" for name in missing)
        raise LabError(
            _(
                "cnlab needs {value1}, which this root process lacks (a container with default "
                "capabilities?): run it on the machine or in a VM, or give the container "
                "{flags}"
            ).format(value1=", ".join(missing), flags=flags),
            status=77,
        )


def user_namespace_map(uid_map: str | None = None) -> str | None:
    """The uid map if this process is in a user namespace (not the machine's own)."""
    if uid_map is None:
        try:
            with open("/proc/self/uid_map", encoding="ascii") as fh:
                uid_map = fh.read()
        except OSError:
            return None
    fields = uid_map.split()
    if fields == ["0", "0", "4294967295"]:
        return None
    return " ".join(fields)


def why_mounts_fail(uid_map: str | None = None) -> str:
    """The likely reason the kernel refused a mount or namespace we had the capabilities for."""
    mapped = user_namespace_map(uid_map)
    if mapped is not None:
        return _(
            "this root is a user namespace's (uid map {mapped!r}: a rootless container?), "
            "which may not make these mounts; run cnlab as the machine's real root, or in "
            "a VM"
        ).format(mapped=mapped)
    return _(
        "the kernel refused although cnlab has CAP_SYS_ADMIN (a container's seccomp or "
        "AppArmor profile? Docker: --privileged); run cnlab on the machine or in a VM"
    )


def require_all() -> None:
    require_root()
    require_capabilities()
    require_tools()
    require_netns()
