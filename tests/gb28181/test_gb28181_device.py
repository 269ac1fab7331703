"""The device side against the platform simulator over real UDP and TCP sockets."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET

import pytest

from edge.gb28181.device import AUTH_BACKOFF_MIN_S, CATALOG_PAGE, REGISTER_FAILURES, GbDevice
from edge.sim.gb28181_platform import PlatformSim
from tests.fuzz.counting import total
from tests.gb28181.support import BUTTONS, CAM, DEVICE_ID, gb_config


async def _started(device: GbDevice) -> asyncio.Task[None]:
    return asyncio.create_task(device.run())


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(("transport", "qop"), [("udp", True), ("udp", False), ("tcp", True)])
async def test_register_keepalive_queries_unregister(transport: str, qop: bool) -> None:
    sim = await PlatformSim(transport=transport, qop=qop).start()
    device = GbDevice(gb_config(sim), sim.password, [CAM, *BUTTONS])
    task = await _started(device)
    try:
        await sim.wait_for(lambda: DEVICE_ID in sim.devices and sim.devices[DEVICE_ID].keepalives >= 2)
        assert device.registered and device.last_keepalive_ms is not None
        assert sim.register_attempts == 2  # the 401 challenge, then the answer

        sn = await sim.query(DEVICE_ID, "Catalog")
        pages = (len(BUTTONS) + 1 + CATALOG_PAGE - 1) // CATALOG_PAGE
        await sim.wait_for(lambda: len(sim.responses_for(sn)) == pages)
        docs = sim.responses_for(sn)
        assert {d.fields["SumNum"] for d in docs} == {"7"}
        items = [item for d in docs for item in d.element.iter("Item")]
        assert len(items) == 7 and all(_list_num(d.element) <= CATALOG_PAGE for d in docs)
        by_id = {i.findtext("DeviceID"): i for i in items}
        assert by_id[CAM.gb_id].findtext("Name") == "南门枪机"
        button = by_id[BUTTONS[0].gb_id]
        assert "南门枪机" in (button.findtext("Name") or "") and button.findtext("Info/RelatedChannel") == CAM.gb_id
        assert button.findtext("ParentID") == DEVICE_ID

        sn = await sim.query(DEVICE_ID, "DeviceInfo")
        await sim.wait_for(lambda: sim.responses_for(sn))
        info = sim.responses_for(sn)[0]
        assert info.fields["Result"] == "OK" and info.fields["Channel"] == "7"

        sn = await sim.control(DEVICE_ID, [("GuardCmd", "ResetGuard")])
        await sim.wait_for(lambda: sim.responses_for(sn))
        assert sim.responses_for(sn)[0].fields["Result"] == "OK" and not device.guard
        sn = await sim.query(DEVICE_ID, "DeviceStatus")
        await sim.wait_for(lambda: sim.responses_for(sn))
        status = sim.responses_for(sn)[0]
        assert status.fields["Online"] == "ONLINE"
        assert {i.findtext("DutyStatus") for i in status.element.iter("Item")} == {"OFFDUTY"}
    finally:
        await _stop(task)
    await sim.wait_for(lambda: sim.unregisters == 1)
    assert DEVICE_ID not in sim.devices
    await sim.stop()


async def test_wrong_password_is_counted_and_backs_off() -> None:
    sim = await PlatformSim().start()
    before = total(REGISTER_FAILURES, reason="auth")
    device = GbDevice(gb_config(sim), "wrong-password", [CAM])
    task = await _started(device)
    try:
        await sim.wait_for(lambda: sim.auth_failures == 1)
        await asyncio.sleep(1.5)
        assert sim.register_attempts == 2 and sim.auth_failures == 1  # no retry before AUTH_BACKOFF_MIN_S
        assert AUTH_BACKOFF_MIN_S >= 30
        assert total(REGISTER_FAILURES, reason="auth") == before + 1
        assert not device.registered and "auth" in device.status()["last_error"]
    finally:
        await _stop(task)
        await sim.stop()


async def test_unanswered_keepalives_register_again() -> None:
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim), sim.password, [CAM])
    task = await _started(device)
    try:
        await sim.wait_for(lambda: DEVICE_ID in sim.devices and sim.devices[DEVICE_ID].keepalives >= 1)
        attempts = sim.register_attempts
        sim.answer_keepalives = False
        started = time.monotonic()
        await sim.wait_for(lambda: sim.register_attempts > attempts, within=30)
        # three keepalives at 0.3 s, each waiting for its transaction to time out, then a new REGISTER
        assert time.monotonic() - started < 30
        sim.answer_keepalives = True
        await sim.wait_for(lambda: device.registered and sim.devices[DEVICE_ID].keepalives >= 2, within=30)
    finally:
        await _stop(task)
        await sim.stop()


async def test_tcp_platform_restart_registers_again() -> None:
    sim = await PlatformSim(transport="tcp").start()
    port = sim.port
    device = GbDevice(gb_config(sim), sim.password, [CAM])
    task = await _started(device)
    try:
        await sim.wait_for(lambda: device.registered)
        await sim.stop()  # the connection closes under the device
        await asyncio.sleep(0.5)
        assert not device.registered
        sim = await PlatformSim(transport="tcp").start(port=port)
        await sim.wait_for(lambda: DEVICE_ID in sim.devices and device.registered, within=20)
        assert not task.done()  # handled inside the device loop, not by a unit restart
    finally:
        await _stop(task)
        await sim.stop()


def _list_num(element: ET.Element) -> int:
    """A Catalog page's DeviceList Num attribute; a page without one fails the test."""
    node = element.find("DeviceList")
    assert node is not None, "no DeviceList"
    num = node.get("Num")
    assert num is not None, "DeviceList without Num"
    return int(num)
