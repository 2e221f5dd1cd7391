"""What Python 3.10 lacks and cnlab uses (Ubuntu 22.04, GitHub's ubuntu-22.04 runners and
Gradescope's image have 3.10): one place, so the rest of the code reads as 3.11.

Also remember on 3.10: ``asyncio.wait_for`` raises ``asyncio.TimeoutError``, which
is not yet the built-in ``TimeoutError``; catch ``asyncio.TimeoutError``.
"""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum

    import tomllib
else:  # pragma: no cover - exercised by the Python 3.10 run
    import tomli as tomllib

    class StrEnum(str, Enum):
        """A str whose str() and format() are its value, as 3.11's ``enum.StrEnum``."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return str(self.value).__format__(spec)


__all__ = ["StrEnum", "tomllib"]
