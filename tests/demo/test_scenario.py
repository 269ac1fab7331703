"""The demo's scenario, sped up, against the demo's own simulators: what each step does on the wire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusException

from edge.demo.plan import PATROL_CHECKPOINTS, SERIAL_BUTTONS
from edge.demo.scenario import Scenario
from edge.demo.site import DemoSite

SPEED = 60.0  # 2 s holds become 33 ms, the 60 s dark camera 1 s, the 30 s power cut 0.5 s


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    s = DemoSite(tmp_path, key=None)
    await s.start()
    yield s
    await s.stop()


async def _watch_input(port: Path, unit: int, address: int, seen: list[bool | None], stop: asyncio.Event) -> None:
    client = AsyncModbusSerialClient(str(port), baudrate=9600, timeout=0.1, retries=0)
    await client.connect()
    try:
        while not stop.is_set():
            try:
                rr = await client.read_discrete_inputs(0, count=16, device_id=unit)
                seen.append(bool(rr.bits[address]))
            except ModbusException:
                seen.append(None)  # no answer: the module has no power
            await asyncio.sleep(0.02)
    finally:
        client.close()


async def test_serial_press_and_power_cut_on_the_wire(site: DemoSite) -> None:
    said: list[str] = []
    scenario = Scenario(site, said.append, speed=SPEED)
    scenario.hold = 0.3  # several poll cycles at 9600 baud, so the watcher cannot miss the press
    b = SERIAL_BUTTONS[0]
    seen: list[bool | None] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_input(site.bus_ports[b.bus], b.unit, b.input, seen, stop))
    await asyncio.sleep(0.2)
    await scenario.press_serial()
    await asyncio.sleep(0.2)
    stop.set()
    await watcher
    assert True in seen and seen[-1] is False and seen[0] is False  # pressed, then released
    cut = SERIAL_BUTTONS[-1]
    seen.clear()
    stop.clear()
    watcher = asyncio.create_task(_watch_input(site.bus_ports[cut.bus], cut.unit, cut.input, seen, stop))
    await scenario.power_cut()
    await asyncio.sleep(0.3)
    stop.set()
    await watcher
    assert None in seen and seen[-1] is False  # silent while unpowered, answering again after
    assert any("loses power" in t for t in said) and any("power back" in t for t in said)


async def test_mqtt_press_and_dark_camera(site: DemoSite) -> None:
    got: list[str] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="scenario-test")
    subscribed = asyncio.Event()
    loop = asyncio.get_running_loop()
    client.on_connect = lambda c, *_a: c.subscribe("edge/buttons/+/event", qos=1)

    def on_subscribe(*_a: Any) -> None:
        loop.call_soon_threadsafe(subscribed.set)

    client.on_subscribe = on_subscribe
    client.on_message = lambda _c, _u, m: got.append(json.loads(m.payload)["type"])
    client.connect("127.0.0.1", site.broker.port)
    client.loop_start()
    try:
        await asyncio.wait_for(subscribed.wait(), 5)
        scenario = Scenario(site, lambda _t: None, speed=SPEED)
        await scenario.press_mqtt()
        dark = asyncio.create_task(scenario.camera_dark())
        await asyncio.sleep(0.3)
        assert site.video.cameras["cam-playground"].scene.mode == "black"
        await dark
        assert site.video.cameras["cam-playground"].scene.mode == "normal"
        async with asyncio.timeout(5):
            while [t for t in got if t != "heartbeat"] != ["press", "release"]:
                await asyncio.sleep(0.05)
    finally:
        client.loop_stop()


async def test_patrol_round_on_the_wire(site: DemoSite) -> None:
    got: list[dict[str, object]] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="scenario-patrol-test")
    subscribed = asyncio.Event()
    loop = asyncio.get_running_loop()
    client.on_connect = lambda c, *_a: c.subscribe("edge/patrol/+/checkin", qos=1)

    def on_subscribe(*_a: Any) -> None:
        loop.call_soon_threadsafe(subscribed.set)

    client.on_subscribe = on_subscribe
    client.on_message = lambda _c, _u, m: got.append(json.loads(m.payload))
    client.connect("127.0.0.1", site.broker.port)
    client.loop_start()
    try:
        await asyncio.wait_for(subscribed.wait(), 5)
        await Scenario(site, lambda _t: None, speed=SPEED).patrol_round()
        async with asyncio.timeout(5):
            while len(got) < len(PATROL_CHECKPOINTS):
                await asyncio.sleep(0.05)
        assert [m["tag"] for m in got] == [c["tag"] for c in PATROL_CHECKPOINTS]
        assert all(isinstance(m["ts"], float) and m["guard"] for m in got)
    finally:
        client.loop_stop()
