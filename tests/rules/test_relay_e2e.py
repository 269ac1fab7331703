"""Runtime + rules + the real Relay + a real DC-09 receiver (pysiaalarm): what the police actually get."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.config import Config, parse_config
from edge.events import Event, EventKind
from edge.hub import Hub
from edge.inventory import config_devices
from edge.relay.service import Relay
from edge.runtime import Runtime
from edge.store import Database
from edge.store.alarms import list_alarms
from edge.store.devices import sync_devices
from tests.peers.sia_receiver import SiaReceiver

ACCOUNT = "12AB"


def site(tmp: Path, url: str) -> Config:
    text = f"""
site: {{id: sch-0001}}
storage: {{path: edge.db}}
api: {{listen: "127.0.0.1:8080"}}
mqtt: {{}}
police: {{account: "{ACCOUNT}", receivers: ["{url}"], supervision_interval: 0, connect_timeout: 0.5,
          ack_timeout: 1.0, retry_max_interval: 0.4}}
buttons:
  - {{id: gate-south, name: 南门一键报警, location: 南门岗亭, zone: 7, transport: mqtt}}
"""
    return parse_config(text, "e2e.yaml", base_dir=tmp)


@pytest.fixture
async def receiver() -> AsyncIterator[SiaReceiver]:
    rx = SiaReceiver(ACCOUNT)
    await rx.start()
    yield rx
    await rx.stop()


@contextlib.asynccontextmanager
async def daemon(tmp: Path, rx: SiaReceiver) -> AsyncIterator[tuple[Runtime, Database]]:
    config = site(tmp, rx.url)
    db = Database(tmp / "edge.db")
    sync_devices(db, config_devices(config))
    runtime = Runtime(config, db, Hub())
    assert config.police is not None
    relay = Relay(config.police, db, runtime.emit, config.site.id)
    runtime.after_commit.append(relay.notify)
    tasks = [asyncio.create_task(runtime.run()), asyncio.create_task(relay.run())]
    try:
        yield runtime, db
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        db.close()


def cids(rx: SiaReceiver) -> list[tuple[str | None, int | None]]:
    return [(e.cid, e.zone) for e in rx.messages()]


async def test_press_release_and_test_mode_at_the_receiver(tmp_path: Path, receiver: SiaReceiver) -> None:
    async with daemon(tmp_path, receiver) as (rt, db):
        await rt.emit(Event(EventKind.ALARM_PRESS, "gate-south"))
        await receiver.wait_for(lambda: len(receiver.messages()) == 1)
        await rt.emit(Event(EventKind.ALARM_RELEASE, "gate-south"))
        await receiver.wait_for(lambda: len(receiver.messages()) == 2)
        assert cids(receiver) == [("1120", 7), ("3120", 7)]
        assert [a["state"] for a in list_alarms(db)] == ["open"]  # the release did not reset it

        await rt.set_maintenance("gate-south", 5, "技术员")
        await rt.emit(Event(EventKind.ALARM_PRESS, "gate-south"))
        await rt.emit(Event(EventKind.DEVICE_TAMPER, "gate-south", {"state": "active"}))
        await receiver.wait_for(lambda: len(receiver.messages()) == 4)
        assert cids(receiver)[2:] == [("1601", 7), ("1601", 7)]
        await rt.clear_maintenance("gate-south", "技术员")  # the tamper still active is now real
        await receiver.wait_for(lambda: len(receiver.messages()) == 5)
        assert cids(receiver)[4] == ("1137", 7)
        assert len(list_alarms(db)) == 2  # the real panic and the tamper flag; no test alarm
