"""#12 item 11: hostile cameras. An MJPEG part with no length and endless bytes, and a 50 MB ONVIF reply,
are rejected and counted with bounded memory, and the camera worker keeps running."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.camworker import protocol as p
from edge.camworker.host import CameraWorker
from edge.config import Config
from edge.events import Event, EventKind
from edge.metrics import BAD_INPUT
from edge.onvif.health import check_health
from edge.sim.onvif.server import OnvifSimulator, huge_body
from edge.video.errors import GrabError
from edge.video.grab import GRABS, grab_frames
from edge.video.mjpeg import MAX_FRAME_BYTES
from tests.onvif.helpers import PASSWORD, USER, add, session


@pytest.fixture
async def endless_mjpeg() -> AsyncIterator[str]:
    """A camera whose MJPEG stream starts one part with no Content-Length and never ends it."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n"
            b"--frame\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8"
        )
        chunk = b"\x55" * 65536
        try:
            while True:
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/mjpeg/cam"
    server.close()


def _count(counter: object, **labels: str) -> float:
    return float(counter.labels(**labels)._value.get())  # type: ignore[attr-defined]


async def test_endless_mjpeg_part_is_rejected_with_bounded_memory(endless_mjpeg: str) -> None:
    before = _count(GRABS, kind="stream", result="too_large")
    tracemalloc.start()
    try:
        with pytest.raises(GrabError) as exc:
            await grab_frames(endless_mjpeg, count=2, interval=0.5, timeout=5.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.value.reason == "too_large"
    assert peak < 4 * MAX_FRAME_BYTES, peak  # FFmpeg grew without bound here (1 GB in acceptance testing)
    assert _count(GRABS, kind="stream", result="too_large") == before + 1


async def test_huge_onvif_reply_is_refused_before_parsing() -> None:
    huge_body()  # the simulator's 50 MB answer, built before memory is measured
    sim = OnvifSimulator()
    try:
        await add(sim, "cam", malformed="huge")
        before = _count(BAD_INPUT, source="onvif:cam", reason="too_large")
        s = session(sim, "cam", timeout=5.0)
        try:
            res = await check_health(s, 5.0)
        finally:
            await s.close()
    finally:
        await sim.close()
    assert any("malformed" in r for r in res.reasons), res
    assert str(res.state) == "degraded"
    # Refused for its size, before the XML parser saw it (memory is measured in the worker test: its own process).
    assert _count(BAD_INPUT, source="onvif:cam", reason="too_large") > before


async def test_worker_survives_a_huge_reply_camera(tmp_path: Path) -> None:
    huge_body()
    sim = OnvifSimulator()
    await add(sim, "bad", malformed="huge")
    await add(sim, "good")
    pw = tmp_path / "cam.pass"
    pw.write_text(PASSWORD)
    cams = [
        {"id": c, "name": c, "onvif": sim.url(c), "username": USER, "password_file": str(pw)} for c in ("bad", "good")
    ]
    cfg = Config.model_validate(
        {
            "site": {"id": "s"},
            "storage": {"path": str(tmp_path / "edge.db")},
            "api": {},
            "cameras": cams,
            "checks": {"startup_delay": 0.05, "camera_interval": 1, "quality_interval": 600, "call_timeout": 5},
        }
    )
    got: list[Event] = []

    async def sink(item: Event | p.Snapshot) -> None:
        if isinstance(item, Event):
            got.append(item)

    worker = CameraWorker(cfg, sink)
    task = asyncio.create_task(worker.run())
    try:

        def online(cid: str) -> list[Event]:
            return [e for e in got if e.device_id == cid and e.kind is EventKind.DEVICE_ONLINE]

        async with asyncio.timeout(40):
            while not (online("bad") and online("good")):
                assert not task.done(), task
                await asyncio.sleep(0.1)
        assert online("bad")[0].payload["state"] == "degraded"
        assert online("good")[0].payload["state"] == "online"
        await asyncio.sleep(3)  # a few more rounds against the hostile camera
        status = worker.status()
        assert status["running"] and worker.starts == 1
        assert status["rss_bytes"] < 250 * 2**20, status  # reading and parsing 50 MB whole cost ~600 MB
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.close()
