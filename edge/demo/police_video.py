"""The demo's police video platform (公安视频监控联网平台): what an officer's console does with the gateway.

The GB/T 28181 platform simulator is the registrar the daemon registers with. Once the gateway is
registered the console reads its catalog; on every alarm on a button channel it opens the linked
camera's live video (INVITE of the channel named in the catalog's RelatedChannel), watches for
PULL_S seconds, hangs up (BYE) and decodes what arrived with GStreamer, keeping the last frame.

Live video needs GStreamer (the RTSP cameras and the decoder). The demo installs no test stack
(issue 18), so without it the platform still registers the gateway and receives its alarms, and its
page says why there is no picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Final

from edge.demo.plan import GB_DEVICE_ID as DEVICE_ID
from edge.demo.plan import GB_SERVER_ID as SERVER_ID
from edge.sim.gb28181_platform import PlatformSim, RtpReceiver
from edge.sim.rtsp_server import GST_PYTHON, RtspServer

log = logging.getLogger(__name__)

PULL_S: Final = 5.0  # how long the officer watches a camera after an alarm
RECORDS_EVERY_S: Final = 60.0  # how often the console refreshes each camera's recordings of the last day
INVITE_WAIT_S: Final = 10.0
MAX_KEPT: Final = 50  # alarms and pulls shown on the page


@dataclass
class Pull:
    """One live-view pull of a camera channel after an alarm."""

    channel: str
    name: str
    alarm_channel: str
    started: float  # time.time()
    status: str = "inviting"  # inviting / streaming / done / failed
    detail: str = ""
    packets: int = 0
    frames: int = 0
    first_packet_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class PoliceVideo:
    password: str
    streams: list[str]  # camera ids the RTSP server offers, at rtsp://.../<id>
    sim: PlatformSim = field(init=False)
    rtsp: RtspServer | None = None
    video_note: str = ""  # why there is no live video, when there is none
    catalog: dict[str, dict[str, str]] = field(default_factory=dict)  # channel -> Item fields
    pulls: list[Pull] = field(default_factory=list)
    recordings: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # camera channel -> RecordInfo Items
    last_frame: bytes | None = None
    last_frame_at: float | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sim = PlatformSim(server_id=SERVER_ID, password=self.password)

    @property
    def url(self) -> str:
        return self.sim.url

    async def start(self) -> None:
        await self.sim.start("127.0.0.1", 0)
        problem = _gstreamer_missing()
        if problem:
            self.video_note = problem
        else:
            server = RtspServer(dict.fromkeys(self.streams, ("checkers-8", 3, "h264", 0.0)))
            try:
                await asyncio.to_thread(server.start)
                self.rtsp = server
            except RuntimeError as exc:
                self.video_note = f"RTSP 摄像机未启动 / the RTSP cameras did not start: {exc}"[:300]
        self._tasks = [
            asyncio.create_task(self._console(), name="demo:police-video"),
            asyncio.create_task(self._records(), name="demo:police-records"),
        ]

    def stream_uri(self, camera: str) -> str | None:
        return self.rtsp.url(camera) if self.rtsp is not None and camera in self.streams else None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.sim.stop()
        if self.rtsp is not None:
            await asyncio.to_thread(self.rtsp.stop)

    # ---- the officer's console ------------------------------------------------------------
    async def _console(self) -> None:
        seen = 0
        while True:
            await asyncio.sleep(0.2)
            try:
                if DEVICE_ID in self.sim.devices and not self.catalog:
                    await self._read_catalog()
                while seen < len(self.sim.alarms):
                    alarm = self.sim.alarms[seen]
                    seen += 1
                    await self._on_alarm(alarm.device_id)
            except (OSError, TimeoutError, ConnectionError, KeyError) as exc:
                log.warning("police video: %s", exc)  # the gateway went away mid-request; try again
                await asyncio.sleep(2.0)

    async def _read_catalog(self) -> None:
        sn = await self.sim.query(DEVICE_ID, "Catalog")
        await self.sim.wait_for(lambda: _catalog_complete(self.sim, sn), within=10)
        for doc in self.sim.responses_for(sn):
            for item in doc.element.iter("Item"):
                fields = {c.tag: (c.text or "") for c in item if len(c) == 0}
                related = item.findtext("Info/RelatedChannel")
                if related:
                    fields["RelatedChannel"] = related
                self.catalog[fields.get("DeviceID", "")] = fields

    async def _records(self) -> None:
        """Beside the alarms (never holding one up): each camera's recordings, refreshed every minute."""
        while True:
            await asyncio.sleep(1.0)
            if not self.catalog:
                continue
            try:
                await self._read_recordings()
            except (OSError, TimeoutError, ConnectionError, KeyError) as exc:
                log.warning("police video: recordings: %s", exc)
            # Soon again while a camera lists nothing (the gateway's camera worker may still be starting).
            complete = self.recordings and all(self.recordings.values())
            await asyncio.sleep(RECORDS_EVERY_S if complete else 5.0)

    async def _read_recordings(self) -> None:
        """RecordInfo of the last 24 h for every camera channel (the cameras' own recordings, ONVIF search)."""
        now = time.time()
        start, end = (time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) for t in (now - 86_400, now))
        for channel in [c for c in self.catalog if c[10:13] in ("131", "132")]:
            sn = await self.sim.record_info(DEVICE_ID, channel, start, end)
            with contextlib.suppress(TimeoutError):
                await self.sim.wait_for(lambda sn=sn: _records_complete(self.sim, sn), within=10)
                self.recordings[channel] = self.sim.records_for(sn)

    async def _on_alarm(self, channel: str) -> None:
        item = self.catalog.get(channel) or {}
        camera = item.get("RelatedChannel")
        if not camera:
            return  # a button without a linked camera, or a camera's own fault alarm: nothing to open
        pull = Pull(camera, self.catalog.get(camera, {}).get("Name", camera), channel, time.time())
        self.pulls = [*self.pulls, pull][-MAX_KEPT:]
        rtp = await RtpReceiver.open()
        try:
            started = time.monotonic()
            ssrc = f"0{SERVER_ID[3:8]}{len(self.pulls) % 10_000:04d}"  # 0 = live, the domain, a serial
            call = await self.sim.invite(DEVICE_ID, camera, rtp.port, ssrc)
            if call.response.status != 200:
                pull.status, pull.detail = "failed", f"{call.response.status} {call.response.reason}"
                return
            pull.status = "streaming"
            await asyncio.sleep(PULL_S)
            with contextlib.suppress(OSError, TimeoutError):
                await self.sim.bye(call)
            pull.packets = len(rtp.packets)
            if rtp.first_at is not None:
                pull.first_packet_s = round(rtp.first_at - started, 2)
            pull.frames = await asyncio.to_thread(rtp.decode_frames) if rtp.packets else 0
            if rtp.last_frame is not None:
                self.last_frame, self.last_frame_at = rtp.last_frame, time.time()
            pull.status = "done" if pull.frames else "failed"
            pull.detail = "" if pull.frames else "no decodable frame"
        finally:
            rtp.close()

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, as JSON."""
        now = time.monotonic()
        devices = [
            {
                "device_id": d.device_id,
                "address": f"{d.addr[0]}:{d.addr[1]}",
                "expires_in_s": round(d.expires_at - now),
                "keepalives": d.keepalives,
                "last_keepalive_s_ago": None if d.last_keepalive is None else round(now - d.last_keepalive, 1),
            }
            for d in self.sim.devices.values()
        ]
        alarms = [
            {"channel": a.device_id, "name": self.catalog.get(a.device_id, {}).get("Name", ""), **a.fields}
            for a in self.sim.alarms[-MAX_KEPT:]
        ]
        return {
            "platform": self.sim.url,
            "server_id": SERVER_ID,
            "register_attempts": self.sim.register_attempts,
            "auth_failures": self.sim.auth_failures,
            "devices": devices,
            "catalog": list(self.catalog.values()),
            "alarms": alarms,
            "pulls": [p.as_dict() for p in self.pulls],
            "recordings": self.recordings,
            "frames_decoded": sum(p.frames for p in self.pulls),
            "last_frame_at": self.last_frame_at,
            "video_note": self.video_note,
        }


def _catalog_complete(sim: PlatformSim, sn: int) -> bool:
    docs = sim.responses_for(sn)
    if not docs:
        return False
    total = int(docs[0].fields.get("SumNum", "0") or 0)
    return sum(1 for d in docs for _ in d.element.iter("Item")) >= total


def _records_complete(sim: PlatformSim, sn: int) -> bool:
    docs = sim.responses_for(sn)
    return bool(docs) and len(sim.records_for(sn)) >= int(docs[0].fields.get("SumNum", "0") or 0)


def _gstreamer_missing() -> str:
    """Why this machine cannot show live video ("" when it can)."""
    if shutil.which("gst-launch-1.0") is None:
        return "无实时视频：未安装 GStreamer / no live video: GStreamer is not installed (scripts/apt-test.txt)"
    try:
        subprocess.run(  # noqa: S603 - fixed interpreter and argv
            [GST_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
            check=True,
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return "无实时视频：缺少 gst-rtsp-server / no live video: gir1.2-gst-rtsp-server-1.0 is not installed"
    return ""
