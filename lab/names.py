"""World names: the one word that becomes a folder, a lock file and namespace names.

A world's name ends up in paths (``/run/cnlab/NAME``, the progress folder) and in the
names of its namespaces and mounts, so it is checked once, here, before any of them is
made: a name like ``../../etc`` must never become a path. Both the world (its files)
and the progress store (a learner's JSON) check names with this; neither imports the
other for it.
"""

from __future__ import annotations

import re

from lab.errors import LabError
from lab.i18n import _

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def validate_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise LabError(
            _("invalid world name {name!r}: use 1-32 lowercase letters, digits, '-' or '_'").format(
                name=name
            ),
            status=2,
        )
    return name
