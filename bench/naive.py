"""The baseline for resets: the same start state, built one process per command.

A lesson's ``start.sh`` feeds ``ip -batch`` many commands at once. The naive
way a person (or a simple script) builds that state runs one ``ip`` process per
line instead. :func:`naive_script` rewrites a rendered start script that way:

* ``ip [OPTS] -batch - <<'TAG'`` … ``TAG`` becomes ``ip [OPTS] LINE`` per line
  (``netns add X`` becomes ``ip netns add X``);
* every other line (``iptables``, ``echo 1 > /proc/...``) is kept as it is,
  since it already is one process per command.

The result runs in a fresh world with ``World.run`` and must build the same
state (the benchmark compares the worlds' snapshots once per lesson).
"""

from __future__ import annotations

import re

_BATCH = re.compile(r"^(?P<cmd>ip(?:\s+\S+)*?)\s+-batch\s+-\s+<<-?\s*'?(?P<tag>\w+)'?\s*$")


def naive_script(script: str) -> str:
    """``script`` with every ``ip -batch`` here-document expanded to single commands."""
    out: list[str] = []
    lines = iter(script.splitlines())
    for line in lines:
        match = _BATCH.match(line.strip())
        if not match:
            out.append(line)
            continue
        prefix, tag = match.group("cmd"), match.group("tag")
        for body in lines:
            if body.strip() == tag:
                break
            if body.strip() and not body.lstrip().startswith("#"):
                out.append(f"{prefix} {body.strip()}")
    return "\n".join(out) + "\n"


def count_commands(script: str) -> int:
    """How many tool processes a script starts: one per command line (``true`` aside)."""
    return sum(
        1
        for line in script.splitlines()
        if line.strip() and not line.strip().startswith("#") and line.strip() != "true"
    )
