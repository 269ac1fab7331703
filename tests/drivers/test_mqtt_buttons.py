"""The MQTT button driver against a real mosquitto broker."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config.devices import MqttButton, PayloadMapping
from edge.config.models import Mqtt
from edge.drivers.mqtt_buttons import MqttButtons
from edge.events import Event, EventKind
from tests.drivers.conftest import running
from tests.peers.collect import Collector
from tests.peers.mosquitto import Mosquitto
from tests.peers.mqtt_device import Device
from tests.peers.tls import make_certs

_n = itertools.count()


@pytest.fixture
def prefix() -> str:
    return f"t{next(_n)}-{time.monotonic_ns()}"  # isolates retained status and sessions between tests


def make(url: str, prefix: str, col: Collector, buttons: list[MqttButton] | None = None, **kw: Any) -> MqttButtons:
    settings: dict[str, Any] = {"reconnect_min_delay": 0.1, "reconnect_max_delay": 0.5, "keepalive": 5, **kw}
    cfg = Mqtt(url=url, topic_prefix=prefix, **settings)
    buttons = buttons or [
        MqttButton(id="dorm-a", name="dorm-a", zone=1, transport="mqtt", heartbeat_timeout=1.0),
        MqttButton(id="dorm-b", name="dorm-b", zone=2, transport="mqtt", heartbeat_timeout=30),
    ]
    return MqttButtons(cfg, buttons, col.ctx, client_id=f"edge-{prefix}")


@pytest.fixture
def device(broker: Mosquitto, prefix: str) -> Iterator[Device]:
    d = Device(broker.url, prefix, "dorm-a")
    yield d
    d.close()


async def connected(drv: MqttButtons) -> None:
    async with asyncio.timeout(5):
        while not drv.link.subscribed:
            await asyncio.sleep(0.01)


async def test_press_release_tamper_heartbeat(broker: Mosquitto, prefix: str, device: Device) -> None:
    col = Collector()
    # A long heartbeat timeout, so a slow machine cannot interleave an offline event in the exact sequence.
    drv = make(broker.url, prefix, col, [MqttButton(id="dorm-a", name="a", zone=1, transport="mqtt")])
    async with running(drv):
        await connected(drv)
        device.event("press", seq=1, ts=1_700_000_000_000)
        on = await col.wait_kind(EventKind.DEVICE_ONLINE, "dorm-a")
        press = await col.wait_kind(EventKind.ALARM_PRESS, "dorm-a")
        assert col.events.index(on) < col.events.index(press)
        assert press.payload == {
            "transport": "mqtt",
            "topic": f"{prefix}/buttons/dorm-a/event",
            "seq": 1,
            "device_ts": 1_700_000_000_000,
        }
        assert abs(press.ts_ms - time.time() * 1000) < 2000  # receive time, not the device clock
        device.event("heartbeat", seq=2)
        device.event("release", seq=3)
        await col.wait_kind(EventKind.ALARM_RELEASE, "dorm-a")
        device.event("tamper")
        t = await col.wait_kind(EventKind.DEVICE_TAMPER, "dorm-a")
        assert t.payload["state"] == "active"
        kinds = [e.kind for e in col.events if e.device_id == "dorm-a"]
        assert kinds == [
            EventKind.DEVICE_ONLINE,
            EventKind.ALARM_PRESS,
            EventKind.ALARM_RELEASE,
            EventKind.DEVICE_TAMPER,
        ]


async def test_heartbeat_stop_goes_offline_in_time(broker: Mosquitto, prefix: str, device: Device) -> None:
    col = Collector()
    drv = make(broker.url, prefix, col)
    async with running(drv):
        await connected(drv)
        for i in range(3):
            device.event("heartbeat", seq=i)
            await asyncio.sleep(0.3)
        assert not col.of(EventKind.DEVICE_OFFLINE, "dorm-a")  # kept alive by heartbeats
        t0 = time.monotonic()
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "dorm-a", timeout=3)
        assert time.monotonic() - t0 <= 1.0 + 1.0
        assert off.payload["reason"] == "heartbeat_timeout"
        n = len(col.events)
        device.event("heartbeat", seq=10)
        await col.wait_kind(EventKind.DEVICE_ONLINE, "dorm-a", start=n)
        assert not col.of(EventKind.DEVICE_OFFLINE, "dorm-b")  # 30 s timeout not reached


async def test_silent_from_start_goes_offline(broker: Mosquitto, prefix: str) -> None:
    col = Collector()
    drv = make(broker.url, prefix, col)
    async with running(drv):
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "dorm-a", timeout=2.5)
        assert off.payload["reason"] == "heartbeat_timeout"


async def test_lwt_is_immediate_offline(broker: Mosquitto, prefix: str) -> None:
    col = Collector()
    drv = make(
        broker.url,
        prefix,
        col,
        buttons=[
            MqttButton(id="dorm-a", name="dorm-a", zone=1, transport="mqtt", heartbeat_timeout=60),
        ],
    )
    dev = Device(broker.url, prefix, "dorm-a")
    async with running(drv):
        await connected(drv)
        dev.status("online")
        await col.wait_kind(EventKind.DEVICE_ONLINE, "dorm-a")
        await asyncio.to_thread(dev.die)
        t0 = time.monotonic()
        off = await col.wait_kind(EventKind.DEVICE_OFFLINE, "dorm-a", timeout=3)
        assert off.payload["reason"] == "lwt"
        assert time.monotonic() - t0 < 1.0  # not the 60 s heartbeat deadline


async def test_malformed_payloads_counted_never_a_press(broker: Mosquitto, prefix: str, device: Device) -> None:
    col = Collector()
    drv = make(broker.url, prefix, col)
    bad: list[bytes | str] = [
        b"\xff\xfe",
        "{not json",
        "[1,2]",
        '{"type": "explode"}',
        '{"kind": "press"}',
        '{"type": "press", "seq": -1}',
        '{"type": "press", "ts": "yesterday"}',
        "x" * 5000,
    ]
    async with running(drv):
        await connected(drv)
        for p in bad:
            device.raw(p)
        device.client.publish(f"{prefix}/buttons/nobody/event", b'{"type":"press"}', qos=1).wait_for_publish(5)
        device.event("press", seq=99)
        await col.wait_kind(EventKind.ALARM_PRESS, "dorm-a")
        assert len(col.of(EventKind.ALARM_PRESS)) == 1
        counts = drv.diagnostics()["messages"]
        assert counts["malformed"] == len(bad)
        assert counts["unknown_button"] == 1


async def test_duplicate_seq_dropped(broker: Mosquitto, prefix: str, device: Device) -> None:
    col = Collector()
    drv = make(broker.url, prefix, col)
    async with running(drv):
        await connected(drv)
        for seq in (1, 1, 2, 1, 3):
            device.event("press", seq=seq)
        device.event("heartbeat", seq=4)
        async with asyncio.timeout(5):  # the heartbeat follows the duplicates: once it is in, all are
            while drv.counts.get("heartbeat", 0) < 1:
                await asyncio.sleep(0.01)
        assert [e.payload["seq"] for e in col.of(EventKind.ALARM_PRESS)] == [1, 2, 3]
        assert drv.diagnostics()["messages"]["duplicate"] == 2


async def test_vendor_field_mapping(broker: Mosquitto, prefix: str) -> None:
    col = Collector()
    buttons = [
        MqttButton(
            id="json",
            name="j",
            zone=1,
            transport="mqtt",
            mapping=PayloadMapping(
                type_field="data.alarm", seq_field="sn", ts_field=None, values={"1": "press", "0": "release"}
            ),
        ),
        MqttButton(
            id="text",
            name="t",
            zone=2,
            transport="mqtt",
            mapping=PayloadMapping(format="text", values={"ALARM": "press", "NORMAL": "release"}),
        ),
    ]
    drv = make(broker.url, prefix, col, buttons=buttons)
    j, t = Device(broker.url, prefix, "json"), Device(broker.url, prefix, "text")
    try:
        async with running(drv):
            await connected(drv)
            j.raw('{"data": {"alarm": 1}, "sn": 7}')
            t.raw("ALARM")
            t.raw("NORMAL")
            p = await col.wait_kind(EventKind.ALARM_PRESS, "json")
            assert p.payload["seq"] == 7
            await col.wait_kind(EventKind.ALARM_PRESS, "text")
            await col.wait_kind(EventKind.ALARM_RELEASE, "text")
    finally:
        j.close()
        t.close()


async def test_persistent_session_gets_messages_sent_while_away(broker: Mosquitto, prefix: str, device: Device) -> None:
    col1 = Collector()
    drv = make(broker.url, prefix, col1)
    async with running(drv):
        await connected(drv)
    # The first run subscribed with a persistent session; now the daemon is down.
    for seq in range(1, 6):
        device.event("press", seq=seq)
    col2 = Collector()
    async with running(make(broker.url, prefix, col2)):
        for seq in range(1, 6):

            def is_press(e: Event, s: int = seq) -> bool:
                return e.kind == EventKind.ALARM_PRESS and e.payload["seq"] == s

            await col2.wait_for(is_press)


async def test_ack_only_after_commit(broker: Mosquitto, prefix: str, device: Device) -> None:
    """If the store fails before committing, the broker must redeliver to the next run."""
    failing = Collector()

    async def broken(event: Event) -> None:
        if event.kind == EventKind.ALARM_PRESS:
            raise OSError("disk full")
        await failing.emit(event)

    ctx = failing.ctx.__class__(site_id="test", emit=broken)
    drv = MqttButtons(
        make(broker.url, prefix, failing).cfg,
        list(make(broker.url, prefix, failing).configs.values()),
        ctx,
        client_id=f"edge-{prefix}",
    )
    task = asyncio.create_task(drv.run())
    await connected(drv)
    device.event("press", seq=42)
    with pytest.raises(OSError, match="disk full"):
        await asyncio.wait_for(task, 5)
    col = Collector()
    async with running(make(broker.url, prefix, col)):
        p = await col.wait_kind(EventKind.ALARM_PRESS, "dorm-a")
        assert p.payload["seq"] == 42


async def test_broker_restart_loses_nothing(tmp_path: Path, prefix: str) -> None:
    broker = Mosquitto(tmp_path / "b").start()
    try:
        col = Collector()
        # The edge reconnects later than the device, so the device's queued presses reach the broker
        # while the edge is still away: only the persisted session can hold them.
        drv = make(broker.url, prefix, col, reconnect_min_delay=1.0, reconnect_max_delay=1.0)
        dev = Device(broker.url, prefix, "dorm-b", will=False, client_id=f"dev-{prefix}")
        # The device keeps a persistent session too, so its own queued publishes survive.
        async with running(drv):
            await connected(drv)
            for seq in range(1, 11):
                dev.event("press", seq=seq)
            await asyncio.to_thread(broker.wait_saved)  # the session is on disk (autosave every 1 s)
            broker.stop(kill=True)  # crash mid-stream
            for seq in range(11, 21):  # published while the broker is down: queued by the device's paho
                dev.event("press", wait=False, seq=seq)
            await asyncio.sleep(0.2)
            broker.start()
            for seq in range(21, 31):  # the device may still be reconnecting: queued too
                dev.event("press", wait=False, seq=seq)
            async with asyncio.timeout(10):
                while len({e.payload["seq"] for e in col.of(EventKind.ALARM_PRESS)}) < 30:
                    await asyncio.sleep(0.05)
            assert {e.payload["seq"] for e in col.of(EventKind.ALARM_PRESS)} == set(range(1, 31))
            assert drv.link.connects >= 2
        dev.close()
    finally:
        broker.stop()


async def test_tls_with_password_file(tmp_path: Path, prefix: str) -> None:
    ca, cert, key = make_certs(tmp_path)
    broker = Mosquitto(tmp_path / "tls", tls=(ca, cert, key), passwords={"edge": "s3cret-pw", "dev": "dev-pw"})
    broker.start()
    (tmp_path / "mqtt.pass").write_text("s3cret-pw\n")
    try:
        col = Collector()
        drv = make(broker.url, prefix, col, username="edge", password_file=tmp_path / "mqtt.pass", ca_file=ca)
        dev = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{prefix}")
        dev.username_pw_set("dev", "dev-pw")
        dev.tls_set(ca_certs=str(ca))
        async with running(drv):
            await connected(drv)
            await asyncio.to_thread(dev.connect, "127.0.0.1", broker.port)
            dev.loop_start()
            dev.publish(f"{prefix}/buttons/dorm-a/event", b'{"type":"press"}', qos=1)
            await col.wait_kind(EventKind.ALARM_PRESS, "dorm-a")
            diag = json.dumps(drv.diagnostics())
            assert "s3cret" not in diag and drv.diagnostics()["tls"] is True
        dev.disconnect()
        dev.loop_stop()
        # A wrong password is refused: no connection, no events, and the driver keeps retrying.
        (tmp_path / "mqtt.pass").write_text("wrong\n")
        bad = make(broker.url, prefix, Collector(), username="edge", password_file=tmp_path / "mqtt.pass", ca_file=ca)
        async with running(bad):
            await asyncio.sleep(0.5)
            assert not bad.link.connected
    finally:
        broker.stop()
