"""The check-server client: normal answers, restarts, timeouts, and the real server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from lab.tui.checker import CheckClient, CheckError
from lab.world import World

FAKE = str(Path(__file__).with_name("fake_server.py"))


def client(mode: str, timeout: float = 5.0) -> CheckClient:
    return CheckClient("x", [sys.executable, FAKE, mode], timeout=timeout)


def test_answers_and_restarts_after_the_server_dies() -> None:
    async def main() -> None:
        c = client("die")
        report = await c.check("01-first")
        assert report.lesson == "01-first"
        with pytest.raises(CheckError, match="stopped"):
            await c.state()  # the server died after its first answer
        state = await c.state()  # restarted
        assert state.world == "x"
        assert c.starts == 2
        await c.close()

    asyncio.run(main())


def test_garbage_error_and_hang_become_check_errors() -> None:
    async def main() -> None:
        for mode, message in (("garbage", "not JSON"), ("error", "no world 'x' yet")):
            c = client(mode)
            with pytest.raises(CheckError, match=message):
                await c.state()
            await c.close()
        c = client("hang", timeout=0.3)
        with pytest.raises(CheckError, match="did not answer"):
            await c.check("01-first")
        assert c.proc is None  # killed, the next request starts afresh
        await c.close()
        c = CheckClient("x", ["/nonexistent/server"])
        with pytest.raises(CheckError, match="cannot start"):
            await c.state()

    asyncio.run(main())


def test_one_request_at_a_time() -> None:
    async def main() -> None:
        c = client("ok")
        results = await asyncio.gather(*(c.state() for _ in range(5)))
        assert sorted(r.taken_at for r in results) == [0, 1, 2, 3, 4]
        await c.close()

    asyncio.run(main())


@pytest.mark.integration
def test_real_server_state_and_check(built_world: World) -> None:
    async def main() -> None:
        c = CheckClient(built_world.name)
        state = await c.state()
        assert set(state.namespaces) == {"host", "internet"}
        report = await c.check("01-first")
        assert [m.passed for m in report.milestones] == [False, False, False]
        await c.close()

    asyncio.run(main())
