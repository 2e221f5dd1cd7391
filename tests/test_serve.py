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
* nobody without the token gets anything: a real process of user ``nobody``
  (no token, any Origin), DNS rebinding (``Host: evil.example`` with a matching
  ``Origin``, even with ``--host 0.0.0.0 --public`` and even holding the token),
  a websocket without or with a foreign ``Origin``; with the token (in the URL,
  then as a cookie) the page and the lab work;
* the page fetches nothing from outside (font and favicon are served locally);
* refusals of bad input (a non-loopback ``--host`` without ``--public``, a port
  out of range, a port in use) are one line and a non-zero exit, never a
  traceback; ``--public`` warns (tried on 0.0.0.0 only inside a private,
  empty network namespace).
"""

from __future__ import annotations

import asyncio
import json
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

    def __init__(
        self, *extra: str, prefix: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> None:
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
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        # The first line is printed once it listens.
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        self.first_line = self.proc.stdout.readline() if ready else ""
        if not self.first_line:
            self.stop()
            pytest.fail(f"cnlab serve did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
        found = re.search(r"\?token=([A-Za-z0-9._~-]+)$", self.first_line.strip())
        self.token = found.group(1) if found else ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def raw(self, *requests: tuple[str, dict[str, str]], prefix: tuple[str, ...] = ()) -> list[int]:
        """Send each (path, headers) GET with the system python, as ``prefix`` says; statuses."""
        return raw_requests(self.port, list(requests), prefix)

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


async def _screen_data(ws: aiohttp.ClientWebSocketResponse[bool], timeout: float) -> bytes:
    """Binary (terminal) messages from the app, until some arrive or the time is up."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = await asyncio.wait_for(ws.receive(), max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:  # not TimeoutError on 3.10
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


#: A stdlib-only HTTP client for the system python (so user ``nobody`` can run it):
#: argv = port, JSON list of [path, headers]; prints the JSON list of status codes.
RAW_CLIENT = r"""
import json, socket, sys
port, requests = int(sys.argv[1]), json.loads(sys.argv[2])
codes = []
for path, headers in requests:
    head = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    if headers.get("Upgrade") == "websocket":
        head += ["Connection: Upgrade", "Sec-WebSocket-Version: 13",
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    else:
        head.append("Connection: close")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        codes.append(int(data.split(b" ", 2)[1]) if data else 0)
print(json.dumps(codes))
"""


