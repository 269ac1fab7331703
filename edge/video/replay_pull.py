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
from typing import Any

NTP_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01: rtspsrc's onvif seeks count from 1900


def _ns(t: float) -> int:
    return int((t + NTP_OFFSET_S) * 1e9)


def main(argv: list[str]) -> int:  # pragma: no cover - runs under /usr/bin/python3
    import gi  # noqa: PLC0415 - only this subprocess has (and needs) GStreamer

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    from gi.repository import GLib, Gst, GstRtsp  # noqa: PLC0415

    uri, start, end, out = argv[0], float(argv[1]), float(argv[2]), argv[3]
    Gst.init(None)
    pipe: Any = Gst.parse_launch(
        "rtspsrc name=src onvif-mode=true onvif-rate-control=false protocols=tcp latency=0 buffer-mode=none "
        "! rtph264depay ! h264parse name=parse ! h264timestamper ! mp4mux faststart=true ! filesink name=sink"
    )
    src, sink, parse = pipe.get_by_name("src"), pipe.get_by_name("sink"), pipe.get_by_name("parse")
    src.set_property("location", uri)
    sink.set_property("location", out)
    if os.environ.get("EDGE_RTSP_USER"):
        src.set_property("user-id", os.environ["EDGE_RTSP_USER"])
        src.set_property("user-pw", os.environ.get("EDGE_RTSP_PASSWORD", ""))
    seen: dict[str, Any] = {"frames": 0, "first": None, "last": None}

    def count(_pad: Any, info: Any) -> Any:
        buf = info.get_buffer()
        if buf.pts != Gst.CLOCK_TIME_NONE:
            t = buf.pts / 1e9
            seen["first"] = t if seen["first"] is None else min(seen["first"], t)
            seen["last"] = t if seen["last"] is None else max(seen["last"], t)
        seen["frames"] += 1
        return Gst.PadProbeReturn.OK

    parse.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, count)
    loop = GLib.MainLoop()
    result: dict[str, Any] = {"ok": False, "error": "no_answer"}
    seeked = {"done": False}

    def on_message(_bus: Any, msg: Any) -> None:
        if msg.type == Gst.MessageType.EOS:
            result.clear()
            result.update({"ok": True})
            loop.quit()
        elif msg.type == Gst.MessageType.PROGRESS:
            kind, code, _text = msg.parse_progress()
            if kind == Gst.ProgressType.COMPLETE and code == "open":  # DESCRIBE and SETUP done
                GLib.idle_add(play)
        elif msg.type == Gst.MessageType.ERROR:
            err, _dbg = msg.parse_error()
            result.update({"ok": False, "error": "replay_failed", "detail": str(err.message)[:200]})
            loop.quit()

    def play() -> bool:
        # After the SETUP (the stream's pad exists): rtspsrc turns this seek into the PLAY's clock Range.
        if not seeked["done"]:
            seeked["done"] = True
            flags = Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE
            src.seek(1.0, Gst.Format.TIME, flags, Gst.SeekType.SET, _ns(start), Gst.SeekType.SET, _ns(end))
            pipe.set_state(Gst.State.PLAYING)
        return False

    def before_send(_src: Any, msg: Any) -> bool:
        # rtspsrc 1.22 in onvif-mode sends no Require itself; the Streaming Specification wants it.
        msg.add_header(GstRtsp.RTSPHeaderField.REQUIRE, "onvif-replay")
        return True

    src.connect("before-send", before_send)
    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipe.set_state(Gst.State.PAUSED)
    loop.run()
    pipe.send_event(Gst.Event.new_eos()) if not result.get("ok") else None
    pipe.set_state(Gst.State.NULL)
    result.update(frames=seen["frames"], first=seen["first"], last=seen["last"])
    print(json.dumps(result), flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
