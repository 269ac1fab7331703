"""The runtime's outbox rows for the gb28181 transport: a press and a button going offline for a
button with a channel ID, a camera going offline and back (cameras send no DC-09 report), nothing
for devices without an ID or for test presses; DC-09 keeps its rows."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from edge.config import parse_config
from edge.events import Event, EventKind
from edge.hub import Hub
from edge.inventory import config_devices
from edge.runtime import Runtime
from edge.store import Database
from edge.store.devices import sync_devices

TEXT = """
site: {id: sch-0001}
storage: {path: edge.db}
api: {listen: "127.0.0.1:8080"}
mqtt: {}
police: {account: "12AB", receivers: ["dc09://127.0.0.1:9"], supervision_interval: 0}
cameras:
  - {id: cam-gate, name: 南门, onvif: http://192.0.2.1/onvif/device_service, gb28181_id: "34020000001320000001"}
buttons:
  - {id: gate-south, name: 南门一键报警, zone: 7, transport: mqtt, camera: cam-gate, gb28181_id: "34020000001340000001"}
  - {id: office, name: 行政楼, zone: 8, transport: mqtt}
gb28181: {server_id: "34020000002000000001", server: "udp://127.0.0.1:9", device_id: "34020000001180000001"}
"""


async def test_outbox_rows(tmp_path: Path) -> None:
    config = parse_config(TEXT, "edge.yaml", base_dir=tmp_path)
    db = Database(tmp_path / "edge.db")
    sync_devices(db, config_devices(config))
    assert "police-gb28181" in {d["id"] for d in config_devices(config)}
    runtime = Runtime(config, db, Hub())
    task = asyncio.create_task(runtime.run())
    try:
        await runtime.emit(Event(EventKind.ALARM_PRESS, "gate-south"))
        await runtime.emit(Event(EventKind.ALARM_PRESS, "office"))
        await runtime.emit(Event(EventKind.DEVICE_OFFLINE, "cam-gate", {"reason": "no_response"}))
        await runtime.emit(Event(EventKind.DEVICE_ONLINE, "cam-gate", {}))
        rows = db.query("SELECT transport, message FROM outbox ORDER BY seq")
        gb = [r["message"] for r in rows if r["transport"] == "gb28181"]
        dc09 = [r["message"] for r in rows if r["transport"] == "dc09"]
        assert len(gb) == 3 and '"PANIC"' in gb[0] and '"gate-south"' in gb[0]
        assert '"TROUBLE"' in gb[1] and '"TROUBLE_RESTORE"' in gb[2] and '"cam-gate"' in gb[1]
        assert len(dc09) == 2  # both presses; cameras' faults are not DC-09 reports
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        runtime.close()
        db.close()
