"""Shared fixtures: real worlds with unique names, and a fingerprint of the real host.

Root is the requirement of the integration tests only. Every test that builds a world
(through the ``integration`` marker, a world fixture, or the ``cnlab()`` helper that runs
the real command line) is marked ``root`` at collection, so a newcomer without root runs
the pure tests with ``pytest -m "not root"``; run as another user without ``-m``, the
root tests are skipped with that advice rather than failing half-way through a build.

``root`` is also the slow tier: the tests that drive the whole app with Textual's Pilot
(marker ``pilot``, a second or more each, most of a pure run's time) carry it too, so
``-m "not root"`` stays the quick check of the pure logic and the replayed tracer (about
10 s). They need no root: ``pytest -m pilot`` runs them as any user, and the full run
has them (``tests/test_nonroot.py`` runs ``-m "not root"`` as nobody).
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab import nsutil, progress
from lab.world import World, lock_path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_COURSE = ROOT / "tests" / "fixtures" / "course"
_counter = itertools.count()


# Fixtures that build (or destroy) real worlds; helpers that run the real command line or
# build a lesson; and the calls that drop root's privileges (only root can).
ROOT_FIXTURES = frozenset(
    {"make_world", "world", "tui_world", "built_world", "names", "wname", "state_env"}
)
ROOT_HELPERS = frozenset(
    {"cnlab", "run_cli", "start_cli", "build_lesson", "setuid", "setgid", "setgroups"}
)
NEEDS_ROOT = (
    "needs root: it builds real namespaces (run ./run test as root, "
    'or only the pure tests with pytest -m "not root")'
)


def pytest_configure(config: pytest.Config) -> None:
    # Progress and learners' homes of the worlds tests make live in a folder of this
    # run, never in the machine's /var/lib/cnlab (a test that wants another sets its own).
    if "CNLAB_STATE_DIR" not in os.environ:
        state = tempfile.mkdtemp(prefix="cnlab-test-state-")
        atexit.register(shutil.rmtree, state, True)
        os.environ["CNLAB_STATE_DIR"] = state
        progress.STATE_ROOT = Path(state)


def _calls_helper(func: object, seen: set[int] | None = None) -> bool:
    """True if ``func`` (or a function of its module that it calls) names a root helper."""
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    seen = set() if seen is None else seen
    if id(code) in seen:
        return False
    seen.add(id(code))
    names = set(code.co_names)
    names.update(
        name
        for const in code.co_consts
        if isinstance(const, types.CodeType)
        for name in const.co_names
    )
    if names & ROOT_HELPERS:
        return True
    module_globals = getattr(func, "__globals__", {})
    return any(
        isinstance(module_globals.get(name), types.FunctionType)
        and module_globals[name].__module__ == getattr(func, "__module__", None)
        and _calls_helper(module_globals[name], seen)
        for name in names
    )


def needs_root(item: pytest.Item) -> bool:
    """Whether a collected test builds worlds, so needs root."""
    if item.get_closest_marker("integration") or item.get_closest_marker("root"):
        return True
    if any("root" in str(m.kwargs.get("reason", "")) for m in item.iter_markers("skipif")):
        return True  # a test that already skips without root ("... needs root")
    if ROOT_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    return _calls_helper(getattr(item, "function", None))


_NEEDS_ROOT = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.stash[_NEEDS_ROOT] = needs_root(item)
        if item.stash[_NEEDS_ROOT] or item.get_closest_marker("pilot"):
            item.add_marker(pytest.mark.root)


def pytest_collection_finish(session: pytest.Session) -> None:
    # The VM test's minutes of emulation overlap the rest of the run (tests/test_vm.py).
    nodeids = [item.nodeid for item in session.items]
    if session.config.option.collectonly:
        return
    if any(n.startswith("tests/test_vm.py::") for n in nodeids):
        from tests import test_vm

        test_vm.start_early(nodeids)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    vm = sys.modules.get("tests.test_vm")
    if vm is not None:
        vm.stop()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if os.geteuid() != 0 and item.stash.get(_NEEDS_ROOT, True):
        pytest.skip(NEEDS_ROOT)


def unique_world_name(prefix: str = "t") -> str:
    return f"{prefix}{os.getpid() % 100000}-{next(_counter)}"


@pytest.fixture
def make_world() -> Iterator[Callable[..., World]]:
    """Create worlds that are destroyed at the end of the test, whatever happens."""
    made: list[World] = []

    def make(prefix: str = "t", create: bool = True) -> World:
        world = World(unique_world_name(prefix))
        made.append(world)
        if create:
            world.create()
        return world

    yield make
    for world in made:
        world.destroy()
        lock_path(world.name).unlink(missing_ok=True)


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


def _out(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except FileNotFoundError:
        return f"{argv[0]}: not installed"
    return result.stdout + result.stderr


def host_fingerprint() -> dict[str, str]:
    """Everything about the real host's network that a world must never change."""
    return {
        "links": _out(["ip", "-d", "link"]),
        "addresses": _out(["ip", "addr"]),
        "routes": _out(["ip", "route", "show", "table", "all"]),
        "rules": _out(["ip", "rule"]),
        "iptables-nft": _strip_save(_out(["iptables-nft-save"])),
        "iptables-legacy": _strip_save(_out(["iptables-legacy-save"])),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text(),
        "netns": _out(["ip", "netns", "list"]),
    }


def attach_host_netns(world: World, symlink: str = "", bind: str = "") -> None:
    """Attach the real host's network namespace to ``world``'s /run/netns, as a
    symlink and/or a bind mount: what a careless admin (or the old /proc of the
    real machine, visible from a world before it had a PID namespace) could do.

    The world's /proc shows only the world's PIDs, so the real host's is mounted
    inside the world (under its folder) by a child of this process.
    """
    me = os.getpid()
    hostproc = world.dir / "hostproc"
    hostproc.mkdir(exist_ok=True)
    pid = os.fork()
    if pid == 0:  # child: enter the world's mount namespace, attach, _exit
        code = 1
        try:
            fd = os.open(world.mnt, os.O_RDONLY)
            nsutil.setns(fd, nsutil.CLONE_NEWNS)
            nsutil.mount("proc", hostproc, "proc", 0)
            if symlink:
                os.symlink(f"{hostproc}/{me}/ns/net", f"/run/netns/{symlink}")
            if bind:
                open(f"/run/netns/{bind}", "w").close()
                nsutil.mount(f"{hostproc}/{me}/ns/net", f"/run/netns/{bind}", None, nsutil.MS_BIND)
            code = 0
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0


def _strip_save(text: str) -> str:
    """iptables-save output without its timestamp comments and packet counters."""
    return "\n".join(
        line.split(" [")[0] if line.startswith(":") else line
        for line in text.splitlines()
        if not line.startswith("#")
    )


@pytest.fixture
def fixture_course(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CNLAB_LESSONS", str(FIXTURE_COURSE))
    return FIXTURE_COURSE


def cnlab(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
