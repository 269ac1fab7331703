"""The camera side of the live-view relay: RTSP -> the camera's own H.264/H.265 access units in MPEG-TS
on stdout (GStreamer: rtspsrc, parsebin picks the depayloader and parser for whatever codec the
camera's SDP names, mpegtsmux; nothing is decoded or re-encoded).

Run by Debian's /usr/bin/python3 (GStreamer's `gi` bindings live only there), started by
edge.gb28181.media_relay. It reads one JSON line on stdin, {"location", "username", "password"}, so
the camera's password is never on a command line (/proc/PID/cmdline is world-readable) and never
printed. Standard library and `gi` only: it never imports `edge`.
Exit 0 at the end of the stream, 1 on a GStreamer error (the message on stderr), 2 on bad input.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

LAUNCH = (
    "rtspsrc name=src latency=0 protocols=tcp ! application/x-rtp,media=video ! parsebin name=parse "
    "! mpegtsmux ! fdsink fd=1 sync=false"
)


def main() -> int:  # pragma: no cover - runs under /usr/bin/python3
    try:
        spec = json.loads(sys.stdin.readline())
        location = str(spec["location"])
    except (ValueError, KeyError, TypeError):
        print("gst_source: expected a JSON line with location, username, password", file=sys.stderr)
        return 2
    import gi  # noqa: PLC0415 - only this process has (and needs) GStreamer

    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst  # noqa: PLC0415

    Gst.init(None)
    pipe: Any = Gst.parse_launch(LAUNCH)
    src = pipe.get_by_name("src")
    src.set_property("location", location)
    if spec.get("username"):
        src.set_property("user-id", str(spec["username"]))
        src.set_property("user-pw", str(spec.get("password") or ""))

    def on_element(_bin: Any, _sub: Any, element: Any) -> None:
        # The parameter sets (SPS/PPS, and VPS for H.265) before every key frame: a camera that sends
        # them only in its SDP, or only at the start, still gives a platform joining later a picture.
        factory = element.get_factory()
        if factory is not None and factory.get_name() in ("h264parse", "h265parse"):
            element.set_property("config-interval", -1)

    pipe.get_by_name("parse").connect("deep-element-added", on_element)
    loop = GLib.MainLoop()
    code = [0]

    def on_message(_bus: Any, msg: Any) -> None:
        if msg.type == Gst.MessageType.ERROR:
            err, _debug = msg.parse_error()
            print(f"gst_source: {err.message}", file=sys.stderr)
            code[0] = 1
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    pipe.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    finally:
        pipe.set_state(Gst.State.NULL)
    return code[0]


if __name__ == "__main__":
    sys.exit(main())
