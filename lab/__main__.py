"""``python -m lab`` is the same as the ``cnlab`` command."""

from lab.cli import main

raise SystemExit(main())
