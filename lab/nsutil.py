"""Thin wrappers over the Linux calls that namespaces are made of.

A namespace lives as long as something references it: a process inside it, an
open file descriptor, or a bind mount of its ``/proc/PID/ns/*`` file. cnlab keeps
its worlds alive with bind mounts only, so no daemon is needed, and every
process can re-enter a world with ``setns(2)`` on those files.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_PRIVATE = 1 << 18
MS_REC = 0x4000
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_ulong]
PR_SET_NAME = 15


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(
    source: str, target: str | Path, fstype: str | None, flags: int, data: str | None = None
) -> None:
    _check(
        _libc.mount(
            source.encode(),
            str(target).encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def umount(target: str | Path, flags: int = MNT_DETACH) -> None:
    _check(_libc.umount2(str(target).encode(), flags), f"umount {target}")


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces of the given kinds."""
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    """Move the calling thread into the namespace open at ``fd``."""
    _check(_libc.setns(fd, nstype), "setns")


def set_names(hostname: str, domainname: str) -> None:
    """Set the UTS namespace's host and domain name (what `hostname` shows)."""
    _check(_libc.sethostname(hostname.encode(), len(hostname.encode())), "sethostname")
    _check(_libc.setdomainname(domainname.encode(), len(domainname.encode())), "setdomainname")


def set_view(path: str | Path, readonly: bool, bind: bool = False) -> None:
    """Make the mount at ``path`` (first bound onto itself if ``bind``) read-only or
    writable.

    A bind mount is a second view of the same files with flags of its own, so a
    view made read-only changes nothing for the other views of those files, and a
    writable view below a read-only one stays writable.
    """
    if bind:
        mount(str(path), path, None, MS_BIND)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC
    mount("none", path, None, flags | MS_RDONLY if readonly else flags)


def make_private_mountpoint(directory: Path) -> None:
    """Bind ``directory`` onto itself with private propagation.

    A mount namespace file may only be bind-mounted onto a mount that does not
    propagate, otherwise the kernel could build a reference loop.
    """
    mount(str(directory), directory, None, MS_BIND)
    mount("none", directory, None, MS_PRIVATE)


def mountpoints() -> dict[str, str]:
    """Mount points of the calling process's mount namespace: path -> fstype."""
    points: dict[str, str] = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields = left.split()
            mount_point = fields[4].replace("\\040", " ")
            points[mount_point] = right.split()[0]
    return points


def ns_id(path: str | Path) -> tuple[int, int] | None:
    """(device, inode) of the namespace at ``path``: unique across filesystems."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def processes_in(net_ids: set[tuple[int, int]], mnt_ids: set[tuple[int, int]]) -> list[int]:
    """PIDs whose network or mount namespace is one of the given (dev, inode) ids."""
    found: list[int] = []
    if not net_ids and not mnt_ids:  # e.g. a world not built yet: nothing to look for
        return found
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        for kind, wanted in (("net", net_ids), ("mnt", mnt_ids)):
            ident = ns_id(f"/proc/{entry.name}/ns/{kind}")
            if ident is not None and ident in wanted:
                found.append(int(entry.name))
                break
    return found


@dataclass(frozen=True)
class MountEntry:
    """One line of ``/proc/PID/mountinfo``."""

    id: int
    parent: int
    point: str
    fstype: str
    source: str


def _unescape(text: str) -> str:
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 2 or not fields[0].isdigit():
            continue
        entries.append(
            MountEntry(int(fields[0]), int(fields[1]), _unescape(fields[4]), tail[0], tail[1])
        )
    return entries


def processes_with_mount(sources: set[str]) -> list[int]:
    """PIDs in a mount namespace (other than ours) holding a mount from ``sources``."""
    mine = ns_id("/proc/self/ns/mnt")
    verdict: dict[tuple[int, int], bool] = {}
    found: list[int] = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        ident = ns_id(f"/proc/{entry.name}/ns/mnt")
        if ident is None or ident == mine:
            continue
        if ident not in verdict:
            try:
                # a path on this machine may hold any byte (a test made one): keep it as is
                with open(
                    f"/proc/{entry.name}/mountinfo", encoding="utf-8", errors="surrogateescape"
                ) as fh:
                    text = fh.read()
            except OSError:
                continue
            # most mount tables on a machine name none of them: no need to parse those
            verdict[ident] = any(s in text for s in sources) and any(
                m.source in sources for m in parse_mountinfo(text)
            )
        if verdict[ident]:
            found.append(int(entry.name))
    return found
