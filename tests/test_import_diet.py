"""A cold ``cnlab`` pays only for what its verb uses: the import diet, as a contract.

Each probe runs in a fresh interpreter and reads ``sys.modules`` as it exits (no
timing: what is imported is what costs). Textual (~0.2 s) is only for the TUI;
scapy (~0.3 s, and a netlink dump at import) is not used by any verb; Jinja2 only
renders scripts and texts, and a lesson read once is cached with its start script
(:class:`lab.lessons._LessonCache`); netlink (pyroute2) is for checking, not for building.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lab.world import World
from tests.conftest import FIXTURE_COURSE, ROOT

#: Never imported by the command line's own module, nor by the check engine.
NEVER = {"textual", "rich", "scapy"}

_PROBE = """\
import atexit, json, sys
def _dump():
    with open({out!r}, "w") as fh:
        json.dump(sorted(sys.modules), fh)
atexit.register(_dump)
{body}
"""


def _modules(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> set[str]:
    """Every module (dotted names too) loaded by ``body`` in a fresh interpreter."""
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    code = _PROBE.format(out=str(out), body=body)
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=120,
        check=False,
    )
    return set(json.loads(out.read_text()))


def _tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules} | modules


def test_the_command_line_module_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = _tops(_modules(tmp_path, "import lab.cli"))
    assert loaded & (NEVER | {"jinja2", "pyroute2", "importlib.metadata"}) == set()
    assert "lab.cli" in loaded  # the probe sees what was imported


def test_the_check_engine_loads_no_template_engine_nor_packet_library(tmp_path: Path) -> None:
    loaded = _tops(_modules(tmp_path, "import checks.engine, checks.server"))
    assert loaded & (NEVER | {"jinja2"}) == set()
    assert "pyroute2" in loaded  # control: the engine reads the kernel over netlink


def test_version_looks_itself_up_only_when_asked(tmp_path: Path) -> None:
    loaded = _modules(tmp_path, "import sys; from lab.cli import main; main(['--version'])")
    assert "importlib.metadata" in loaded


def test_reset_and_check_as_processes(tmp_path: Path, make_world: Callable[..., World]) -> None:
    """The real verbs on a real world (one world of the fixture course: ~2 s)."""
    name = make_world("diet").name
    env = {"CNLAB_LESSONS": str(FIXTURE_COURSE)}

    def verb(*args: str) -> set[str]:
        body = f"import sys\nfrom lab.cli import main\nsys.exit(main({list(args)!r}))"
        return _tops(_modules(tmp_path, body, env))

    verb("reset", "1", "--world", name)  # reads the lesson (or finds it in the cache)
    reset = verb("reset", "1", "--world", name)  # the lesson is in the cache now
    assert reset & (NEVER | {"pyroute2", "importlib.metadata"}) == set()
    assert reset & {"jinja2", "tomllib", "checks.specs"} == set()  # cached, start.sh rendered
    assert "lab.world" in reset  # control: the probe sees what the verb imported
    assert World(name).lesson == "01-pair"  # it did build the lesson
    check = verb("check", "--world", name, "--json")
    assert check & (NEVER | {"jinja2", "importlib.metadata"}) == set()
    assert "checks.engine" in check
