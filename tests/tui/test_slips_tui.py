"""A command typed in the wrong namespace, in the lab's shell: the lab says where the
device lives (lab/slips.py, from the recorded command and the world read after it).
One world of the fixture course, one command: a few seconds."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from lab.tui.app import LabApp
from lab.world import World

from .conftest import wait_for
from .test_app import notes, prompt, run, type_line

pytestmark = pytest.mark.integration


def test_a_device_of_another_namespace_is_told_where_it_lives(built_world: World) -> None:
    built_world.run(
        "ip netns add box && ip link add vhost type veth peer name vbox "
        "&& ip link set vbox netns box",
        check=True,
    )

    async def scenario(app: LabApp, pilot: Pilot[Any]) -> None:
        await prompt(app, pilot)
        await type_line(pilot, "ip link set vhost up")  # it is here: no help needed
        await type_line(pilot, "ip link set vbox up")  # Cannot find device "vbox"

        def told() -> bool:
            return any("vbox is not on the host: it lives in box" in n for n in notes(app))

        assert await wait_for(pilot, told, 20), notes(app)
        assert not any("vhost" in n for n in notes(app))

    run(built_world, scenario, lesson="1")
