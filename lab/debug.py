"""``CNLAB_DEBUG=1``: the whole story of what went wrong, for whoever reports a bug.

The lab speaks to learners in one-line errors. A developer chasing a bug needs more:
with ``CNLAB_DEBUG=1`` in the environment, any command prints the full traceback of an
unexpected error, and every error the lab deliberately swallows (a websocket already
closed, a process already gone, a table the kernel would not list) is logged at debug
level, with its traceback, on standard error. Without it, nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging


def _log() -> logging.Logger:
    import logging  # only when debugging (or when a program using the lab already logs)

    return logging.getLogger("cnlab")


def enabled() -> bool:
    """True when ``CNLAB_DEBUG`` is set to anything but empty or ``0``."""
    return os.environ.get("CNLAB_DEBUG", "") not in ("", "0")


def configure() -> None:
    """Send the lab's debug log to standard error, if ``CNLAB_DEBUG`` asks for it."""
    if not enabled():
        return
    import logging

    log = _log()
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("cnlab debug: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)


def ignored(what: str) -> None:
    """Log the exception being handled, which the caller deliberately ignores.

    Without ``logging`` imported, no handler can exist to receive it: skipped."""
    if "logging" in sys.modules:
        _log().debug("ignored an error while %s", what, exc_info=True)


@contextlib.contextmanager
def quietly(what: str) -> Iterator[None]:
    """``contextlib.suppress(Exception)`` that leaves a trace in the debug log."""
    try:
        yield
    except Exception:
        ignored(what)
