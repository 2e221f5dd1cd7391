"""One headless TUI session, timed from inside (run by :mod:`bench.tui_bench`).

``python -m bench.tui_probe --world W --t0 EPOCH --out FILE`` starts the real
app (:class:`lab.tui.app.LabApp`, the real course, real check server) under
``App.run_test()`` in a world already at lesson 1's start, and records:

* ``prompt_s``: from ``--t0`` (the parent's clock just before it started this
  process: so Python start and imports count) until the shell's ``[host]``
  prompt is on the emulated screen, i.e. the learner can type;
* ``prompt_in_app_s``: the same, from the app's construction only;
* ``first_report_s``: until the first check report is shown;
* ``feedback_s``: from pressing Enter on lesson 1's first solution command
  (``iptables -N ROOT_NS``) until the milestone panel shows that milestone ✔;
* ``rss_kb``/``hwm_kb`` of this process and of its check server (VmRSS/VmHWM).

Headless: Textual composes frames as on a terminal but writes them nowhere.
"""

from __future__ import annotations

import time

T_IMPORT = time.time()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench.memory import proc_status_kb  # noqa: E402

POLL = 0.005


async def _until(pilot: Any, cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await pilot.pause(POLL)
    return cond()


async def session(world: str, t0: float) -> dict[str, Any]:
    from lab import priority
    from lab.tui.app import LabApp

    priority.raise_priority()  # as lab.tui.app.run_app does
    made = time.time()
    app = LabApp(world, "1")
    lesson = app.course.find("1")
    command = next(s.command for s in lesson.solution_steps() if s.command)
    # the first milestone the network decides (lesson 1's first command marks the host's
    # firewall: root-ns-chain); one the learner earns by looking takes several commands
    target = next(m for m in lesson.milestones if not m.observes)
    out: dict[str, Any] = {"command": command, "milestone": target.id}

    def screen() -> str:
        return "\n".join(app.lab.shell.display_lines())

    def panel() -> str:
        return str(app.lab.query_one("#milestones-body").render())

    async with app.run_test(size=(120, 36)) as pilot:
        if not await _until(pilot, lambda: "[host]" in screen(), 20):
            raise RuntimeError(f"no prompt; screen:\n{screen()}")
        now = time.time()
        out["prompt_s"] = now - t0
        out["prompt_in_app_s"] = now - made
        if not await _until(pilot, lambda: app.lab.report is not None, 20):
            raise RuntimeError("no first check report")
        out["first_report_s"] = time.time() - t0
        if f"✔ {target.title}" in panel():
            raise RuntimeError(f"{target.id} is green before the command")
        await pilot.press(*command)
        started = time.monotonic()
        out["typed_at"] = time.time()
        await pilot.press("enter")
        if not await _until(pilot, lambda: f"✔ {target.title}" in panel(), 10):
            raise RuntimeError(f"{target.id} never turned green; panel:\n{panel()}")
        out["feedback_s"] = time.monotonic() - started
        out["feedback_internal_s"] = list(app.lab.feedback_latencies)
        out["green_at"] = time.time()
        out["stages"] = list(app.lab.feedback_stages)
        out["tui"] = proc_status_kb("self")
        proc = app.lab.checker.proc
        out["check_server"] = proc_status_kb(str(proc.pid)) if proc else {}
        out["imports_s"] = made - T_IMPORT
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tui_probe")
    parser.add_argument("--world", required=True)
    parser.add_argument("--t0", type=float, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = asyncio.run(session(args.world, args.t0))
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
