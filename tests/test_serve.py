"""``cnlab serve``: the real server, on 127.0.0.1, driven by a real HTTP/websocket client.

Each test starts ``python -m lab serve`` as a subprocess on a free loopback port
and ends it by its PID. What is measured:

* the page loads, names a websocket on the address the browser used, and its
  script is served;
* a websocket gets its own app process, running ``-m lab --world W tui``;
  with the TUI present the app sends screen data (terminal escapes), two tabs
  get two processes on the same world, and closing a tab ends its process;
  without it (``lab/tui/app.py`` not written yet) the tab shows why the lab
  did not start instead of staying blank;
* after SIGTERM the server exits 0 and none of its descendants remain;
* a websocket from another site, or a request for another Host name, is
  refused (so no web page can drive the root shell);
* refusals of bad input (a non-loopback ``--host`` without ``--public``, a port
  out of range, a port in use) are one line and a non-zero exit, never a
  traceback; ``--public`` warns (tried on 0.0.0.0 only inside a private,
  empty network namespace).
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parent.parent
TUI_PRESENT = (ROOT / "lab" / "tui" / "app.py").exists()
WORLD = f"serve-{os.getpid() % 100000}"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cnlab serve needs root")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cnlab(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def ppid_map() -> dict[int, int]:
    """pid -> parent pid of every live (non-zombie) process."""
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            out[int(entry)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    parents = ppid_map()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat, to tell a process from a later one with its PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
    except OSError:
        return []


def wait_gone(pids: dict[int, str | None], timeout: float = 10) -> list[int]:
    """Wait until none of ``pids`` (pid -> start time) is alive; return the survivors."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p, t in pids.items() if t is not None and start_time(p) == t]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


class Served:
    """A ``cnlab serve`` subprocess on a free loopback port."""

    def __init__(self, *extra: str, prefix: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "lab",
                "--world",
                WORLD,
                "serve",
                "--port",
                str(self.port),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        # The first line is printed once it listens.
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        self.first_line = self.proc.stdout.readline() if ready else ""
        if not self.first_line:
            self.stop()
            pytest.fail(f"cnlab serve did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM the server (by its PID) and collect its exit status and output."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, self.first_line + out, err


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served()
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.stop()
        cnlab("down", "--world", WORLD)  # in case the TUI built the test's world


async def _screen_data(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> bytes:
    """Binary (terminal) messages from the app, until some arrive or the time is up."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = await asyncio.wait_for(ws.receive(), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        if msg.type == aiohttp.WSMsgType.BINARY:
            got += msg.data
            if TUI_PRESENT and len(got) > 200:
                break
            if not TUI_PRESENT and b"cnlab:" in got and got.endswith(b"\r\n"):
                break
        elif msg.type != aiohttp.WSMsgType.TEXT:
            break
    return got


def test_page_websocket_app_and_clean_exit(served: Served) -> None:
    assert served.first_line.startswith(f"cnlab: serving world {WORLD!r} at {served.url}")
    origin = served.url.rstrip("/")

    async def scenario() -> dict[int, str | None]:
        async with aiohttp.ClientSession() as http:
            async with http.get(served.url) as page:
                assert page.status == 200
                html = await page.text()
            ws_url = re.search(r'data-session-websocket-url="([^"]+)"', html)
            assert ws_url and ws_url.group(1) == f"ws://127.0.0.1:{served.port}/ws"
            async with http.get(f"{served.url}static/js/textual.js") as script:
                assert script.status == 200 and len(await script.read()) > 10000

            url = f"{ws_url.group(1)}?width=100&height=30"
            tab1 = await http.ws_connect(url, origin=origin)
            tab2 = await http.ws_connect(url, origin=origin)
            screens = [await _screen_data(tab, 60) for tab in (tab1, tab2)]
            seen = {p: start_time(p) for p in descendants(served.proc.pid)}
            if TUI_PRESENT:
                for screen in screens:
                    assert b"\x1b[" in screen, screen[:200]
                apps = [
                    p for p in seen if cmdline(p)[-5:] == ["-m", "lab", "--world", WORLD, "tui"]
                ]
                assert len(apps) == 2, "each tab gets its own app, on the same world"
                # Closing a tab ends its app (and only its app).
                await tab1.close()
                deadline = time.monotonic() + 15
                while sum(start_time(p) == seen[p] for p in apps) > 1:
                    assert time.monotonic() < deadline, "closing a tab left its app running"
                    await asyncio.sleep(0.05)
                assert sum(start_time(p) == seen[p] for p in apps) == 1
            else:
                for screen in screens:
                    assert b"the lab did not start" in screen, screen
            await tab2.close()
            await tab1.close()
            return seen

    seen = asyncio.run(scenario())
    code, out, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in out + err
    assert wait_gone(seen) == [], "processes outlived cnlab serve"


def test_refuses_other_sites_and_host_names(served: Served) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(f"ws://127.0.0.1:{served.port}/ws", origin="http://evil.test")
            assert refused.value.status == 403
            async with http.get(served.url, headers={"Host": f"evil.test:{served.port}"}) as r:
                assert r.status == 403
            async with http.get(served.url, headers={"Host": f"localhost:{served.port}"}) as r:
                assert r.status == 200

    asyncio.run(scenario())
    assert descendants(served.proc.pid) == set(), "a refused websocket started an app"
    code, _, err = served.stop()
    assert code == 0 and "refused" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--host", "0.0.0.0"],
        ["--host", "::"],
        ["--host", "192.0.2.10"],
        ["--host", "example.org"],
        ["--port", "0"],
        ["--port", "70000"],
        ["--world", "Bad Name!"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str]) -> None:
    result = cnlab("serve", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnlab: "), result.stderr
    if "--host" in args:
        assert "--public" in lines[0]


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cnlab("serve", "--port", str(port))
    assert result.returncode not in (0, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot listen" in lines[0] and "in use" in lines[0]


def test_public_warns_that_the_page_is_a_root_shell() -> None:
    # 0.0.0.0 only inside a new, empty network namespace: nothing outside can reach it.
    server = Served("--host", "0.0.0.0", "--public", prefix=("unshare", "--net", "--"))
    try:
        assert server.first_line.startswith(f"cnlab: serving world {WORLD!r} at http://")
    finally:
        code, _, err = server.stop()
    assert code == 0
    assert "WARNING" in err and "root shell" in err
    assert "Traceback" not in err
