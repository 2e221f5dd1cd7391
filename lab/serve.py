"""``cnlab serve``: the lab's TUI in a web browser, through textual-serve.

::

    browser tab ──HTTP/websocket──> cnlab serve (aiohttp, 127.0.0.1:8000)
                                      │  one process per websocket (tab):
                                      ├─ python -m lab --world NAME tui
                                      └─ python -m lab --world NAME tui
                                             │ both attach to world NAME,
                                             └ so two tabs see the same world

textual-serve does the heavy lifting (the page, xterm.js, the framing between
the browser and the app's web driver). This module wraps it so that it behaves
like the rest of the ``cnlab`` command line and is safe to leave running. The
page is a root shell, so (see ``docs/security.md``, "The browser view"):

* **A secret token.** Each run makes a random token (or takes ``--token`` /
  ``CNLAB_SERVE_TOKEN``) and prints the URL that carries it. Every request
  needs it: in the URL (``?token=``) or in the ``HttpOnly; SameSite=Strict``
  cookie the first visit sets; it is compared in constant time. Being on the
  same machine (another user, a process of ``nobody``) is not enough.
* **Known Host names only.** A request must name this server as a loopback
  address, ``localhost``, the ``--host`` address or an ``--allow-host`` name.
  DNS rebinding (a page of ``evil.example`` whose name now points here) sends
  ``Host: evil.example`` and is refused, token or not.
* **Websockets from the page itself.** An upgrade without ``Origin``, or with
  an ``Origin`` other than the address the request was sent to, is refused.
* It binds 127.0.0.1 by default; any other address needs ``--public`` (and
  earns a warning); without it the command refuses with exit status 2.
* The page is cnlab's copy of textual-serve's, with the font and the favicon
  served from here: nothing is fetched from the internet, and the page may not
  be framed by another site.
* The page's URLs come from the request, not from the bind address, so
  ``--host 0.0.0.0`` behind a port forward (the workshop VM) works.
* Each app runs in its own session. When a tab closes or navigates away, or
  the server is told to stop (Ctrl+C, SIGTERM, SIGHUP), every app is asked to
  quit, then terminated, then killed, and stray processes left in its process
  group are ended too: nothing outlives the server but what the app
  deliberately detached (such as a world's DNS daemon, which belongs to the
  world).
* If an app cannot start (or dies), its last error line is shown in the
  browser's terminal and printed on the server's stderr.
* Errors such as "port in use" are one line and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from lab import preflight
from lab.debug import quietly
from lab.errors import LabError
from lab.world import validate_name

log = logging.getLogger("cnlab.serve")

#: How long an app gets to quit after being asked, and then after SIGTERM.
QUIT_GRACE = 3.0
TERM_GRACE = 2.0
#: Seconds between pings to each tab; a tab that does not answer within half of
#: it is gone (a laptop put to sleep, a dropped network): its app is ended.
HEARTBEAT = 6.0

_HOST_HEADER = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$")
_HOST_NAME = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")
_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")

#: The page and its assets (cnlab's copy of textual-serve's page: no CDN, a favicon).
WEB_ASSETS = Path(__file__).parent / "assets" / "serve"
#: Where a token may come from besides --token (never printed by `ps`).
TOKEN_ENV = "CNLAB_SERVE_TOKEN"


# ------------------------------------------------------------------ addresses


def is_loopback(host: str) -> bool:
    """True if binding ``host`` exposes nothing beyond this machine.

    Only ``localhost`` and loopback IP literals count; other names are not
    resolved (no DNS is needed to decide, and a name may change).
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "[::]")


def page_url(host: str, port: int) -> str:
    """The URL to print for a server bound to ``host``."""
    if _is_wildcard(host):
        host = "127.0.0.1"
    bare = host.strip("[]")
    if ":" in bare:  # IPv6 literal
        host = f"[{bare}]"
    return f"http://{host}:{port}/"


