"""Entering a world: the ``nsenter`` line, the environment and the script runner.

Everything the lab runs as the learner goes through one argv prefix::

    nsenter --mount=W/mnt --net=W/host|W/inet --pid=W/pid --uts=W/uts --wd=HOME --
        [python nsgate.py NS ALLOWED --]      only for a namespace the learner made
            COMMAND

so ``ps``/``pkill`` see only the world, ``hostname`` names only the world, and
``netns 1`` is the world's own init. A namespace the learner made (``ip netns add
netns0``) is entered through :mod:`lab.nsgate`, which refuses any namespace the world
did not make itself: a learner who bind-mounts the real machine's namespace into
the world's ``/run/netns`` does not get a shell in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lab import childwait, nsutil
from lab.errors import LabError
from lab.i18n import _
from lab.names import NAME_RE
from lab.world.paths import (
    HOST_NS,
    INTERNET_NS,
    LOCAL_SBIN,
    NSGATE_SCRIPT,
    SYSTEM_PATH,
    WorldPaths,
    list_worlds,
)
from lab.world.teardown import namespace_ids


def shell_vars(w: WorldPaths) -> dict[str, str]:
    """What every shell of the world exports (its prompt, history and sh's rc file)."""
    return {
        "CNLAB_WORLD": w.name,
        "CNLAB_DIR": str(w.dir),
        "PROMPT_COMMAND": '. "$CNLAB_DIR/prompt.sh"',
        "PS0": '$(. "$CNLAB_DIR/ps0.sh")',
        "HISTFILE": str(w.dir / "history"),
        "HISTCONTROL": "",
        "ENV": str(w.dir / "etc" / "shrc"),
    }


def env(w: WorldPaths, term: str | None = None) -> dict[str, str]:
    """The environment of a learner's shell inside this world."""
    result = {
        "PATH": f"{w.dir / 'bin'}:{LOCAL_SBIN}:/usr/local/bin:{SYSTEM_PATH}",
        "HOME": str(w.home),
        "USER": "root",
        "LOGNAME": "root",
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TERM": term or os.environ.get("TERM", "xterm-256color"),
    }
    result.update(shell_vars(w))
    return result


def nsenter_argv(
    *,
    mount: Path | None = None,
    net: Path | None = None,
    pid: Path | None = None,
    uts: Path | None = None,
    wd: Path | None = None,
) -> list[str]:
    """``nsenter`` with the namespace files given (and no others), ending in ``--``."""
    options = (("mount", mount), ("net", net), ("pid", pid), ("uts", uts), ("wd", wd))
    return ["nsenter", *(f"--{opt}={path}" for opt, path in options if path), "--"]


def learner_namespaces(w: WorldPaths) -> list[str]:
    """Names in the world's /run/netns (what `ip netns list` shows inside)."""
    out = subprocess.run(
        [*nsenter_argv(mount=w.mnt), "ls", "-1", "/run/netns"],
        capture_output=True,
        text=True,
        errors="replace",  # a name is bytes: the learner may make any
        timeout=5,
        check=False,
    ).stdout
    return sorted(line for line in out.splitlines() if line)


def enter_argv(w: WorldPaths, ns: str | None = None) -> list[str]:
    """argv prefix that runs a command inside this world, in namespace ``ns``.

    Everything the lab runs as the learner enters the world's mount, PID and
    UTS namespaces: ``ps``/``pkill`` see only the world, ``hostname`` names
    only the world, and ``netns 1`` is the world's own init.
    """
    net = w.inet if ns == INTERNET_NS else w.host
    argv = nsenter_argv(mount=w.mnt, net=net, pid=w.pidns, uts=w.uts, wd=w.home)
    if ns is None or ns in (HOST_NS, INTERNET_NS):
        return argv
    have = learner_namespaces(w)
    if not NAME_RE.match(ns) or ns not in have:
        names = ", ".join([HOST_NS, INTERNET_NS, *have])
        raise LabError(
            _("no namespace {ns!r} in world {w_name!r} (it has: {names})").format(
                ns=ns, w_name=w.name, names=names
            ),
            2,
        )
    allowed = ",".join(f"{dev}:{ino}" for dev, ino in sorted(own_netns_ids(w)))
    return [*argv, sys.executable, "-I", "-S", str(NSGATE_SCRIPT), ns, allowed, "--"]


def own_netns_ids(w: WorldPaths) -> set[tuple[int, int]]:
    """The network namespaces the world made itself (its host, its internet and
    what ``ip netns add`` made in it): never the real machine's, nor another
    world's, whatever is linked or bind-mounted into the world's /run/netns."""
    net, _mnt = namespace_ids(w)
    points = nsutil.mountpoints()
    for other in list_worlds():
        theirs = WorldPaths(other)
        for path in (theirs.host, theirs.inet):
            if other != w.name and points.get(str(path)) == "nsfs":
                net.discard(nsutil.ns_id(path))
    return net


def run(
    w: WorldPaths,
    script: str,
    ns: str | None = None,
    timeout: float = 30.0,
    check: bool = False,
    shims: bool = True,
    record: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a bash script inside the world (non-interactively) and capture it.

    Output goes through temporary files rather than pipes, so a server the
    script leaves running in the background cannot keep this call waiting.
    ``shims=False`` leaves the learner's helpers (sudo, iptables...) out of
    PATH: lesson start scripts call the real tools, one process fewer each.
    ``record=True`` runs it as the learner: every bash of it (nested ones too)
    records its commands in the world's events file, as the learner's shells do
    (``lab/assets/record.sh``), so ``cnlab solve`` has looked at what it shows.
    """
    environ = env(w)
    if not shims:
        environ["PATH"] = SYSTEM_PATH
    if record:
        environ["BASH_ENV"] = str(w.dir / "record.sh")
    with childwait.scratch_file() as out, childwait.scratch_file() as err:
        proc = subprocess.Popen(
            [*enter_argv(w, ns), "bash", "-s"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            env=environ,
            cwd=w.home,
        )
        try:  # subprocess.run would poll for the end: see lab.childwait
            code = childwait.communicate(proc, script.encode(), timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = 124
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(
            proc.args if code != 124 else [],
            code,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )
    if check and result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise LabError(
            _("a command failed in world {w_name!r} (exit {result_returncode})").format(
                w_name=w.name, result_returncode=result.returncode
            )
            + (f": {lines[-1]}" if lines else "")
        )
    return result


def sh_quote(value: str) -> str:
    """``value`` as one word for sh (single quotes, any ``'`` spelled out)."""
    return "'" + value.replace("'", "'\\''") + "'"
