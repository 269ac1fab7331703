"""Frames of one camera stream (RTSP, HTTP, file), decoded by GStreamer in a process of its own.

Run by Debian's /usr/bin/python3 (GStreamer's `gi` bindings live only there), started by
edge.video.grab for every stream grab and killed by it at the grab's deadline, so a decoder stuck in
native code or a stream that stalls holds no thread of the camera worker. Standard library and `gi`
only: it never imports `edge`.

stdin: per grab one JSON line {"uri", "username", "password", "count", "interval", "timeout"}; the
password comes here, never on a command line (/proc/PID/cmdline is world-readable).
stdout: per frame a JSON line {"frame": i, "width": w, "height": h, "stride": s} and h x s bytes of
BGR rows; then one JSON line {"ok": true} or {"ok": false, "error": reason, "detail": text}, and once
the pipeline is torn down {"ready": true}: the next grab may be asked. The process serves grabs one
after another (its ~0.1 s of start-up CPU is paid once per sweep, not per camera) and exits after
IDLE_EXIT_S without one.
Frames are taken `interval` seconds apart from one session; the decoder sees every frame in between
(inter-coded video needs them), but only the frames taken are converted to BGR.
"""

from __future__ import annotations

import json
import select
import sys
import threading
import time
from typing import Any, BinaryIO

# rtspsrc's lower-transport flags: TCP only (UDP is lost through most school switches and NAT).
RTSP_TCP = 4
# With no grab asked for this long the process exits: nothing of it stays resident between sweeps.
IDLE_EXIT_S = 3.0
READY = b'{"ready": true}\n'


class _Grab:  # pragma: no cover - runs under /usr/bin/python3
    def __init__(self, gst: Any, spec: dict[str, Any], out: BinaryIO) -> None:
        self.Gst = gst
        self.spec = spec
        self.out = out
        self.timeout = float(spec["timeout"])
        self.want = threading.Event()  # the next buffer reaching the converter is taken
        self.opened = False  # a stream was found in the source (its pad came up)
        self.pipe: Any = gst.parse_launch(
            "uridecodebin name=src ! videoconvert name=convert ! video/x-raw,format=BGR "
            "! appsink name=sink sync=false max-buffers=1 drop=true"
        )
        src = self.pipe.get_by_name("src")
        src.set_property("uri", spec["uri"])
        src.connect("source-setup", self._source_setup)
        src.connect("pad-added", self._pad_added)
        self.pipe.get_by_name("convert").get_static_pad("sink").add_probe(gst.PadProbeType.BUFFER, self._gate)
        self.sink = self.pipe.get_by_name("sink")
        self.bus = self.pipe.get_bus()

    def _source_setup(self, _bin: Any, source: Any) -> None:
        name = source.get_factory().get_name()
        user, password = self.spec.get("username") or "", self.spec.get("password") or ""
        if name == "rtspsrc":
            source.set_property("protocols", RTSP_TCP)
            source.set_property("latency", 0)
            source.set_property("tcp-timeout", int(self.timeout * 1e6))
        elif name == "souphttpsrc":
            source.set_property("timeout", max(1, int(self.timeout)))
        if user and source.find_property("user-id") is not None:
            source.set_property("user-id", user)
            source.set_property("user-pw", password)

    def _pad_added(self, _src: Any, _pad: Any) -> None:
        self.opened = True

    def _gate(self, _pad: Any, _info: Any) -> Any:
        if self.want.is_set():
            self.want.clear()
            return self.Gst.PadProbeReturn.OK
        return self.Gst.PadProbeReturn.DROP

    def _bus_error(self) -> dict[str, Any] | None:
        t = self.Gst.MessageType
        while (msg := self.bus.pop_filtered(t.ERROR | t.EOS)) is not None:
            if msg.type == t.EOS:
                return {"ok": False, "error": "read_failed", "detail": "the stream ended"}
            err, _debug = msg.parse_error()
            return {"ok": False, "error": self._reason(err), "detail": str(err.message)[:200]}
        return None

    def _reason(self, err: Any) -> str:
        g = self.Gst
        if err.matches(g.ResourceError.quark(), g.ResourceError.NOT_AUTHORIZED):
            return "auth_failed"
        if err.domain == g.CoreError.quark() or err.matches(g.StreamError.quark(), g.StreamError.CODEC_NOT_FOUND):
            return "decode_failed"  # e.g. no decoder for the camera's codec
        if err.domain == g.StreamError.quark():
            return "decode_failed" if not self.opened else "read_failed"
        return "read_failed" if self.opened else "open_failed"

    def _take(self, i: int, until: float) -> dict[str, Any] | None:
        """Frame i to stdout, or the reason none came before `until`."""
        self.want.set()
        while True:
            left = until - time.monotonic()
            if left <= 0:
                if self.opened:
                    return {"ok": False, "error": "read_timeout", "detail": f"no frame in {self.timeout:.1f} s"}
                return {"ok": False, "error": "open_failed", "detail": f"not open in {self.timeout:.1f} s"}
            sample = self.sink.emit("try-pull-sample", int(min(left, 0.25) * 1e9))
            if sample is not None:
                break
            if (failed := self._bus_error()) is not None:
                return failed
        s = sample.get_caps().get_structure(0)
        w, h = s.get_value("width"), s.get_value("height")
        buf = sample.get_buffer()
        ok, info = buf.map(self.Gst.MapFlags.READ)
        if not ok:
            return {"ok": False, "error": "decode_failed", "detail": "unreadable frame"}
        try:
            stride = len(info.data) // h if h else 0
            if w < 1 or h < 1 or stride < 3 * w:
                return {"ok": False, "error": "decode_failed", "detail": f"frame {w}x{h}"}
            head = {"frame": i, "width": w, "height": h, "stride": stride}
            self.out.write(json.dumps(head).encode() + b"\n")
            self.out.write(info.data[: h * stride])
            self.out.flush()
        finally:
            buf.unmap(info)
        return None

    def run(self) -> dict[str, Any]:
        count, interval = int(self.spec["count"]), float(self.spec["interval"])
        self.pipe.set_state(self.Gst.State.PLAYING)
        failed = self._take(0, time.monotonic() + self.timeout)
        first_at = time.monotonic()
        for i in range(1, count):
            if failed is not None:
                break
            # Let the decoder run (dropping what it decodes) until the next frame is due.
            while (wait := first_at + i * interval - time.monotonic()) > 0:
                time.sleep(min(wait, 0.25))
                if (failed := self._bus_error()) is not None:
                    break
            else:
                failed = self._take(i, time.monotonic() + self.timeout)
        return failed or {"ok": True}


