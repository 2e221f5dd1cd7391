"""Where a world lives: its folder, the namespace files pinned in it, and its metadata.

::

    /run/cnlab/<world>/           a private mount point (nothing in it leaks out)
      mnt host inet pid uts       bind mounts of nsfs files: they keep the namespaces
                                  alive with no process holding them
      meta.json                   name, status, init's PID, DNS's PID, home, owner,
                                  the learner's uid and home
      bin/ etc/ bashrc ...        the helpers' tmpfs, the world's own rc files, passwd
      events history              what the learner typed, one line each
    /run/cnlab/<world>.lock       held while a command changes the world
    /var/lib/cnlab/<world>/home   the learner's home (a learner's world: outlives resets)
    /var/lib/cnlab/<world>/learner   the unprivileged learner's (/home/learner inside)

A :class:`WorldPaths` is only names and a JSON file: making one changes nothing.
The addresses of the world's own network (the article's VM ``10.0.2.15`` behind a
router ``10.0.2.2``, an "internet" answering on ``8.8.8.8``) are constants here, so
every layer above speaks of them by name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from lab import progress
from lab.names import NAME_RE

RUN_ROOT = Path(os.environ.get("CNLAB_RUN_DIR", "/run/cnlab"))
_LAB = Path(__file__).resolve().parent.parent
ASSETS = _LAB / "assets"
INIT_SCRIPT = _LAB / "worldinit.py"
NSGATE_SCRIPT = _LAB / "nsgate.py"
DNSD_SCRIPT = _LAB / "dnsd.py"
INIT_NAME = "cnlab-init"

HOST_ADDR = "10.0.2.15"
ROUTER_ADDR = "10.0.2.2"
INTERNET_ADDR = "8.8.8.8"
#: The internet's web server listens on INTERNET_ADDR:WEB_PORT (its page names the client).
WEB_PORT = 80

#: The world's one unprivileged user (the rootless lesson): ``su learner`` becomes it.
LEARNER = "learner"
#: Its uid and gid: the first number from here up that the machine's passwd and group
#: do not use (a real user's files must never become the learner's).
LEARNER_FIRST_ID = 1000

HOST_NS = "host"
INTERNET_NS = "internet"

#: The learner's helpers (lab/assets/): first in every PATH inside a world.
HELPERS = ("sudo", "su", "modprobe", "iptables", "ip", "aslearner")
#: Helpers only a grading world has (``cnlab grade``): commands that only observe, made
#: not to wait where nobody reads their output (see docs/grading.md, "A graded replay").
GRADED_HELPERS = ("ping",)
#: Helpers that also cover the real tool's file inside the world (called by full path).
STAND_INS = ("sudo", "su")
#: First in the PATH that Debian's profile, su and sudo's secure_path set for root.
LOCAL_SBIN = "/usr/local/sbin"
#: The real tools, without the helpers (lesson start scripts use these).
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class WorldPaths:
    """A world's names on disk; cheap to make, it changes nothing.

    ``keep_home``: the world is a learner's (made by ``cnlab`` or the TUI), so its
    home lives beside the learner's progress and outlives resets, lesson changes
    and ``cnlab down``; other worlds (grading, proofs, scratch) keep theirs in the
    world's folder, gone with the world.
    """

    name: str
    keep_home: bool = field(default=False, compare=False)

    @property
    def dir(self) -> Path:
        return RUN_ROOT / self.name

    @property
    def mnt(self) -> Path:
        return self.dir / "mnt"

    @property
    def host(self) -> Path:
        return self.dir / "host"

    @property
    def inet(self) -> Path:
        return self.dir / "inet"

    @property
    def pidns(self) -> Path:
        """The world's PID namespace (its init is PID 1 there)."""
        return self.dir / "pid"

    @property
    def uts(self) -> Path:
        """The world's UTS namespace (its own host name)."""
        return self.dir / "uts"

    @property
    def pins(self) -> tuple[Path, ...]:
        """The bind mounts that keep the world's namespaces alive."""
        return (self.mnt, self.host, self.inet, self.pidns, self.uts)

    @property
    def home(self) -> Path:
        """The learner's home inside the world: its own, so that the real root's
        ~/.bashrc (pyenv, conda, ...) never runs in the lab's shells.

        Where a world was built is recorded in its meta, so any handle on it
        finds the same home; before it exists, ``keep_home`` decides.
        """
        recorded = self.read_meta().get("home")
        if isinstance(recorded, str) and recorded:
            return Path(recorded)
        if self.keep_home:
            return progress.STATE_ROOT / self.name / "home"
        return self.dir / "home"

    @property
    def meta_path(self) -> Path:
        return self.dir / "meta.json"

    @property
    def events_path(self) -> Path:
        """Commands typed and prompts shown in the world's shells, one per line."""
        return self.dir / "events"

    def read_meta(self) -> dict[str, object]:
        try:
            data = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_meta(self, **changes: object) -> None:
        meta = self.read_meta()
        meta.update(changes)
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        os.replace(tmp, self.meta_path)

    @property
    def learner_uid(self) -> int | None:
        """The uid (and gid) of the world's :data:`LEARNER` (None for a world built before
        it had one)."""
        uid = self.read_meta().get("learner_uid")
        return uid if isinstance(uid, int) else None

    @property
    def lesson(self) -> str | None:
        value = self.read_meta().get("lesson")
        return value if isinstance(value, str) else None


def list_worlds() -> list[str]:
    """The names of the worlds under :data:`RUN_ROOT` (made or half-made)."""
    if not RUN_ROOT.is_dir():
        return []
    return sorted(p.name for p in RUN_ROOT.iterdir() if p.is_dir() and NAME_RE.match(p.name))
