"""A client of ``python -m checks.server``: the warm path the TUI uses.

The benchmark starts one server process (as the TUI does), sends JSON-line
requests and times each round trip from ``write`` to the parsed reply.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.worlds import ROOT, child_env


class CheckServer:
    """One ``checks.server`` process for ``world``; close it with :meth:`close`."""

    def __init__(self, world: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "checks.server", "--world", world],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=child_env(),
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def request(self, op: str, **fields: Any) -> tuple[float, dict[str, Any]]:
        """(seconds, reply) of one request; raises on an error reply."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        started = time.perf_counter()
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        took = time.perf_counter() - started
        if not line:
            raise RuntimeError("the check server stopped")
        reply: dict[str, Any] = json.loads(line)
        if reply.get("error"):
            raise RuntimeError(f"check server: {reply['error']}")
        return took, reply

    def close(self) -> None:
        """End of stdin stops the server; kill it (by its PID) if it lingers."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
