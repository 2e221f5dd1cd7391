"""checks.rootless and lesson 11's specs: which namespace a milestone is about (pure, no root)."""

from __future__ import annotations

import pytest

from checks.rootless import Rootless, best
from checks.specs import SpecError, parse


def _ns(
    pid: int, default: str | None, links: tuple[tuple[str, bool, tuple[str, ...]], ...]
) -> Rootless:
    return Rootless(pid, pid, "sleep infinity", 1001, (0, pid), links, default, ())


def test_best_prefers_a_connected_namespace_then_the_first() -> None:
    bare = _ns(10, None, (("lo", False, ()),))
    wired = _ns(20, "tap0", (("lo", True, ("127.0.0.1/8",)), ("tap0", True, ("10.0.2.100/24",))))
    assert best([bare, wired]) is wired
    assert best([bare]) is bare
    assert best([]) is None


def test_describe_names_the_links_and_the_route() -> None:
    wired = _ns(20, "tap0", (("tap0", True, ("10.0.2.100/24",)),))
    assert wired.describe() == (
        "PID 20 (sleep infinity) in a namespace of uid 1001: tap0 UP 10.0.2.100/24; "
        "default dev tap0"
    )
    assert wired.link("tap0") == ("tap0", True, ("10.0.2.100/24",))
    assert wired.link("eth0") is None
    assert "no default route" in _ns(1, None, ()).describe()


def test_lesson_11_specs() -> None:
    spec = parse("rootless_netns", {"uplink": "tap0", "host_links": "lo eth0"})
    assert spec.as_args() == {"uplink": "tap0", "host_links": "lo eth0"}
    assert parse("rootless_tcp", {"to": "8.8.8.8", "port": "80"}).as_args() == {
        "to": "8.8.8.8",
        "port": 80,
    }
    with pytest.raises(SpecError, match="IPv4"):
        parse("rootless_tcp", {"to": "8.8.8.8", "port": 80, "seen": "host"})
    with pytest.raises(SpecError, match="needs the argument 'to'"):
        parse("rootless_ping", {})
