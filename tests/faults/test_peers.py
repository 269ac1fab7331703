"""Peers failing under the daemon: the MQTT broker restarted, the Modbus module power-cycled, the
RS-485 adapter unplugged and plugged back (the socat pair removed and recreated).

What must hold:
- broker restarted mid-stream: every press the broker accepted reaches the police, including those
  published while the daemon was still reconnecting (its persistent session queues them);
- module power-cycled: its buttons are flagged offline (device offline, a flag alarm open), the flag
  clears when it is back, and a press held across the power cycle reaches the police;
- adapter unplugged: the bus is flagged offline, and after replugging the bus and its buttons are
  online again, their flags closed, and a press made after replugging reaches the police.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.sim.mqtt_buttons import SimMqttButton
from tests.faults.site import Site, SiteSpec, panics, until


async def _flag_cycle(site: Site, device: str) -> None:
    """The device's flag was raised, and every flag of it is closed now."""
    await site.wait_device(device, "online", timeout=20)
    await until(lambda: all(f["state"] == "closed" for f in site.flags(device)), 10, f"{device} flag cleared")
    assert site.flags(device), f"{device} was flagged while it was gone"


async def test_broker_restart_mid_stream(tmp_path: Path) -> None:
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=2, serial_buttons=0)).start()
    try:
        await site.start_daemon()
        rx = site.receivers[0]
        ids = [b.id for b in site.buttons]
        for i in range(10):
            await site.mqtt_press(ids[i % 2])
        await asyncio.to_thread(site.broker.restart)
        for b in site.mqtt.values():  # the buttons reconnect on their own (paho's loop)

            def reconnected(b: SimMqttButton = b) -> bool:
                return b.client is not None and b.client.is_connected()

            await until(reconnected, 15, f"{b.id} reconnected")
        for i in range(10):  # at once: the daemon may still be reconnecting
            await site.mqtt_press(ids[i % 2])
        await until(lambda: len({r.sequence for r in panics(rx)}) >= 20, 30, "all 20 presses delivered")
        zones = {b.zone for b in site.buttons}
        assert {r.zone for r in panics(rx)} == zones
    finally:
        await site.stop()


async def test_modbus_module_power_cycle(tmp_path: Path) -> None:
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=0, serial_buttons=2)).start()
    try:
        await site.start_daemon()
        rx = site.receivers[0]
        button = site.buttons[0]
        await site.wait_device(button.id, "online")
        await site.sim.stop()  # the module loses power: nothing answers on the line
        await site.wait_device(button.id, "offline", timeout=20)
        assert any(f["state"] == "open" for f in site.flags(button.id)), "offline flag raised"
        site.serial_hold(button, True)  # pressed while the module is off: seen once it is back
        assert site.line is not None
        await site.sim.start(site.line.a, [1])  # power back
        await until(lambda: len(panics(rx, button.zone)) >= 1, 20, "the held press reaches the police")
        site.serial_hold(button, False)
        await _flag_cycle(site, button.id)
    finally:
        await site.stop()


async def test_serial_adapter_unplugged_and_replugged(tmp_path: Path) -> None:
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=0, serial_buttons=2)).start()
    try:
        await site.start_daemon()
        rx = site.receivers[0]
        button = site.buttons[0]
        await site.wait_device(button.id, "online")
        await site.unplug_serial()
        await site.wait_device("bus1", "offline", timeout=20)
        assert any(f["state"] == "open" for f in site.flags("bus1")), "bus offline flag raised"
        await asyncio.sleep(1.0)  # unplugged for a while: the daemon keeps trying to reopen
        await site.plug_serial()
        await _flag_cycle(site, "bus1")
        await site.wait_device(button.id, "online")
        site.serial_hold(button, True)
        await until(lambda: len(panics(rx, button.zone)) >= 1, 20, "a press after replugging reaches the police")
        site.serial_hold(button, False)
    finally:
        await site.stop()
