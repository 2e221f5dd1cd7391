"""The TUI as the learner feels it: start to prompt, command to green milestone.

Each run builds a world at lesson 1's start (not timed), then starts a fresh
``python -m bench.tui_probe`` process (see there for what is timed and how)
with its own empty progress store. A fresh process per run means Python's
start and the imports of Textual count, as they do for ``cnlab``.

The feedback (Enter to ✔) is also split into stages (:data:`STAGES`, from the
stamps the screen keeps in ``feedback_stages``), with the load average at the
end: issue 18's target (≤ 300 ms median) holds while a test suite runs beside.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.options import Options
from bench.stats import summarize
from bench.worlds import ROOT, child_env, scratch_world
from lab.course_run import build_lesson
from lab.lessons import load_course

PROBE = [sys.executable, "-m", "bench.tui_probe"]
TIMES = ("prompt_s", "prompt_in_app_s", "first_report_s", "feedback_s")
#: Where the feedback's time goes, stage by stage: (name, from stamp, to stamp), the
#: stamps being wall-clock times of the probe (typed, green), the shell's events
#: file (cmd: PS0 ran, done: the prompt hook ran) and the screen (seen, asked,
#: answered, shown); ``wait`` and ``check`` are durations (the check server's lock,
#: the server's own check).
STAGES = (
    ("enter_to_cmd", "typed", "cmd"),  # the shell reads the line, its PS0 hook runs
    ("cmd_to_done", "cmd", "done"),  # the command, then the prompt hook
    ("done_to_seen", "done", "seen"),  # the TUI reads the events file
    ("seen_to_asked", "seen", "asked"),  # the scheduler starts the check
    ("asked_to_answered", "asked", "answered"),  # the request (lock wait + server check)
    ("answered_to_shown", "answered", "shown"),  # the report applied to the panels
    ("shown_to_green", "shown", "green"),  # the probe sees ✔ (repaint, its 5 ms polls)
)


def available() -> str | None:
    """Why the TUI cannot be measured, or None when it can."""
    if importlib.util.find_spec("lab.tui.app") is None:
        return "lab.tui.app is not there yet"
    return None


def one_session(world_name: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cnlab-bench-tui-") as tmp:
        env = child_env()
        env["CNLAB_STATE_DIR"] = str(Path(tmp) / "state")
        out = Path(tmp) / "out.json"
        t0 = time.time()
        result = subprocess.run(
            [*PROBE, "--world", world_name, "--t0", repr(t0), "--out", str(out)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
        if result.returncode != 0 or not out.exists():
            raise RuntimeError(f"TUI probe failed: {result.stderr.strip()[-500:]}")
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return data


def stages_of(session: dict[str, Any]) -> dict[str, float] | None:
    """One run's feedback split into :data:`STAGES` (seconds), or None without stamps."""
    found = session.get("stages") or []
    if not found:
        return None
    stamps = {**found[-1], "typed": session["typed_at"], "green": session["green_at"]}
    out = {name: stamps[b] - stamps[a] for name, a, b in STAGES}
    out |= {"lock_wait": stamps["wait"], "server_check": stamps["check"]}
    return out


def run(opts: Options) -> dict[str, Any]:
    reason = available()
    if reason:
        return {"measured": False, "reason": reason}
    lesson = load_course().find("1")
    sessions = []
    with scratch_world() as world:
        for _ in range(opts.tui_runs):
            build_lesson(world, lesson)
            sessions.append(one_session(world.name))
    out: dict[str, Any] = {"measured": True, "runs": len(sessions)}
    out["load_avg"] = [round(x, 1) for x in os.getloadavg()]
    for key in TIMES:
        out[key.removesuffix("_s")] = summarize([s[key] for s in sessions])
    split = [found for s in sessions if (found := stages_of(s))]
    if split:
        out["stages"] = {k: summarize([f[k] for f in split]) for k in split[0]}
    out["command"] = sessions[0]["command"]
    out["milestone"] = sessions[0]["milestone"]
    for proc in ("tui", "check_server"):
        out[f"{proc}_memory"] = {
            k: round(statistics.median(s[proc].get(k, 0) for s in sessions))
            for k in ("rss_kb", "hwm_kb", "pss_kb")
        }
    return out
