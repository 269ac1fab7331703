"""The Modbus RTU bus driver against the pymodbus simulator on a socat pty pair."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import REGISTRY

from edge.config.devices import InputRef, SerialBus, SerialButton
from edge.drivers.modbus_rtu import ModbusRtuBus
from edge.events import EventKind, now_ms
from edge.sim.modbus import ModbusSim
from tests.drivers.conftest import running
from tests.peers.collect import Collector
from tests.peers.serial import SerialPair

POLL = 0.03
OFFLINE_AFTER = 5  # 5 polls x (30 ms + 30 ms reply timeout) => offline within ~0.3 s


def bus(pair: SerialPair, **kw: Any) -> SerialBus:
    return SerialBus(
        id="bus1",
        port=str(pair.b),
        poll_interval=POLL,
        timeout=0.03,
        offline_after=OFFLINE_AFTER,
        reopen_max_delay=0.2,
        **kw,
    )


def button(bid: str, unit: int, address: int, zone: int, **kw: Any) -> SerialButton:
    return SerialButton(
        id=bid,
        name=bid,
        zone=zone,
        transport="serial",
        bus="bus1",
        unit=unit,
        input=InputRef(type="discrete_input", address=address),
        **kw,
    )


def standard(pair: SerialPair, col: Collector) -> ModbusRtuBus:
    return ModbusRtuBus(
        bus(pair),
        [
            button("b1", 1, 0, 1, tamper=InputRef(type="discrete_input", address=1)),
            button("b2", 1, 2, 2, latching=True),
            button("b3", 2, 0, 3),
        ],
        col.ctx,
    )


async def settle(col: Collector, n: int = 3) -> None:
    await col.wait_for(lambda e: e.device_id == "b3" and e.kind == EventKind.DEVICE_ONLINE)
    await asyncio.sleep(POLL * n)


async def test_press_hold_release(pair: SerialPair, sim: ModbusSim) -> None:
    col = Collector()
    async with running(standard(pair, col)):
        await col.wait_kind(EventKind.DEVICE_ONLINE, "b3")
        assert {e.device_id for e in col.of(EventKind.DEVICE_ONLINE)} >= {"bus1", "b1", "b2", "b3"}
        before = now_ms()
        sim.press(1, 0)
        press = await col.wait_kind(EventKind.ALARM_PRESS, "b1", timeout=1)
        assert before <= press.ts_ms <= now_ms()
        assert press.payload == {
            "transport": "serial",
            "bus": "bus1",
            "unit": 1,
            "input": {"type": "discrete_input", "address": 0},
            "latching": False,
        }
        await asyncio.sleep(POLL * 8)  # held: nothing more
        assert len(col.of(EventKind.ALARM_PRESS)) == 1
        sim.release(1, 0)
        rel = await col.wait_kind(EventKind.ALARM_RELEASE, "b1", timeout=1)
        assert rel.payload["reset"] == "released"
        assert rel.ts_ms >= press.ts_ms
        assert not col.of(EventKind.ALARM_PRESS, "b2") and not col.of(EventKind.ALARM_PRESS, "b3")


async def test_latching_and_tamper(pair: SerialPair, sim: ModbusSim) -> None:
    col = Collector()
    async with running(standard(pair, col)):
        await settle(col)
        sim.press(1, 2)
        press = await col.wait_kind(EventKind.ALARM_PRESS, "b2", timeout=1)
        assert press.payload["latching"] is True
        sim.release(1, 2)  # the key reset
        rel = await col.wait_kind(EventKind.ALARM_RELEASE, "b2", timeout=1)
        assert rel.payload["reset"] == "key"
        sim.set_tamper(1, 1, True)
        t = await col.wait_kind(EventKind.DEVICE_TAMPER, "b1", timeout=1)
        assert t.payload["state"] == "active"
        n = len(col.events)
        sim.set_tamper(1, 1, False)
        t = await col.wait_kind(EventKind.DEVICE_TAMPER, "b1", timeout=1, start=n)
        assert t.payload["state"] == "restored"
        assert not col.of(EventKind.ALARM_PRESS, "b1")


async def test_nc_contact_register_bit_and_fault(pair: SerialPair, sim: ModbusSim) -> None:
    col = Collector()
    buttons = [
        SerialButton(
            id="nc",
            name="nc",
            zone=1,
            transport="serial",
            bus="bus1",
            unit=1,
            input=InputRef(type="discrete_input", address=5, inverted=True),
        ),
        SerialButton(
            id="reg",
            name="reg",
            zone=2,
            transport="serial",
            bus="bus1",
            unit=2,
            input=InputRef(type="holding_register_bit", address=3, bit=4),
            fault=InputRef(type="coil", address=7),
            debounce=2,
        ),
    ]
    async with running(ModbusRtuBus(bus(pair), buttons, col.ctx)):
        # Normally closed and the sim's input at 0: the loop is open, i.e. pressed (or cut).
        await col.wait_kind(EventKind.ALARM_PRESS, "nc", timeout=1)
        sim.press(1, 5)  # contact closes again
        await col.wait_kind(EventKind.ALARM_RELEASE, "nc", timeout=1)
        await col.wait_kind(EventKind.DEVICE_ONLINE, "reg", timeout=1)
        sim.set_register(2, 3, 1 << 4)
        await col.wait_kind(EventKind.ALARM_PRESS, "reg", timeout=1)
        sim.set_input(2, 7, True, kind="coil")
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "reg", timeout=1)
        assert off.payload["reason"] == "fault"
        n = len(col.events)
        sim.set_input(2, 7, False, kind="coil")
        await col.wait_kind(EventKind.DEVICE_ONLINE, "reg", timeout=1, start=n)


async def test_sim_stopped_offline_then_online(pair: SerialPair, sim: ModbusSim) -> None:
    col = Collector()
    driver = standard(pair, col)
    async with running(driver):
        await settle(col)
        await sim.stop()
        t0 = time.monotonic()
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "b3", timeout=2)
        # Configured time: offline_after polls, each at most poll_interval + reply timeout (+ line time).
        assert time.monotonic() - t0 <= OFFLINE_AFTER * (POLL + 0.03 + 0.02) + 0.5
        assert off.payload == {
            "transport": "serial",
            "bus": "bus1",
            "unit": 2,
            "type": "button",
            "reason": "no_response",
        }
        await col.wait_kind(EventKind.DEVICE_OFFLINE, "b1", timeout=1)
        assert not col.of(EventKind.DEVICE_OFFLINE, "bus1")  # the port is fine, the units are silent
        assert driver.diagnostics()["units"]["2"]["errors"]["timeout"] >= OFFLINE_AFTER
        n = len(col.events)
        await sim.start(pair.a, [1, 2])
        await col.wait_kind(EventKind.DEVICE_ONLINE, "b1", timeout=2, start=n)
        await col.wait_kind(EventKind.DEVICE_ONLINE, "b3", timeout=2, start=n)
        sim.press(2, 0)
        await col.wait_kind(EventKind.ALARM_PRESS, "b3", timeout=1)


async def test_one_silent_unit_does_not_affect_the_other(pair: SerialPair, sim: ModbusSim) -> None:
    col = Collector()
    async with running(standard(pair, col)):
        await settle(col)
        sim.set_silent(2)
        await col.wait_kind(EventKind.DEVICE_OFFLINE, "b3", timeout=2)
        sim.press(1, 0)
        await col.wait_kind(EventKind.ALARM_PRESS, "b1", timeout=1)
        assert not col.of(EventKind.DEVICE_OFFLINE, "b1")


def _metric(bus_id: str, unit: str, reason: str) -> float:
    v = REGISTRY.get_sample_value("edge_modbus_errors_total", {"bus": bus_id, "unit": unit, "reason": reason})
    return v or 0.0


async def test_garbage_counted_and_polling_continues(pair: SerialPair, sim: ModbusSim) -> None:
    col = Collector()
    driver = standard(pair, col)
    async with running(driver):
        await settle(col)
        before = {r: _metric("bus1", "1", r) for r in ("crc", "garbage")}
        for fault in ("crc", "noise", "garbage", "crc"):
            sim.inject(fault, unit=1)
        sim.press(1, 0)
        await col.wait_kind(EventKind.ALARM_PRESS, "b1", timeout=2)
        await asyncio.sleep(POLL * 4)
        errors = driver.diagnostics()["units"]["1"]["errors"]
        assert errors.get("crc", 0) >= 2
        assert errors.get("garbage", 0) >= 2  # the noise-only reply and the noise before a good reply
        assert _metric("bus1", "1", "crc") - before["crc"] >= 2
        assert _metric("bus1", "1", "garbage") - before["garbage"] >= 2
        assert not col.of(EventKind.DEVICE_OFFLINE)  # a few bad frames are not a dead unit


async def test_port_vanishes_and_returns(pair: SerialPair, sim: ModbusSim) -> None:
    col = Collector()
    driver = standard(pair, col)
    async with running(driver):
        await settle(col)
        await sim.stop()
        pair.stop()  # the USB adapter is unplugged: both pty ends and links disappear
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "bus1", timeout=2)
        assert off.payload["type"] == "bus" and off.payload["reason"] == "port_lost"
        for b in ("b1", "b2", "b3"):
            e = await col.wait_kind(EventKind.DEVICE_OFFLINE, b, timeout=1)
            assert e.payload["reason"] == "bus_offline"
        assert driver.diagnostics()["state"] == "offline"
        await asyncio.sleep(0.3)  # several reopen attempts fail meanwhile
        assert len(col.of(EventKind.DEVICE_OFFLINE, "bus1")) == 1
        n = len(col.events)
        pair.start()
        await sim.start(pair.a, [1, 2])
        await col.wait_kind(EventKind.DEVICE_ONLINE, "bus1", timeout=3, start=n)
        await col.wait_kind(EventKind.DEVICE_ONLINE, "b1", timeout=2, start=n)
        sim.press(1, 0)
        await col.wait_kind(EventKind.ALARM_PRESS, "b1", timeout=1)


async def test_port_missing_at_start(pair: SerialPair) -> None:
    col = Collector()
    pair.stop()
    async with running(standard(pair, col)):
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "bus1", timeout=2)
        assert off.payload["reason"] == "port_lost"
        pair.start()
        sim = ModbusSim()
        await sim.start(pair.a, [1, 2])
        try:
            await col.wait_kind(EventKind.DEVICE_ONLINE, "bus1", timeout=3)
            await col.wait_kind(EventKind.DEVICE_ONLINE, "b3", timeout=2)
        finally:
            await sim.stop()


async def test_misconfigured_address_is_flagged_not_silent(pair: SerialPair, sim: ModbusSim) -> None:
    """A unit that answers with a Modbus exception (here: illegal address) leaves its button unmonitored."""
    col = Collector()
    driver = ModbusRtuBus(bus(pair), [button("wrong", 1, 40, 1), button("b3", 2, 0, 3)], col.ctx)
    async with running(driver):
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "wrong", timeout=2)
        assert off.payload["reason"] == "modbus_exception"
        assert driver.diagnostics()["units"]["1"]["errors"]["exception"] >= OFFLINE_AFTER
        assert not col.of(EventKind.DEVICE_OFFLINE, "b3")
