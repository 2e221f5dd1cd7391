"""cnlab: an offline teaching lab for Linux container networking.

The engine lives here; lesson content lives in ``lessons/`` and the milestone
checks in ``checks/``.
"""

__version__ = "0.1.0"