def _spec(line: bytes) -> dict[str, Any] | None:
    try:
        spec = json.loads(line)
    except ValueError:
        return None
    if not isinstance(spec, dict) or not {"uri", "count", "interval", "timeout"} <= spec.keys():
        return None
    return spec


def main() -> int:  # pragma: no cover - runs under /usr/bin/python3
    out = sys.stdout.buffer
    import gi  # noqa: PLC0415 - only this process has (and needs) GStreamer

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst  # noqa: PLC0415

    Gst.init(None)
    while True:  # one grab after another: the start-up above is paid once per sweep, not per camera
        ready, _, _ = select.select([sys.stdin], [], [], IDLE_EXIT_S)
        if not ready:
            return 0  # idle: the worker starts another process for its next grab
        line = sys.stdin.buffer.readline()
        if not line:
            return 0
        spec = _spec(line)
        if spec is None:
            out.write(b'{"ok": false, "error": "bad_uri", "detail": "expected a JSON spec line"}\n')
            out.flush()
            return 2
        try:
            grab = _Grab(Gst, spec, out)
        except Exception as exc:  # noqa: BLE001 - a URI GStreamer cannot even take is the answer
            out.write(json.dumps({"ok": False, "error": "open_failed", "detail": str(exc)[:200]}).encode() + b"\n")
            out.write(READY)
            out.flush()
            continue
        result = grab.run()
        # The answer first: a stuck source can hang the shutdown, and the caller then kills us.
        out.write(json.dumps(result).encode() + b"\n")
        out.flush()
        grab.pipe.set_state(Gst.State.NULL)
        out.write(READY)  # torn down: the next grab may come
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
