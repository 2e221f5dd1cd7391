"""Enter one of a world's own network namespaces, by name, and run a command there.

``cnlab shell --ns NAME`` runs this inside the world (stdlib only, ``python3 -I
-S nsgate.py NAME ALLOWED -- COMMAND...``). What ``/run/netns/NAME`` points at is
the learner's to change: a symlink or a bind mount could lead to the real
machine's namespace. So the file is opened without following a symlink, and the
namespace *that open file descriptor* refers to must be one the lab checked
from outside (ALLOWED: ``dev:inode`` pairs); the same descriptor is then
entered, so nothing can be swapped in between.
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNET = 0x40000000


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: nsgate.py NAME ALLOWED -- COMMAND...", file=sys.stderr)
        return 2
    name, allowed_text = argv[0], argv[1]
    command = argv[3:]
    allowed = {tuple(int(x) for x in pair.split(":")) for pair in allowed_text.split(",") if pair}
    try:
        fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        print(f"cnlab: cannot open namespace {name!r}: {exc.strerror}", file=sys.stderr)
        return 2
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) not in allowed:
        print(
            f"cnlab: /run/netns/{name} is not a namespace this world made"
            " (a link or mount of another one?): not entering it",
            file=sys.stderr,
        )
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        print(f"cnlab: cannot enter {name!r}: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 2
    os.close(fd)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"cnlab: {command[0]}: {exc.strerror}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
