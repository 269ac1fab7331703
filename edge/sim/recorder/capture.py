"""The recording side of the simulated NVR: GStreamer pulls the camera's live stream, the H.264
leaves as Annex-B on the subprocess's stdout (no re-encoding for RTSP H.264 cameras; an MJPEG
camera is encoded the way an NVR transcodes), and every picture goes into the ring with the wall
clock at which it arrived."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time

from edge.sim.recorder.h264 import AccessUnit, AccessUnitSplitter
from edge.sim.recorder.ring import SegmentRing

log = logging.getLogger(__name__)

# An NVR that loses the camera reconnects; a second keeps a dead camera from spinning the CPU.
RECONNECT_S = 1.0
_TAIL = "h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au ! fdsink fd=1 sync=false"


def pipeline(source: str, fps: int = 5) -> list[str]:
    """gst-launch arguments recording `source` (rtsp:// H.264, or http:// MJPEG) to Annex-B on stdout."""
    if source.startswith("rtsp://"):
        head = f"rtspsrc location={source} protocols=tcp latency=0 ! rtph264depay"
    else:
        # videorate: a constant frame rate, so the H.264 carries its timing (VUI) and players get the
        # pictures' durations right.
        head = (
            f"souphttpsrc location={source} is-live=true do-timestamp=true ! multipartdemux ! jpegdec ! videoconvert "
            f"! videorate ! video/x-raw,framerate={fps}/1 "
            "! x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max=10 bitrate=800 "
            "! video/x-h264,profile=baseline"
        )
    return [*f"{head} ! {_TAIL}".split()]


class Capture:
    """Records one camera into `ring` until cancelled, reconnecting when the stream ends."""

    def __init__(self, source: str, ring: SegmentRing) -> None:
        self.source = source
        self.ring = ring
        self.units = 0

    async def run(self) -> None:
        gst = shutil.which("gst-launch-1.0")
        if gst is None:  # the demo's own package list leaves GStreamer out: an NVR that records nothing
            log.warning("sim recorder: no gst-launch-1.0, not recording %s (install gstreamer1.0-tools)", self.source)
            return
        while True:
            proc = await asyncio.create_subprocess_exec(
                gst, "-q", *pipeline(self.source), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
            )
            try:
                await self._read(proc)
            finally:
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                await proc.wait()
            log.info("sim recorder: %s ended, reconnecting", self.source)
            await asyncio.sleep(RECONNECT_S)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        splitter = AccessUnitSplitter()
        last = 0.0
        while chunk := await proc.stdout.read(256 * 1024):
            for nals in splitter.feed(chunk):
                # Arrival time, kept strictly increasing: pictures read in one burst still get their order.
                ts = max(time.time(), last + 0.001)
                last = ts
                self.ring.add(AccessUnit(ts, nals))
                self.units += 1
