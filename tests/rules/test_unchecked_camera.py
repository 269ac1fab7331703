"""Issue 12 item 9 against real peers: a simulated ONVIF camera whose video server answers garbage, checked by
the real camera driver (our SOAP client, OpenCV) every 0.3 s, its results committed by the real Runtime into SQLite.
Every quality result is "unknown"; the operator gets one quiet 无法检查 note, not a new 不达标 flag each time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.config import Config
from edge.drivers.base import DriverContext
from edge.drivers.camera import CameraDriver
from edge.drivers.registry import build_drivers
from edge.events import Event, EventKind
from edge.hub import Hub
from edge.inventory import config_devices
from edge.runtime import Runtime
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.video_server import VideoServer
from edge.store import Database
from edge.store.alarms import list_alarms
from edge.store.devices import devices_with_state, sync_devices
from tests.onvif.helpers import PASSWORD, USER, add


@pytest.fixture
async def video() -> AsyncIterator[VideoServer]:
    v = VideoServer(fps=5.0)
    await v.start()
    yield v
    await v.stop()


@pytest.fixture
async def vsim(video: VideoServer) -> AsyncIterator[OnvifSimulator]:
    s = OnvifSimulator(video_base=f"http://127.0.0.1:{video.port}", on_video_mode=video.set_mode)
    yield s
    await s.close()


def _config(tmp_path: Path, sim: OnvifSimulator) -> Config:
    pw = tmp_path / "cam.pass"
    pw.write_text(PASSWORD + "\n")
    return Config.model_validate(
        {
            "site": {"id": "sch-test", "timezone": "Asia/Shanghai"},
            "storage": {"path": str(tmp_path / "edge.db")},
            "api": {},
            "cameras": [
                {
                    "id": "yard",
                    "name": "操场球机",
                    "location": "操场",
                    "onvif": sim.url("yard"),
                    "username": USER,
                    "password_file": str(pw),
                }
            ],
            "checks": {
                "startup_delay": 0.01,
                "camera_interval": 0.3,
                "quality_interval": 0.3,
                "call_timeout": 1.0,
                "frame_timeout": 1.0,
            },
            "device_states": {"hysteresis": 0},
        }
    )


async def test_garbage_video_gives_one_could_not_check_note(
    tmp_path: Path, vsim: OnvifSimulator, video: VideoServer
) -> None:
    video.add_camera("yard")
    video.set_fault("yard", "garbage")
    await add(vsim, "yard")
    cfg = _config(tmp_path, vsim)
    db = Database(tmp_path / "edge.db")
    sync_devices(db, config_devices(cfg))
    rt = Runtime(cfg, db, Hub())
    quality: list[str] = []

    async def emit(ev: Event) -> None:
        await rt.emit(ev)
        if ev.kind is EventKind.CAMERA_QUALITY:
            quality.append(str(ev.payload.get("verdict")))

    async def save(device_id: str, jpeg: bytes, ts_ms: int) -> None:
        return None

    [driver] = build_drivers(cfg, DriverContext(site_id="sch-test", emit=emit, save_snapshot=save))
    assert isinstance(driver, CameraDriver)
    task = asyncio.create_task(driver.run())
    try:
        deadline = time.monotonic() + 30
        while len(quality) < 6:
            assert time.monotonic() < deadline, quality
            assert not task.done(), task
            await asyncio.sleep(0.05)
        assert set(quality) == {"unknown"}
        flags = [a for a in list_alarms(db, state="open") if a["device_id"] == "yard"]
        assert [(f["severity"], f["message"]) for f in flags] == [("info", "图像质量无法检查：操场球机（操场）")]
        dev = next(d for d in devices_with_state(db) if d["id"] == "yard")
        assert dev["state"] == "online" and "quality_unchecked" in dev["reasons"]

        video.set_fault("yard", None)  # pictures again: the note closes itself
        deadline = time.monotonic() + 30
        while quality[-1] != "pass":
            assert time.monotonic() < deadline, quality
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        assert [a for a in list_alarms(db, state="open") if a["device_id"] == "yard"] == []
        assert len([a for a in list_alarms(db) if a["device_id"] == "yard"]) == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        rt.close()
        db.close()
