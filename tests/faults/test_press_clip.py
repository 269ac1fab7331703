"""The pre-alarm clip on a real daemon with real peers: a simulated NVR really recording the camera's
H.264 RTSP stream (GStreamer), its ONVIF Replay service and RTSP replay server; the camera worker
pulls the seconds around the press through GStreamer's rtspsrc in ONVIF mode. The press reaches the
police at once; the clip follows, is stored with the alarm, served with byte ranges, shown as a
playable <video> in the panic's card; a recorder without replay leaves the alarm without a clip."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright

from edge.sim.onvif.server import OnvifSimulator
from edge.sim.recorder.nvr import SimRecorder
from edge.sim.rtsp_server import RtspServer
from edge.sim.video_server import VideoServer
from edge.video.mp4 import inspect
from tests.faults.site import Site, SiteSpec, panics, until
from tests.onvif.helpers import PASSWORD, USER, add

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "alarm-centre"


@dataclass
class ClipPeers:
    video: VideoServer
    rtsp: RtspServer
    sim: OnvifSimulator
    recorder: SimRecorder
    password_file: Path

    def cameras(self) -> list[dict[str, Any]]:
        def recorder(nvr: str, cam: str) -> dict[str, Any]:
            return {"onvif": self.sim.url(nvr), "username": USER, "password_file": str(self.password_file),
                    "recording_token": f"REC-{cam}", "clip_before": 6, "clip_after": 1}  # fmt: skip

        base = {"username": USER, "password_file": str(self.password_file)}
        return [
            {
                "id": "cam-1",
                "name": "cam-1",
                "onvif": self.sim.url("cam-1"),
                **base,
                "recorder": recorder("nvr-1", "cam-1"),
            },
            {
                "id": "cam-2",
                "name": "cam-2",
                "onvif": self.sim.url("cam-2"),
                **base,
                "recorder": recorder("nvr-2", "cam-2"),
            },
        ]


@pytest.fixture
async def peers(tmp_path: Path) -> AsyncIterator[ClipPeers]:
    video = VideoServer(fps=5.0)
    await video.start()
    rtsp = RtspServer({"cam-1": ("checkers-8", 3, "h264", 0.0)})
    await asyncio.to_thread(rtsp.start)
    recorder = SimRecorder()
    await recorder.start()
    sim = OnvifSimulator(video_base=f"http://127.0.0.1:{video.port}", replay=recorder.replay_url)
    pw = tmp_path / "cam.pass"
    pw.write_text(PASSWORD + "\n")
    for cid in ("cam-1", "cam-2"):
        video.add_camera(cid)
        await add(sim, cid)
    await add(sim, "nvr-1", records=("cam-1",))
    await add(sim, "nvr-2", records=("cam-2",), replay=False)  # records, offers no replay
    recorder.record("REC-cam-1", rtsp.url("cam-1"))
    try:
        yield ClipPeers(video, rtsp, sim, recorder, pw)
    finally:
        await recorder.close()
        await sim.close()
        rtsp.stop()
        await video.stop()


class ClipSite(Site):
    def config(self) -> dict[str, Any]:
        doc = super().config()
        for b in doc["buttons"]:
            b["camera"] = {"mqtt-1": "cam-1", "mqtt-2": "cam-2"}[b["id"]]
        return doc


async def _alarm(site: Site, device: str) -> dict[str, Any]:
    page = await site.api("/alarms?state=open&category=alarm")
    (found,) = [a for a in page["items"] if a["device_id"] == device]
    return dict(found)


async def test_press_clip_from_the_recorder(tmp_path: Path, peers: ClipPeers) -> None:
    fast = {"startup_delay": 0.1, "camera_interval": 2, "quality_interval": 30, "call_timeout": 2, "frame_timeout": 3}
    spec = SiteSpec(mqtt_buttons=2, serial_buttons=0, extra={"cameras": peers.cameras(), "checks": fast})
    site = await ClipSite(tmp_path, spec).start()
    receiver = site.receivers[0]
    try:
        await peers.recorder.wait_recorded("REC-cam-1", 8)
        await site.start_daemon()
        await site.wait_device("cam-1", "online", timeout=30)
        pressed = time.monotonic()
        await site.mqtt_press("mqtt-1", release=False)
        await until(lambda: bool(panics(receiver, 11)), 5, "the panic at the receiver")
        assert time.monotonic() - pressed < 2.0  # the police are not kept waiting for the video
        assert (await _alarm(site, "mqtt-1"))["clip"]["state"] == "pending"

        alarm: dict[str, Any] = {}
        deadline = time.monotonic() + 40
        while True:
            alarm = await _alarm(site, "mqtt-1")
            if alarm["clip"]["state"] != "pending":
                break
            assert time.monotonic() < deadline, alarm
            await asyncio.sleep(0.5)
        clip = alarm["clip"]
        assert clip["state"] == "ready", clip
        assert alarm["snapshot"]  # the picture at the press came meanwhile: the worker was not held by the clip
        assert clip["url"] == f"/api/v1/alarms/{alarm['id']}/clip"
        opened = time.mktime(time.strptime(alarm["opened_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        start = time.mktime(time.strptime(clip["start"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        assert opened - 8 <= start <= opened - 4, (clip, alarm["opened_at"])  # the seconds before the press

        # the recorder was asked as the Streaming Specification says, by GStreamer's own ONVIF client
        play = peers.recorder.replay.log.plays[-1]
        assert play["require"] == "onvif-replay" and play["rate-control"] == "no"
        assert play["range"].startswith("clock=")

        async with httpx.AsyncClient(timeout=10) as http:
            auth = {"Authorization": f"Bearer {site.token}"}
            whole = await http.get(site.base + clip["url"], headers=auth)
            assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
            info = inspect(whole.content)
            assert info.codec == "avc1" and info.faststart and 4 <= info.duration_s <= 10, info
            part = await http.get(site.base + clip["url"], headers={**auth, "Range": "bytes=100-199"})
            assert part.status_code == 206 and part.content == whole.content[100:200]
            assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
            assert (await http.get(site.base + clip["url"])).status_code == 401  # viewer at least

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = await browser.new_page(viewport={"width": 1366, "height": 900})
                await page.goto(site.base + "/")
                await page.fill("#token", site.token)
                await page.click("#login-btn")
                video = page.locator(f'.alarm[data-id="{alarm["id"]}"] video.clip')
                await video.wait_for(timeout=10_000)
                await page.wait_for_function(
                    "(v) => v.readyState >= 1 && v.duration > 0", arg=await video.element_handle(), timeout=15_000
                )
                duration = await video.evaluate("(v) => v.duration")
                assert 4 <= duration <= 10, duration
                await video.evaluate("(v) => { v.currentTime = v.duration / 2; }")
                await page.wait_for_function("(v) => v.readyState >= 2", arg=await video.element_handle())
                SHOTS.mkdir(parents=True, exist_ok=True)
                await page.locator("#alarms").screenshot(path=str(SHOTS / "panic-with-clip.png"))
            finally:
                await browser.close()

        # a recorder without a replay service: the press goes out as ever, the alarm says why there is no clip
        await site.mqtt_press("mqtt-2", release=False)
        await until(lambda: bool(panics(receiver, 12)), 5, "the second panic at the receiver")
        deadline = time.monotonic() + 20
        while (second := await _alarm(site, "mqtt-2"))["clip"]["state"] == "pending":
            assert time.monotonic() < deadline, second
            await asyncio.sleep(0.5)
        assert second["clip"]["state"] == "failed" and second["clip"]["error"] == "no_replay_service"
        assert second["clip"]["url"] is None
        missing = await http_get(site, f"/api/v1/alarms/{second['id']}/clip")
        assert missing.status_code == 404 and "no recorded clip" in missing.json()["detail"]
    finally:
        await site.stop()


async def http_get(site: Site, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.get(site.base + path, headers={"Authorization": f"Bearer {site.token}"})
