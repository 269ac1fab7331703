"""The core's camera worker host against real worker processes.

Scripted workers (small Python programs speaking the protocol) misbehave on purpose: a grab past its
deadline, garbage on the pipe, silence, memory growth, a crash. The real worker serves a snapshot
request from a simulated camera. Each fault must end `run()` with its cause and leave no process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge.camworker import protocol as p
from edge.camworker.host import CameraWorker, PictureError, WorkerFault
from edge.config import Config
from edge.events import Event
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.video_server import VideoServer
from tests.onvif.helpers import PASSWORD, USER, add

PRELUDE = """
import json, os, sys, time
sys.stdin.readline()
def send(d):
    sys.stdout.write(json.dumps({"v": 1, **d}) + "\\n"); sys.stdout.flush()
send({"type": "hello", "pid": os.getpid(), "cameras": ["cam"]})
"""


def _config(tmp_path: Path, cameras: list[dict[str, Any]] | None = None, **checks: Any) -> Config:
    cams = cameras or [{"id": "cam", "name": "cam", "onvif": "http://127.0.0.1:9/onvif/device_service"}]
    return Config.model_validate(
        {
            "site": {"id": "s", "timezone": "Asia/Shanghai"},
            "storage": {"path": str(tmp_path / "edge.db")},
            "api": {},
            "cameras": cams,
            "checks": {"worker_heartbeat_timeout": 2, **checks},
        }
    )


class Sink:
    def __init__(self) -> None:
        self.items: list[Event | p.Snapshot] = []

    async def __call__(self, item: Event | p.Snapshot) -> None:
        self.items.append(item)


async def _fault(tmp_path: Path, script: str, **checks: Any) -> WorkerFault:
    worker = CameraWorker(
        _config(tmp_path, **checks), Sink(), argv=[sys.executable, "-c", PRELUDE + textwrap.dedent(script)]
    )
    with pytest.raises(WorkerFault) as info:
        await asyncio.wait_for(worker.run(), 30)
    assert worker.pid is not None
    assert not Path(f"/proc/{worker.pid}").exists() or "zombie" in Path(f"/proc/{worker.pid}/status").read_text()
    return info.value


async def test_grab_past_its_deadline_replaces_the_worker(tmp_path: Path) -> None:
    fault = await _fault(
        tmp_path,
        """
        for i in range(100):
            send({"type": "heartbeat", "seq": i, "grabs": [{"camera": "cam", "age_s": 2.0 * i, "deadline_s": 3.0}]})
            time.sleep(0.2)
        """,
    )
    assert fault.cause == "grab_hung" and "cam" in str(fault)


async def test_silent_worker_is_replaced(tmp_path: Path) -> None:
    fault = await _fault(tmp_path, "time.sleep(60)")
    assert fault.cause == "silent"


async def test_garbage_on_the_pipe_is_counted_and_replaces_the_worker(tmp_path: Path) -> None:
    fault = await _fault(tmp_path, "sys.stdout.write('\\x00garbage\\n'); sys.stdout.flush(); time.sleep(60)")
    assert fault.cause == "protocol"


async def test_other_version_is_refused(tmp_path: Path) -> None:
    fault = await _fault(
        tmp_path,
        'sys.stdout.write(json.dumps({"v": 2, "type": "heartbeat", "seq": 0, "grabs": []}) + "\\n")\n'
        "sys.stdout.flush(); time.sleep(60)",
    )
    assert fault.cause == "protocol" and "version" in str(fault)


async def test_endless_line_is_bounded(tmp_path: Path) -> None:
    fault = await _fault(tmp_path, "chunk = 'x' * 65536\nwhile True:\n    sys.stdout.write(chunk)\n")
    assert fault.cause == "protocol"


@pytest.mark.parametrize(
    ("kind", "device"), [("alarm.press", "cam"), ("device.online", "gate-button")], ids=["press", "foreign"]
)
async def test_worker_cannot_forge_a_press_or_speak_for_other_devices(tmp_path: Path, kind: str, device: str) -> None:
    sink = Sink()
    script = f"""
    send({{"type": "event", "kind": "{kind}", "device_id": "{device}", "payload": {{}}, "ts_ms": 1, "id": "x"}})
    time.sleep(60)
    """
    worker = CameraWorker(_config(tmp_path), sink, argv=[sys.executable, "-c", PRELUDE + textwrap.dedent(script)])
    with pytest.raises(WorkerFault, match="not a camera worker's"):
        await asyncio.wait_for(worker.run(), 30)
    assert sink.items == []


async def test_memory_cap_replaces_the_worker(tmp_path: Path) -> None:
    fault = await _fault(
        tmp_path,
        """
        hog = []
        for i in range(200):
            hog.append(bytearray(8 * 2**20))
            send({"type": "heartbeat", "seq": i, "grabs": []})
            time.sleep(0.05)
        time.sleep(60)
        """,
        worker_max_rss_mb=100,
    )
    assert fault.cause == "memory"


async def test_crash_is_reported_with_its_signal(tmp_path: Path) -> None:
    fault = await _fault(tmp_path, "import signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert fault.cause == "crashed" and "SIGSEGV" in str(fault)


@pytest.fixture
async def camera(tmp_path: Path) -> AsyncIterator[list[dict[str, Any]]]:
    video = VideoServer(fps=5.0)
    await video.start()
    sim = OnvifSimulator(video_base=f"http://127.0.0.1:{video.port}", on_video_mode=video.set_mode)
    video.add_camera("cam")
    await add(sim, "cam")
    pw = tmp_path / "cam.pass"
    pw.write_text(PASSWORD)
    yield [{"id": "cam", "name": "cam", "onvif": sim.url("cam"), "username": USER, "password_file": str(pw)}]
    await sim.close()
    await video.stop()


async def test_real_worker_reports_and_answers_a_snapshot_request(tmp_path: Path, camera: list[dict[str, Any]]) -> None:
    sink = Sink()
    cfg = _config(tmp_path, camera, startup_delay=0.05, camera_interval=1, quality_interval=600)
    worker = CameraWorker(cfg, sink)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(30):
            while not any(isinstance(i, Event) and str(i.kind) == "device.online" for i in sink.items):
                assert not task.done(), task
                await asyncio.sleep(0.1)
        jpeg = await worker.picture("cam", 5.0)
        assert jpeg[:2] == b"\xff\xd8"
        with pytest.raises(PictureError, match="unknown_camera"):
            await worker.picture("nope", 2.0)
        assert worker.status()["running"] and worker.status()["rss_bytes"] > 0
        environ = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
        if "MALLOC_MMAP_THRESHOLD_" not in os.environ:  # the worker's heap tuning, unless ours overrides it
            assert b"MALLOC_MMAP_THRESHOLD_=131072" in environ and b"MALLOC_ARENA_MAX=2" in environ
        os.kill(worker.pid or 0, 9)
        with pytest.raises(WorkerFault, match="SIGKILL"):
            await asyncio.wait_for(task, 10)
        with pytest.raises(PictureError):  # no worker: the request fails at once instead of waiting
            await worker.picture("cam", 5.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