def raw_requests(
    port: int, requests: list[tuple[str, dict[str, str]]], prefix: tuple[str, ...] = ()
) -> list[int]:
    out = subprocess.run(
        [*prefix, "/usr/bin/python3", "-c", RAW_CLIENT, str(port), json.dumps(requests)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd="/",
    )
    codes: list[int] = json.loads(out.stdout)
    return codes


def upgrade(host: str, origin: str | None = None) -> dict[str, str]:
    """Headers of a websocket upgrade request."""
    headers = {"Host": host, "Upgrade": "websocket"}
    if origin is not None:
        headers["Origin"] = origin
    return headers


def test_page_websocket_app_and_clean_exit() -> None:
    served = Served(env={"CNLAB_SERVE_TOKEN": "a-token-from-the-environment"})
    try:
        seen = _page_websocket_app(served)
        code, out, err = served.stop()
    finally:
        if served.proc.poll() is None:
            served.stop()
        cnlab("down", "--world", WORLD)
    assert code == 0, err
    assert "Traceback" not in out + err
    assert wait_gone(seen) == [], "processes outlived cnlab serve"


def _page_websocket_app(served: Served) -> dict[int, str | None]:
    assert served.first_line.strip() == (
        f"cnlab: serving world {WORLD!r} at {served.url}?token=a-token-from-the-environment"
    )
    origin = served.url.rstrip("/")

    async def scenario() -> dict[int, str | None]:
        jar = aiohttp.CookieJar(unsafe=True)  # unsafe: keep cookies of an IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(f"{served.url}?token={served.token}&fontsize=14") as page:
                # the token moved into a cookie, and out of the address bar
                assert page.status == 200
                assert [str(r.url) for r in page.history] == [
                    f"{served.url}?token={served.token}&fontsize=14"
                ]
                assert str(page.url) == f"{served.url}?fontsize=14"
                set_cookie = page.history[0].headers["Set-Cookie"]
                assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
                assert page.headers["X-Frame-Options"] == "DENY"
                html = await page.text()
            ws_url = re.search(r'data-session-websocket-url="([^"]+)"', html)
            assert ws_url and ws_url.group(1) == f"ws://127.0.0.1:{served.port}/ws"
            assert served.token not in html
            # Everything the page loads is served here: nothing from the internet.
            assets = re.findall(r'(?:href=|src=|url\()"([^"]+)"', html)
            assert len(assets) >= 5, assets
            assert all(a.startswith((served.url, "/")) for a in assets), assets
            assert "googleapis" not in html
            for asset in ("static/js/textual.js", "favicon.svg", "favicon.ico"):
                async with http.get(f"{served.url}{asset}") as got:
                    assert got.status == 200, asset
            font = re.search(r'url\("([^"]+\.ttf)"\)', html)
            assert font, "the font is served locally"
            async with http.get(font.group(1)) as got:
                assert got.status == 200 and len(await got.read()) > 10000
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
                for pid in apps:  # the learner's shell never sees the token
                    environ = Path(f"/proc/{pid}/environ").read_bytes()
                    assert b"CNLAB_SERVE_TOKEN" not in environ, "the app got the token"
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

    return asyncio.run(scenario())


def test_a_fresh_world_is_built_and_typing_never_quits(served: Served) -> None:
    """Keys typed for the shell never answer a dialog (the ``n`` of ``netns`` quit the lab)."""
    from lab.world import World

    world = World(WORLD)
    cnlab("down", "--world", WORLD)
    origin = served.url.rstrip("/")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            tab = await http.ws_connect(
                f"ws://127.0.0.1:{served.port}/ws?token={served.token}&width=120&height=40",
                origin=origin,
            )
            assert b"\x1b[" in await _screen_data(tab, 60)
            # typed at once, while the world is still being built
            await tab.send_json(["stdin", "sudo ip netns add netns0\r"])
            deadline = time.monotonic() + 60
            while world.state() != "ready":
                assert time.monotonic() < deadline, "the world was not built"
                assert not tab.closed, "the lab quit"
                await _screen_data(tab, 0.2)
            await _screen_data(tab, 1)
            await tab.send_json(["stdin", "\x15sudo ip netns add netns1\r"])
            while "netns1" not in world.learner_namespaces():
                assert time.monotonic() < deadline, "the command did not reach the shell"
                assert not tab.closed, "the lab quit"
                await _screen_data(tab, 0.2)
            apps = [p for p in descendants(served.proc.pid) if cmdline(p)[-1:] == ["tui"]]
            assert len(apps) == 1, "the lab is still running"
            await tab.close()

    asyncio.run(scenario())


def test_a_tab_that_goes_silent_ends_its_lab(served: Served) -> None:
    """A tab that vanishes without closing its socket (a laptop asleep, a dropped network,
    a browser that kept the page) is noticed by the heartbeat, and its lab ends."""
    local = f"127.0.0.1:{served.port}"
    request = "\r\n".join(
        [
            f"GET /ws?token={served.token} HTTP/1.1",
            f"Host: {local}",
            f"Origin: http://{local}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "",
            "",
        ]
    )
    with socket.create_connection(("127.0.0.1", served.port)) as silent:
        silent.sendall(request.encode())
        assert silent.recv(12) == b"HTTP/1.1 101"
        deadline = time.monotonic() + 30
        apps: dict[int, str | None] = {}
        while not apps:
            assert time.monotonic() < deadline, "no app started"
            found = [p for p in descendants(served.proc.pid) if cmdline(p)[-1:] == ["tui"]]
            apps = {p: start_time(p) for p in found}
            time.sleep(0.1)
        # The client neither reads nor answers pings, and never closes the connection.
        # Found gone in 6 + 3 s, then the app has at most 5 s to end: 20 s is ample, and
        # with the old 15 s heartbeat (22.5 s before a silent tab was noticed) too short.
        assert wait_gone(apps, timeout=20) == [], "the lab outlived its silent tab"


def test_refuses_other_sites_and_host_names(served: Served) -> None:
    port, token = served.port, served.token
    local = f"127.0.0.1:{port}"
    codes = served.raw(
        ("/", {"Host": local}),  # no token
        (f"/?token={token[:-1]}x", {"Host": local}),  # a wrong token
        ("/static/js/textual.js", {"Host": local}),
        ("/favicon.ico", {"Host": local}),
        ("/ws", upgrade(local)),  # no token, no Origin
        ("/ws", upgrade(local, f"http://{local}")),  # the right Origin, no token
        (f"/ws?token={token}", upgrade(local)),  # the token, no Origin
        (f"/ws?token={token}", upgrade(local, "http://evil.test")),  # another site
        (f"/ws?token={token}", upgrade(local, "null")),
        (f"/?token={token}", {"Host": f"evil.test:{port}"}),
        (f"/?token={token}", {"Host": f"localhost:{port}"}),  # allowed: a redirect
    )
    assert codes == [403] * 10 + [303]
    assert descendants(served.proc.pid) == set(), "a refused websocket started an app"
    code, _, err = served.stop()
    assert code == 0 and "refused" in err
    assert token not in err


def test_a_process_of_user_nobody_gets_no_shell(served: Served) -> None:
    """Another local user (a real process of uid 65534) cannot reach the root shell."""
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--")
    local = f"127.0.0.1:{served.port}"
    # What a local user can see of the server: its command line (not its environment).
    peek = subprocess.run(
        [*nobody, "/usr/bin/cat", f"/proc/{served.proc.pid}/cmdline"],
        capture_output=True,
        check=False,
    )
    assert served.token.encode() not in peek.stdout
    codes = served.raw(
        ("/ws", upgrade(local)),
        ("/ws", upgrade(local, f"http://{local}")),
        ("/ws", upgrade(f"localhost:{served.port}", f"http://localhost:{served.port}")),
        ("/", {"Host": local}),
        prefix=nobody,
    )
    assert codes == [403, 403, 403, 403]
    assert descendants(served.proc.pid) == set(), "nobody started an app"
    # The same websocket, with the token, is what the browser does: it works.
    with_token = served.raw((f"/ws?token={served.token}", upgrade(local, f"http://{local}")))
    assert with_token == [101]


def test_dns_rebinding_gets_nothing_even_public() -> None:
    """``--host 0.0.0.0 --public`` (the workshop VM): only the listed Host names, and the token.

    The server runs in a new network namespace (loopback only), so 0.0.0.0 is reachable
    from nothing but the test's own client, which runs in the same namespace.
    """
    server = Served(
        "--host",
        "0.0.0.0",
        "--public",
        "--allow-host",
        "lab.example",
        prefix=("unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"),
    )
    inside = ("nsenter", f"--net=/proc/{server.proc.pid}/ns/net", "--")
    port, token = server.port, server.token
    evil = f"evil.example:{port}"
    try:
        codes = server.raw(
            ("/", {"Host": evil}),
            (f"/?token={token}", {"Host": evil}),
            ("/ws", upgrade(evil, f"http://{evil}")),
            (f"/ws?token={token}", upgrade(evil, f"http://{evil}")),
            (f"/ws?token={token}", upgrade(f"lab.example:{port}", f"http://{evil}")),
            ("/", {"Host": f"lab.example:{port}"}),  # a listed name still needs the token
            (f"/?token={token}", {"Host": f"lab.example:{port}"}),
            (f"/?token={token}", {"Host": f"127.0.0.1:{port}"}),
            prefix=inside,
        )
        assert codes == [403, 403, 403, 403, 403, 403, 303, 303]
    finally:
        code, _, err = server.stop()
    assert code == 0 and "Traceback" not in err


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
        ["--token", "short"],
        ["--token", "sixteen chars but spaces"],
        ["--allow-host", "bad name!"],
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
