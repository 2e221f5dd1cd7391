"""The learner's progress, saved atomically so a crash never leaves half a file.

One JSON file per world under ``/var/lib/cnlab/<world>/progress.json`` (kept
across reboots, unlike the world itself). Writes go to a temporary file in the
same folder, are flushed to disk, then renamed over the old file: a reader sees
either the old or the new content, never a mixture. A file that does not parse
is kept aside as ``progress.json.corrupt-<time>`` and never trusted: that
includes JSON that Python would accept but no writer of ours makes (``NaN``,
``Infinity``, arrays nested thousands deep, numbers too big for an int).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.i18n import normalize
from lab.names import validate_name  # a name like ../../x must never become a path

STATE_ROOT = Path(os.environ.get("CNLAB_STATE_DIR", "/var/lib/cnlab"))
FORMAT = 1


@dataclass
class LessonProgress:
    passed: list[str] = field(default_factory=list)
    completed: bool = False
    hints_used: int = 0
    solution_shown: bool = False
    commands: list[str] = field(default_factory=list)


@dataclass
class Progress:
    world: str
    current: str | None = None
    lessons: dict[str, LessonProgress] = field(default_factory=dict)
    updated: float = 0.0
    #: the language the learner chose (``--lang``, the TUI's palette); None: not chosen
    lang: str | None = None

    def lesson(self, lesson_id: str) -> LessonProgress:
        return self.lessons.setdefault(lesson_id, LessonProgress())

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "world": self.world,
            "current": self.current,
            "updated": self.updated,
            "lessons": {k: asdict(v) for k, v in self.lessons.items()},
            "lang": self.lang,
        }


def progress_path(world: str) -> Path:
    return STATE_ROOT / validate_name(world) / "progress.json"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number progress.json may hold")


def load(world: str) -> Progress:
    path = progress_path(world)
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("unknown format")
        lessons = {
            str(k): LessonProgress(
                passed=[str(m) for m in v.get("passed", [])],
                completed=bool(v.get("completed", False)),
                hints_used=int(v.get("hints_used", 0)),
                solution_shown=bool(v.get("solution_shown", False)),
                commands=[str(c) for c in v.get("commands", [])],
            )
            for k, v in dict(data.get("lessons", {})).items()
        }
        current = data.get("current")
        lang = data.get("lang")
        return Progress(
            world=world,
            current=str(current) if current else None,
            lessons=lessons,
            updated=float(data.get("updated", 0.0)),
            lang=normalize(lang) if isinstance(lang, str) else None,
        )
    except FileNotFoundError:
        return Progress(world=world)
    except (OSError, ValueError, TypeError, AttributeError, OverflowError, RecursionError):
        with contextlib.suppress(OSError):
            path.rename(path.with_name(f"{path.name}.corrupt-{int(time.time())}"))
        return Progress(world=world)


def _sweep_temporaries(folder: Path) -> None:
    """Remove temporary files of writers that died before renaming them (kill -9)."""
    for tmp in folder.glob(".progress-*.tmp"):
        pid = tmp.name.split("-")[1]
        dead = pid.isdigit() and int(pid) != os.getpid() and not os.path.exists(f"/proc/{pid}")
        with contextlib.suppress(OSError):
            if dead or time.time() - tmp.stat().st_mtime > 3600:
                tmp.unlink()


def save(progress: Progress) -> None:
    path = progress_path(progress.world)
    path.parent.mkdir(parents=True, exist_ok=True)
    progress.updated = time.time()
    payload = json.dumps(progress.to_json(), indent=2, sort_keys=True).encode()
    _sweep_temporaries(path.parent)
    import tempfile  # only when saving (it imports random)

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".progress-{os.getpid()}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