def _host_of(header: str) -> str:
    """``example:80`` -> ``example``; ``[::1]:80`` -> ``::1``."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


# ------------------------------------------------------------------- one app


class LabProcess(AppService):
    """One browser tab's app: ``python -m lab --world NAME tui`` in its own session."""

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.exit_said = False  # the app announced a normal exit
        self._stopping: asyncio.Future[None] | None = None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width=width, height=height)
        env.pop(TOKEN_ENV, None)  # the app (and the learner's shell) never needs it
        return env

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        env = self._build_environment(width=width, height=height)
        argv = self.argv
        if shutil.which("setpriv"):
            # If the server dies without cleaning up (SIGKILL), the app gets SIGTERM.
            argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
        self._process = process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def on_meta(self, data: bytes) -> None:
        with contextlib.suppress(ValueError, AttributeError):
            if json.loads(data).get("type") == "exit":
                self.exit_said = True
        await super().on_meta(data)

    async def run(self) -> None:
        """Relay the app's output to the browser until it ends; explain a failure."""
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        stdout, stderr = process.stdout, process.stderr
        errors = bytearray()

        async def read_stderr() -> None:
            while chunk := await stderr.read(4096):
                errors.extend(chunk)
                del errors[:-65536]

        stderr_task = asyncio.create_task(read_stderr())
        started = False
        try:
            started = await self._announced(stdout)
            await self._relay(stdout, started)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        except Exception as exc:  # the browser went away mid-write, or a bad frame
            log.debug("relay ended: %s", exc)
        if process.returncode is None and not started:
            self.signal_group(signal.SIGTERM)
        code = await process.wait()
        with quietly("reading the lab's stderr"):
            await asyncio.wait_for(stderr_task, 1.0)
        stderr_task.cancel()
        if not self.exit_said and self._stopping is None:
            await self._say_why(errors, code, started, process.pid)

    @staticmethod
    async def _announced(stdout: asyncio.StreamReader) -> bool:
        """True once textual's web driver announced itself (within its first lines)."""
        for _ in range(10):
            line = await stdout.readline()
            if not line:
                return False
            if line == b"__GANGLION__\n":
                return True
        return False

    async def _relay(self, stdout: asyncio.StreamReader, started: bool) -> None:
        """Pass the app's frames (data, meta, packed) on until its output ends."""
        while started:
            kind = await stdout.readexactly(1)
            size = int.from_bytes(await stdout.readexactly(4), "big")
            payload = await stdout.readexactly(size)
            if kind == b"D":
                await self.on_data(payload)
            elif kind == b"M":
                await self.on_meta(payload)
            elif kind == b"P":
                await self.on_packed(payload)

    async def _say_why(self, errors: bytearray, code: int, started: bool, pid: int) -> None:
        """Tell the log and the browser why the lab ended: its last line on stderr."""
        lines = errors.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1].strip() if lines else f"exit status {code}"
        what = "the lab did not start" if not started else "the lab stopped"
        log.warning("%s (pid %s): %s", what, pid, why)
        text = f"\r\n\x1b[1;31mcnlab: {what}: {why}\x1b[0m\r\n"
        with quietly("telling the browser the lab stopped"):
            await self.remote_write_bytes(text.encode())

    def signal_group(self, sig: int) -> None:
        """Signal the app's process group (it leads its own session)."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)

    async def stop(self) -> None:
        """Ask the app to quit, then insist; safe to call more than once."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        task = self._task
        if task is None:
            return
        with quietly("cancelling the app's downloads"):
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if self._process is not None and self._process.returncode is None:
            await self.send_meta({"type": "quit"})
            with quietly("closing the lab's stdin"):
                self.stdin.close()
        for grace, sig in ((QUIT_GRACE, signal.SIGTERM), (TERM_GRACE, signal.SIGKILL)):
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
                break
            except asyncio.TimeoutError:  # not TimeoutError on 3.10
                self.signal_group(sig)
        await task
        # Whatever is left in the app's process group would be orphaned: end it.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self.group_alive():
                break
            self.signal_group(sig)
            for _ in range(20):
                if not self.group_alive():
                    break
                await asyncio.sleep(0.05)
        self._task = None

    def group_alive(self) -> bool:
        """Is any process left in the app's process group?"""
        if self._process is None:
            return False
        try:
            os.killpg(self._process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


# ------------------------------------------------------------------ the server


def check_token(token: str) -> str:
    """A token given with --token or CNLAB_SERVE_TOKEN, or a one-line error."""
    if not _TOKEN.match(token):
        raise LabError(
            "the serve token must be 16-256 characters from A-Z a-z 0-9 . _ ~ - "
            "(leave it out and cnlab makes a random one)",
            status=2,
        )
    return token


def check_host_name(name: str) -> str:
    """An --allow-host NAME: a DNS name or an IP address, lower-cased."""
    bare = name.strip("[]").lower()
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if not _HOST_NAME.match(bare) or len(bare) > 253:
            raise LabError(
                f"--allow-host {name!r}: not a host name or IP address", status=2
            ) from None
    return bare


class LabServer(Server):
    """textual-serve's server, with the checks and clean shutdown described above."""

    def __init__(
        self,
        world: str,
        host: str,
        port: int,
        token: str,
        allow_hosts: Iterable[str] = (),
    ) -> None:
        self.argv = [sys.executable, "-m", "lab", "--world", world, "tui"]
        super().__init__(
            " ".join(self.argv),
            host=host,
            port=port,
            title=f"cnlab ({world})",
            templates_path=WEB_ASSETS,
        )
        self.world = world
        self.token = token
        self.cookie = f"cnlab_token_{port}"  # cookies ignore ports: one name per server
        self.host_names = {"localhost", *(check_host_name(n) for n in allow_hosts)}
        if not _is_wildcard(host):
            self.host_names.add(host.strip("[]").lower())
        self.services: set[LabProcess] = set()
        self.sockets: set[web.WebSocketResponse] = set()

    @property
    def url(self) -> str:
        """The URL to open: the page, with the token."""
        return f"{page_url(self.host, self.port)}?token={self.token}"

    # --- requests

    def _token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _allowed(self, request: web.Request) -> str | None:
        """None if the request may proceed, else why not."""
        host = request.headers.get("Host", "")
        if not _HOST_HEADER.match(host):
            return "a bad Host header"
        name = _host_of(host).lower()
        if name not in self.host_names and not is_loopback(name):
            return f"Host {host!r}: not a name of this server (see --allow-host)"
        if not (
            self._token_ok(request.query.get("token"))
            or self._token_ok(request.cookies.get(self.cookie))
        ):
            return "no valid token (open the URL that `cnlab serve` printed)"
        if request.path == "/ws":
            origin = request.headers.get("Origin", "").lower()
            if origin not in (f"http://{host.lower()}", f"https://{host.lower()}"):
                return f"a websocket from another site (Origin {origin or 'missing'!r})"
        return None

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        why = self._allowed(request)
        if why is not None:
            log.warning("refused %s %s: %s", request.method, request.path, why)
            raise web.HTTPForbidden(text=f"cnlab serve: refused: {why}\n")
        if request.path == "/" and "token" in request.query:
            # First visit: the token moves to a cookie, and out of the address bar.
            query = [(k, v) for k, v in request.query.items() if k != "token"]
            location = str(request.rel_url.with_query(query))
            redirect = web.HTTPSeeOther(location)
            redirect.set_cookie(
                self.cookie,
                self.token,
                httponly=True,
                samesite="Strict",
                secure=request.secure,
                path="/",
            )
            _harden(redirect)
            return redirect
        response: web.StreamResponse = await handler(request)
        if not response.prepared:
            _harden(response)
        return response

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        app.router.add_get("/favicon.svg", self.handle_favicon)
        app.router.add_get("/favicon.ico", self.handle_favicon)
        return app

    async def handle_favicon(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(
            WEB_ASSETS / "favicon.svg", headers={"Content-Type": "image/svg+xml"}
        )

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; cnlab prints its own line once bound."""

    @aiohttp_jinja2.template("index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page, with URLs relative to how the browser reached us."""
        base = f"{request.scheme}://{request.host}"
        ws = ("wss" if request.secure else "ws") + f"://{request.host}/ws"
        return {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": ws,
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: start its own app and relay between the two until either ends."""
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        await websocket.prepare(request)
        self.sockets.add(websocket)
        service = LabProcess(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.services.add(service)
        try:
            await service.start(width, height)
            log.info("tab connected: app pid %s", service.pid)
            await self._relay(websocket, service)
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            log.warning("a tab failed: %s", exc)
        finally:
            await service.stop()
            self.services.discard(service)
            self.sockets.discard(websocket)
            with quietly("closing a websocket"):
                await websocket.close()
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, service: LabProcess) -> None:
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, data = message.json()
            except (ValueError, TypeError):
                continue
            if kind == "stdin" and isinstance(data, str):
                await service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await service.set_terminal_size(
                    to_int(str(data.get("width")), 80), to_int(str(data.get("height")), 24)
                )
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    # --- lifetime

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM/SIGHUP, then end every app and return."""
        runner = web.AppRunner(
            await self._make_app(), handle_signals=False, access_log=None, shutdown_timeout=5.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host or None, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            if exc.errno == errno.EADDRINUSE:
                reason += " (another program has this port: try another with --port)"
            bare = self.host.strip("[]") or "*"
            where = f"[{bare}]:{self.port}" if ":" in bare else f"{bare}:{self.port}"
            raise LabError(f"cannot listen on {where}: {reason}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        print(f"cnlab: serving world {self.world!r} at {self.url}", flush=True)
        print("cnlab: each browser tab gets its own lab; Ctrl+C stops them all", flush=True)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await self.shutdown(runner)

    async def shutdown(self, runner: web.AppRunner) -> None:
        await asyncio.gather(*(s.stop() for s in list(self.services)), return_exceptions=True)
        for websocket in list(self.sockets):
            with quietly("closing a websocket at shutdown"):
                await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")
        await runner.cleanup()


# --------------------------------------------------------------------- the verb


def cmd_serve(args: argparse.Namespace) -> int:
    """``cnlab serve [--host H] [--port P] [--public] [--allow-host NAME] [--token T]``."""
    world = validate_name(args.world)
    host: str = args.host
    port: int = args.port
    if not 1 <= port <= 65535:
        raise LabError(f"--port {port}: use a port from 1 to 65535", status=2)
    given = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    token = check_token(given) if given is not None else secrets.token_urlsafe(32)
    allow_hosts = [check_host_name(name) for name in args.allow_host or ()]
    loopback = is_loopback(host)
    if not loopback and not args.public:
        raise LabError(
            f"refusing to serve on {host or 'every address'!r}: the page is a root shell on this "
            "machine; add --public to serve it beyond loopback (the token is still required)",
            status=2,
        )
    preflight.require_root()
    preflight.require_capabilities()  # each browser tab builds or enters a world
    preflight.require_tools()
    logging.basicConfig(level=logging.WARNING, format="cnlab serve: %(message)s")
    if not loopback:
        print(
            f"cnlab: WARNING: --public: anyone who can reach {host or '*'} port {port} and has "
            "the token gets a root shell on this machine: share the URL only with learners",
            file=sys.stderr,
            flush=True,
        )
    server = LabServer(world, host, port, token=token, allow_hosts=allow_hosts)
    try:
        asyncio.run(server.run())
    except KeyboardInterrupt:  # a second Ctrl+C during shutdown
        return 130
    print("cnlab: stopped", flush=True)
    return 0


def _harden(response: web.StreamResponse) -> None:
    """No framing by other sites, no token in a Referer, no cached root-shell page."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
