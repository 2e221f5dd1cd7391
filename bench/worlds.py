"""Worlds made by the benchmark: unique names, always destroyed.

Every world is named ``bench-<pid>-<n>``; :func:`made` remembers each one so
that :func:`destroy_all` (called at exit, also after Ctrl-C) removes whatever
a failed section left behind. Nothing here touches the real host's network.
"""

from __future__ import annotations

import compileall
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from lab import childwait
from lab.debug import quietly
from lab.world import World

ROOT = Path(__file__).resolve().parent.parent
_SCRIPT = Path(sys.executable).with_name("cnlab")
#: The installed ``cnlab`` command of this venv (else ``python -m lab``, the same code).
CNLAB = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "lab"]
_counter = itertools.count()
_made: list[World] = []
_state_dir: Path | None = None


def new_world() -> World:
    """A fresh world name of this process (nothing is built yet)."""
    world = World(f"bench-{os.getpid()}-{next(_counter)}")
    _made.append(world)
    return world


@contextlib.contextmanager
def scratch_world() -> Iterator[World]:
    """A world name for one block; the world is destroyed when the block ends."""
    world = new_world()
    try:
        yield world
    finally:
        world.destroy()


def destroy_all() -> None:
    """Destroy every world this process named (idempotent)."""
    for world in _made:
        with quietly("destroying a benchmark world"):
            world.destroy()
    for world in _made:
        lock = world.dir.parent / f"{world.name}.lock"
        with contextlib.suppress(OSError):
            lock.unlink()


def state_dir() -> Path:
    """A private progress store, so ``cnlab`` processes never touch the learner's."""
    global _state_dir
    if _state_dir is None:
        _state_dir = Path(tempfile.mkdtemp(prefix="cnlab-bench-state-"))
    return _state_dir


def child_env() -> dict[str, str]:
    """Environment of the ``cnlab``/server processes the benchmark starts."""
    env = dict(os.environ)
    env["CNLAB_STATE_DIR"] = str(state_dir())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("CNLAB_LESSONS", None)
    return env


def cnlab(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``cnlab ARGS`` as a whole new process (``python -m lab``), output captured."""
    result = subprocess.run(
        [*CNLAB, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"cnlab {' '.join(args)} failed: {result.stderr.strip()[-300:]}")
    return result


def timed_process(argv: Sequence[str], check: bool = True, timeout: float = 120) -> float:
    """Seconds from starting ``argv`` as a new process until it has ended.

    Its output goes to a file, not a pipe (a world's init, started by the process,
    outlives it), and its end is seen on a pidfd (:mod:`lab.childwait`), not by
    ``subprocess``'s polling, which rounds a run up to the next of its sleeps.
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
            cwd=ROOT,
        )
        try:
            code = childwait.communicate(proc, b"", timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = 124
        took = time.perf_counter() - started
        if check and code != 0:
            out.seek(0)
            tail = out.read().decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"{' '.join(argv)} failed (exit {code}): {tail}")
    return took


def compile_bytecode() -> None:
    """Write the project's bytecode, as an installed cnlab has it (pip compiles at install).

    Without it, a run with ``PYTHONDONTWRITEBYTECODE=1`` in its environment would
    compile every module of ``lab`` and ``checks`` in every cold process it times.
    """
    for package in ("lab", "checks"):
        compileall.compile_dir(ROOT / package, quiet=1)
