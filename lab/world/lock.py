"""One command changes a world at a time: an ``flock`` on ``/run/cnlab/<world>.lock``.

A command that builds, resets or removes a world holds the lock exclusively; one that
only reads it (``cnlab check``) holds it shared. A second command waits and says so,
rather than building over a half-built world. The lock is a file beside the world's
folder, not in it, so removing the world never removes a lock someone holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from lab.errors import WorldBusy
from lab.i18n import _
from lab.world.paths import RUN_ROOT


def lock_path(name: str) -> Path:
    return RUN_ROOT / f"{name}.lock"


def remove_lock_if_free(name: str) -> None:
    """Remove the world's lock file unless someone (this process included) holds it."""
    path = lock_path(name)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink(missing_ok=True)  # a waiter on this inode notices and retries
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(name: str, exclusive: bool = True, wait: float = 30.0) -> Iterator[None]:
    """Hold the world's lock; say who is waiting rather than corrupting it.

    `cnlab down` removes the lock file while holding it; a waiter that then gets
    the lock on the removed file notices (the inode changed) and tries again.
    """
    RUN_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = lock_path(name)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + wait
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if not told:
                print(
                    _(
                        "cnlab: world {name!r} is busy with another cnlab command; waiting..."
                    ).format(name=name),
                    file=sys.stderr,
                )
                told = True
            if time.monotonic() > deadline:
                raise WorldBusy(
                    _("world {name!r} stayed busy for {wait:.0f} s; try again later").format(
                        name=name, wait=wait
                    )
                ) from None
            time.sleep(0.05)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        if exclusive and not (RUN_ROOT / name).exists():
            path.unlink(missing_ok=True)  # no world (a failed build): no lock file either
        os.close(fd)
