"""Pull one stretch of a recording over ONVIF RTSP replay into an MP4 file, without re-encoding.

Run by Debian's /usr/bin/python3 (the GStreamer `gi` bindings load only there), as
`python3 replay_pull.py URI START END OUT` with START/END in Unix seconds; credentials, when the
replay URI needs them, come in the environment (EDGE_RTSP_USER / EDGE_RTSP_PASSWORD), never argv.
GStreamer's rtspsrc in ONVIF mode does the protocol: `Require: onvif-replay`, the absolute
`Range: clock=…` from the seek, `Rate-Control: no` (the recorder sends as fast as it can). The H.264
goes through h264parse into mp4mux with the index in front (faststart) so a browser plays it while
loading. Prints one JSON line: {"ok": true, "first": t, "last": t, "frames": n} or {"ok": false,
"error": kind}. Imports only the standard library and gi, never `edge`. The caller owns the
deadline and the byte cap: it kills this process when either runs out.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

NTP_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01: rtspsrc's onvif seeks count from 1900
# With Rate-Control: no the recorder sends as fast as the link takes it: once pictures came, this long
# without one means the range is over even if its RTCP BYE got lost (rtspsrc can miss a BYE that
# arrives before its pads are linked, on a loaded box).
IDLE_END_S = 2.0
# No picture this long after start: on a loaded box rtspsrc's seek flush can swallow a replay that
# arrived all at once. The caller tries again (a new connection) rather than wait out its deadline.
FIRST_PICTURE_S = 5.0


def _ns(t: float) -> int:
    return int((t + NTP_OFFSET_S) * 1e9)


class _Pull:  # pragma: no cover - runs under /usr/bin/python3
    """One replay: the pipeline, the PLAY once the SETUP is done, and what reached the muxer."""

    def __init__(self, gst: Any, glib: Any, rtsp: Any, uri: str, start: float, end: float, out: str) -> None:
        self.Gst, self.GLib, self.GstRtsp = gst, glib, rtsp
        self.start, self.end = start, end
        self.pipe: Any = gst.parse_launch(
            "rtspsrc name=src onvif-mode=true onvif-rate-control=false protocols=tcp latency=0 buffer-mode=none "
            "! rtph264depay ! h264parse name=parse ! h264timestamper ! mp4mux faststart=true ! filesink name=sink"
        )
        self.src = self.pipe.get_by_name("src")
        self.src.set_property("location", uri)
        self.pipe.get_by_name("sink").set_property("location", out)
        if os.environ.get("EDGE_RTSP_USER"):
            self.src.set_property("user-id", os.environ["EDGE_RTSP_USER"])
            self.src.set_property("user-pw", os.environ.get("EDGE_RTSP_PASSWORD", ""))
        # buffer-mode=none: timestamps from the RTP clock (the recording's), not from arrival, which under
        # Rate-Control: no is a burst. The first and last picture times are the clip's real span.
        self.seen: dict[str, Any] = {"frames": 0, "first": None, "last": None}
        self.result: dict[str, Any] = {"ok": False, "error": "no_answer"}
        self.played = False
        self.last_buffer = 0.0
        self.started = time.monotonic()
        self.ending = False
        self.loop = glib.MainLoop()
        self.parse = self.pipe.get_by_name("parse")
        self.parse.get_static_pad("src").add_probe(gst.PadProbeType.BUFFER, self._count)
        self.src.connect("before-send", self._before_send)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._message)

    def _count(self, _pad: Any, info: Any) -> Any:
        buf = info.get_buffer()
        if buf.pts == self.Gst.CLOCK_TIME_NONE:
            # Pictures the recorder sends past the range's end fall outside the seek segment and come
            # without a time; the muxer would refuse them (and the whole clip with them).
            return self.Gst.PadProbeReturn.DROP
        t = buf.pts / 1e9
        first, last = self.seen["first"], self.seen["last"]
        self.seen["first"] = t if first is None else min(first, t)
        self.seen["last"] = t if last is None else max(last, t)
        self.seen["frames"] += 1
        self.last_buffer = time.monotonic()
        return self.Gst.PadProbeReturn.OK

    def _idle(self) -> bool:
        if not self.last_buffer and time.monotonic() - self.started > FIRST_PICTURE_S and not self.ending:
            self.ending = True
            self.result = {"ok": False, "error": "no_pictures", "detail": f"none within {FIRST_PICTURE_S:.0f} s"}
            self.loop.quit()
            return False
        if self.last_buffer and time.monotonic() - self.last_buffer > IDLE_END_S and not self.ending:
            self.ending = True
            # Into the parser's input, not to rtspsrc (which drops it once its stream is stuck): the muxer
            # finishes the file, then EOS comes on the bus.
            self.parse.get_static_pad("sink").send_event(self.Gst.Event.new_eos())
        return not self.ending

    def _before_send(self, _src: Any, msg: Any) -> bool:
        # rtspsrc 1.22 in onvif-mode sends no Require itself; the Streaming Specification wants it.
        msg.add_header(self.GstRtsp.RTSPHeaderField.REQUIRE, "onvif-replay")
        return True

    def _message(self, _bus: Any, msg: Any) -> None:
        t = self.Gst.MessageType
        if msg.type == t.EOS:  # the recorder's RTCP BYE at the end of the range
            self.result = {"ok": True}
            self.loop.quit()
        elif msg.type == t.PROGRESS:
            kind, code, _text = msg.parse_progress()
            if kind == self.Gst.ProgressType.COMPLETE and code == "open":  # DESCRIBE and SETUP done
                self.GLib.idle_add(self._play)
        elif msg.type == t.ERROR:
            err, _dbg = msg.parse_error()
            self.result = {"ok": False, "error": "replay_failed", "detail": str(err.message)[:200]}
            self.loop.quit()

    def _play(self) -> bool:
        # Seeking now (paused, after the SETUP) makes rtspsrc send the PLAY with this clock Range.
        if not self.played:
            self.played = True
            flags = self.Gst.SeekFlags.FLUSH | self.Gst.SeekFlags.ACCURATE
            kind = self.Gst.SeekType.SET
            self.src.seek(1.0, self.Gst.Format.TIME, flags, kind, _ns(self.start), kind, _ns(self.end))
            self.pipe.set_state(self.Gst.State.PLAYING)
        return False

    def run(self) -> None:
        self.pipe.set_state(self.Gst.State.PAUSED)
        self.GLib.timeout_add(250, self._idle)
        self.loop.run()
        # The answer first: a stuck rtspsrc can hang its TEARDOWN in the shutdown, and the caller then kills us.
        print(json.dumps({**self.result, **self.seen}), flush=True)
        self.pipe.set_state(self.Gst.State.NULL)


def main(argv: list[str]) -> int:  # pragma: no cover - runs under /usr/bin/python3
    import gi  # noqa: PLC0415 - only this subprocess has (and needs) GStreamer

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    from gi.repository import GLib, Gst, GstRtsp  # noqa: PLC0415

    Gst.init(None)
    _Pull(Gst, GLib, GstRtsp, argv[0], float(argv[1]), float(argv[2]), argv[3]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
