"""PID 1 of a world: the init of the world's own PID namespace (stdlib only).

A PID namespace gives the processes inside it their own numbering: the first
process is PID 1 there, and nothing inside can see, signal or name (``netns
PID``) a process outside. A PID namespace needs its PID 1 alive: when it dies,
the kernel kills every other process inside, and no process can enter the
namespace any more. So a world keeps a tiny init of its own, which does the one
job of an init: it reaps orphans (a server the learner started and whose shell
has gone), so that no zombie piles up.

It ignores every signal it has no handler for, as the kernel makes a PID 1 do
(``kill -9 1`` inside the world does nothing); the lab ends it from outside with
SIGKILL, by PID, when the world is torn down.

Run as ``python3 -I -S worldinit.py WORLD``; its name in ``ps`` is ``cnlab-init``.
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_NAME = 15


def main() -> None:
    ctypes.CDLL(None).prctl(PR_SET_NAME, b"cnlab-init", 0, 0, 0)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:  # SIGCHLD stays pending while blocked: no exit is ever missed
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        signal.sigwait({signal.SIGCHLD})


if __name__ == "__main__":
    main()
