"""Waiting for a child process with a timeout, without polling.

``subprocess`` waits with a timeout by polling: it checks, sleeps 1 ms, checks,
sleeps 2 ms, then 4, 8, 16, 32 and 50 ms. A child that needed 17 ms is seen
gone after 31 ms, one that needed 33 ms after 63 ms: a lesson's start script
(a few ``ip`` and ``iptables`` processes) was measured at 16, 32 or 64 ms,
never in between. The kernel can say the moment a child ends instead: a
*pidfd* (Linux 5.3) becomes readable when its process exits, so ``select``
on it wakes exactly then, or at the timeout.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time
from typing import IO

_CHUNK = 1 << 16


def communicate(proc: subprocess.Popen[bytes], data: bytes, timeout: float) -> int:
    """Feed ``data`` to ``proc``'s stdin (a pipe), close it, and return the exit status
    once ``proc`` ends; :class:`subprocess.TimeoutExpired` after ``timeout`` seconds
    (the child is left running, as ``Popen.wait`` leaves it).

    The pipe is written as the child reads it, so a child that reads its input a
    little at a time (``bash -s``, which leaves the rest to a nested ``bash``) sees
    it exactly as it would from ``subprocess.run(input=...)``.
    """
    assert proc.stdin is not None
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # an old kernel or Python: poll as subprocess does
        proc.communicate(data, timeout)
        return proc.wait()
    deadline = time.monotonic() + timeout
    pending = memoryview(data)
    stdin = proc.stdin
    try:
        os.set_blocking(stdin.fileno(), False)
        if not pending:
            stdin.close()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            writing = [stdin.fileno()] if not stdin.closed else []
            ended, writable, _ = select.select([pidfd], writing, [], left)
            if writable:
                pending = _feed(stdin.fileno(), pending)
                if not pending:
                    stdin.close()
            if ended:
                break
    finally:
        with contextlib.suppress(OSError):
            os.close(pidfd)
        with contextlib.suppress(OSError):
            stdin.close()
    return proc.wait()


def _feed(fd: int, pending: memoryview) -> memoryview:
    """Write what the pipe takes now; what is left (nothing if the reader is gone)."""
    try:
        written = os.write(fd, pending[:_CHUNK])
    except BlockingIOError:
        return pending
    except BrokenPipeError:
        return memoryview(b"")
    return pending[written:]


def scratch_file() -> IO[bytes]:
    """An unnamed temporary file for a child's output (``O_TMPFILE``: the kernel gives
    it no name, so nothing is left behind); ``tempfile`` (which imports ``random``)
    only where the kernel or file system cannot."""
    where = os.environ.get("TMPDIR") or "/tmp"
    try:
        fd = os.open(where, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):
        import tempfile

        return tempfile.TemporaryFile()
    return os.fdopen(fd, "w+b")
