"""The ``root`` marker is set on every test that builds worlds, and only on those.

``pytest -m "not root"`` is how a newcomer without root runs the pure tests; a test
that builds a world but escaped the marker would fail there half-way through a build,
and a pure test marked by mistake would never run for them. (The samples live in a
class so that these tests, which only inspect them, are not marked themselves.)
"""

from __future__ import annotations

import os

from tests.conftest import _calls_helper, cnlab


def _runs_the_cli() -> None:
    cnlab("status")


class Samples:
    @staticmethod
    def indirectly() -> None:
        _runs_the_cli()

    @staticmethod
    def pure() -> int:
        return len("no world here")

    @staticmethod
    def drop() -> None:
        os.setuid(65534)


def test_a_test_calling_the_cli_needs_root() -> None:
    assert _calls_helper(Samples.indirectly.__globals__["_runs_the_cli"])


def test_a_helper_of_the_module_calling_the_cli_counts_too() -> None:
    assert _calls_helper(Samples.indirectly)


def test_a_pure_function_does_not_need_root() -> None:
    assert not _calls_helper(Samples.pure)
    assert not _calls_helper(None)


def test_dropping_privileges_needs_root() -> None:
    assert _calls_helper(Samples.drop)
