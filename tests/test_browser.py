"""``cnlab serve`` in a real browser: headless Chromium, driven over the DevTools protocol.

A learner's first minute, on a fresh world: open the URL that ``cnlab serve`` printed,
type ``sudo ip netns add netns0`` and Enter into the page, and see the milestone turn
green (the lab records it in the learner's progress). Along the way: the token became an
``HttpOnly`` cookie (the page's JavaScript cannot read it) and left the address bar,
every request the page made stayed on the server (no font from a CDN, a favicon), and
leaving the page ends its lab process.

Debian's ``chromium`` (``scripts/setup.sh --test`` installs it); the test is skipped
where it is missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from lab import progress
from lab.world import World
from tests.test_serve import WORLD, Served, cmdline, cnlab, descendants, start_time, wait_gone

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
]


class Browser:
    """One headless Chromium page, spoken to over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        self.profile = profile
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-breakpad",
                "--disable-crash-reporter",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1280,800",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # everything it writes (crash database, caches) stays in the throw-away profile
            env={**os.environ, "XDG_CONFIG_HOME": str(profile), "XDG_CACHE_HOME": str(profile)},
        )
        self.events: list[dict[str, Any]] = []
        self._next = 0

    async def connect(self) -> None:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium did not start"
            assert self.proc.poll() is None, "chromium exited"
            await asyncio.sleep(0.1)
        port = port_file.read_text().split()[0]
        self.http = aiohttp.ClientSession()
        async with self.http.get(f"http://127.0.0.1:{port}/json") as answer:
            page = next(t for t in await answer.json() if t["type"] == "page")
        self.ws = await self.http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self.call("Page.enable")
        await self.call("Network.enable")

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        await self.ws.send_json({"id": self._next, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), 60)
            if message.get("id") == self._next:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer.get("result", {}).get("value")

    async def type(self, text: str) -> None:
        for char in text:
            await self.call("Input.dispatchKeyEvent", type="keyDown", key=char, text=char)
            await self.call("Input.dispatchKeyEvent", type="keyUp", key=char)

    async def enter(self) -> None:
        keys = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await self.call("Input.dispatchKeyEvent", type="keyDown", text="\r", **keys)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **keys)

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot")
        path.write_bytes(base64.b64decode(shot["data"]))

    def requested(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
            await self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_a_learner_types_the_first_command_in_a_browser(tmp_path: Path) -> None:
    cnlab("down", "--world", WORLD)  # a fresh world: the lab builds it without asking
    state = tmp_path / "state"
    served = Served(env={"CNLAB_STATE_DIR": str(state)})
    saved_root = progress.STATE_ROOT
    progress.STATE_ROOT = state
    profile = Path(tempfile.mkdtemp(prefix="cnlab-chromium-"))
    try:
        asyncio.run(_learner(served, profile, tmp_path))
    finally:
        progress.STATE_ROOT = saved_root
        code, _, err = served.stop()
        cnlab("down", "--world", WORLD)
        shutil.rmtree(profile, ignore_errors=True)
    assert code == 0 and "Traceback" not in err, err


async def _learner(served: Served, profile: Path, tmp_path: Path) -> None:
    browser = Browser(profile)
    try:
        await browser.connect()
        await browser.call("Page.navigate", url=f"{served.url}?token={served.token}")
        apps = await _app_started(served)
        # the token is now an HttpOnly cookie, out of the address bar and out of reach of JS
        assert await browser.evaluate("location.href") == served.url
        assert await browser.evaluate("document.cookie") == ""
        world = World(WORLD)
        deadline = time.monotonic() + 90
        while world.state() != "ready":
            assert time.monotonic() < deadline, "the lab did not build the fresh world"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # let the shell print its prompt
        focus = "document.querySelector('.xterm-helper-textarea').focus()"
        await browser.evaluate(focus)
        await browser.type("sudo ip netns add netns0")
        await browser.enter()
        passed = False
        while not passed:
            if time.monotonic() > deadline:
                await browser.screenshot(tmp_path / "browser.png")
                pytest.fail(f"no milestone turned green (screenshot: {tmp_path / 'browser.png'})")
            await asyncio.sleep(0.2)
            passed = "netns0-exists" in progress.load(WORLD).lesson("01-namespace").passed
        assert "netns0" in world.learner_namespaces()
        await browser.screenshot(Path(os.environ.get("CNLAB_BROWSER_SHOT", tmp_path / "b.png")))
        # everything came from the server itself: the page, its scripts, font and favicon
        requested = browser.requested()
        assert requested, "no request seen"
        outside = [u for u in requested if not u.startswith(served.url)]
        assert outside == [], outside
        assert any(u.endswith(".ttf") for u in requested), requested
        assert any("favicon" in u for u in requested), requested
        # leaving the page ends its lab
        await browser.call("Page.navigate", url="about:blank")
        assert wait_gone(apps, timeout=20) == [], "the lab outlived the page"
    finally:
        await browser.close()


async def _app_started(served: Served) -> dict[int, str | None]:
    deadline = time.monotonic() + 60
    while True:
        found = [p for p in descendants(served.proc.pid) if cmdline(p)[-1:] == ["tui"]]
        if found:
            return {p: start_time(p) for p in found}
        assert time.monotonic() < deadline, "the page started no lab"
        await asyncio.sleep(0.1)
