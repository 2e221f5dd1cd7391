"""Follow a world's events file: what the learner typed and when a prompt came back.

The world's shells (nested ones too) append tab-separated lines to
``<world dir>/events`` (see ``lab/assets/prompt.sh`` and ``ps0.sh``)::

    1718000000.123456<TAB>host<TAB>cmd<TAB>sudo ip netns add netns0
    1718000000.234567<TAB>host<TAB>done<TAB>0

:class:`EventsTail` reads only the bytes added since the last call (a stat
and a read, cheap enough to call every 100 ms on the event loop), starts over
when the file is replaced by a rebuilt world, and keeps an incomplete last
line for the next call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Event:
    time: float
    namespace: str
    kind: str  # "cmd" or "done"
    value: str  # the command, or the exit status of the last one


def parse_line(line: str) -> Event | None:
    parts = line.rstrip("\n").split("\t", 3)
    if len(parts) != 4 or parts[2] not in ("cmd", "done"):
        return None
    try:
        when = float(parts[0])
    except ValueError:
        when = 0.0
    return Event(when, parts[1], parts[2], parts[3])


class EventsTail:
    """New events of one file since the last :meth:`poll`."""

    def __init__(self, path: Path, from_end: bool = True) -> None:
        self.path = path
        self._ident: tuple[int, int] | None = None
        self._offset = 0
        self._partial = b""
        self.done_count = 0
        if from_end:
            self.skip_to_end()

    def skip_to_end(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            self._ident, self._offset = None, 0
            return
        self._ident, self._offset, self._partial = (st.st_dev, st.st_ino), st.st_size, b""

    def poll(self) -> list[Event]:
        try:
            st = os.stat(self.path)
        except OSError:
            self._ident, self._offset, self._partial = None, 0, b""
            return []
        ident = (st.st_dev, st.st_ino)
        if ident != self._ident or st.st_size < self._offset:
            self._ident, self._offset, self._partial = ident, 0, b""
        if st.st_size == self._offset:
            return []
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read(st.st_size - self._offset)
        except OSError:
            return []
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        events = []
        for raw in lines:
            event = parse_line(raw.decode(errors="replace"))
            if event is not None:
                events.append(event)
                if event.kind == "done":
                    self.done_count += 1
        return events
