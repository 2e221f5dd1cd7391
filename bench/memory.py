"""Memory: processes from /proc/PID/status and smaps_rollup, the kernel from /proc/meminfo.

* A process: ``VmRSS`` (resident now), ``VmHWM`` (peak resident) and ``Pss``
  (resident, shared pages divided among the processes sharing them).
* A probe worker (the child the check engine forks per namespace): its
  ``Private_Dirty``+``Private_Clean`` after a real probe, i.e. what the fork
  costs beyond the pages it shares with the check server (:mod:`bench.probe_memory`).
* A world: the RSS of its processes (the DNS responder), plus the kernel's
  memory for its namespaces, links and rules, estimated as the change in the
  bytes of *active* slab objects (``/proc/slabinfo``: active_objs × objsize,
  summed, so objects freed by earlier worlds and kept in the caches do not
  hide new ones) plus ``/proc/meminfo``'s KernelStack, PageTables and Percpu,
  while K worlds at lesson 8's start state stand, divided by K. Other programs
  allocate too, so this is an estimate: the median over repeats is reported,
  with min and max.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

from bench.options import Options
from bench.worlds import ROOT, child_env, new_world

KERNEL_FIELDS = ("KernelStack", "PageTables", "Percpu")


def proc_status_kb(pid: str) -> dict[str, int]:
    """``rss_kb``, ``hwm_kb`` and ``pss_kb`` of process ``pid`` (``"self"`` works)."""
    out: dict[str, int] = {}
    wanted = {"VmRSS:": "rss_kb", "VmHWM:": "hwm_kb"}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                key = line.split(None, 1)[0]
                if key in wanted:
                    out[wanted[key]] = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    out["pss_kb"] = int(line.split()[1])
    except OSError:
        pass
    return out


def meminfo_kb() -> dict[str, int]:
    with open("/proc/meminfo", encoding="ascii") as fh:
        return {line.split(":")[0]: int(line.split()[1]) for line in fh}


def active_slab_kb() -> int:
    """kB held by live slab objects (active_objs × objsize over every cache)."""
    total = 0
    with open("/proc/slabinfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("slabinfo", "#")):
                continue
            parts = line.split()
            total += int(parts[1]) * int(parts[3])
    return total // 1024


def kernel_kb(info: dict[str, int]) -> int:
    """Active slab objects plus the meminfo fields of :data:`KERNEL_FIELDS`."""
    return active_slab_kb() + sum(info.get(f, 0) for f in KERNEL_FIELDS)


def world_memory(opts: Options) -> dict[str, Any]:
    from lab.course_run import build_lesson
    from lab.lessons import load_course

    lesson = load_course().lessons[-1]
    per_world: list[float] = []
    available: list[float] = []
    rss: list[int] = []
    for _ in range(1 if opts.quick else 3):
        worlds = [new_world() for _ in range(opts.memory_worlds)]
        before = meminfo_kb()
        kernel_before = kernel_kb(before)
        try:
            for world in worlds:
                build_lesson(world, lesson)
            time.sleep(0.5)
            after = meminfo_kb()
            kernel_after = kernel_kb(after)
            for world in worlds:
                rss.append(sum(proc_status_kb(str(p)).get("rss_kb", 0) for p in world.processes()))
        finally:
            for world in worlds:
                world.destroy()
        per_world.append((kernel_after - kernel_before) / len(worlds))
        available.append((before["MemAvailable"] - after["MemAvailable"]) / len(worlds))
    return {
        "lesson": lesson.id,
        "worlds_at_once": opts.memory_worlds,
        "kernel_kb_per_world": {
            "median": round(statistics.median(per_world)),
            "min": round(min(per_world)),
            "max": round(max(per_world)),
        },
        "memavailable_drop_kb_per_world": round(statistics.median(available)),
        "processes_rss_kb_per_world": round(statistics.median(rss)),
    }


def server_memory() -> dict[str, Any]:
    """The check server after checks of lesson 8, and one probe worker it forks."""
    from bench.server import CheckServer
    from lab.course_run import build_lesson
    from lab.lessons import load_course

    world = new_world()
    try:
        lesson = load_course().lessons[-1]
        build_lesson(world, lesson)
        server = CheckServer(world.name)
        try:
            for _ in range(3):
                server.request("check", lesson=lesson.id)
            status = proc_status_kb(str(server.pid))
        finally:
            server.close()
        worker = subprocess.run(
            [sys.executable, "-m", "bench.probe_memory", "--world", world.name],
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=ROOT,
            timeout=60,
            check=True,
        )
        return {"server": status, "probe_worker_private_kb": int(worker.stdout.strip())}
    finally:
        world.destroy()


def run(opts: Options) -> dict[str, Any]:
    return {"world": world_memory(opts), "check_server": server_memory()}
