"""A real RTSP server for tests and the demo: GStreamer's gst-rtsp-server in a subprocess.

Debian's ffmpeg cannot serve RTSP, and the GStreamer `gi` bindings only load under Debian's own
/usr/bin/python3, so this file is two things: `RtspServer`, the wrapper the project's Python uses,
and (run as a script by that interpreter) the server itself. The script half imports only the
standard library and `gi`, never `edge`.

Streams are videotestsrc patterns at 640x360, 10 fps, H.264 (x264enc, zerolatency, one slice per
frame, a key frame every 0.5 s so a new client decodes within half a second) or MJPEG, at
rtsp://HOST:PORT/<name>.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Final

GST_PYTHON: Final = "/usr/bin/python3"
# name -> (videotestsrc pattern, horizontal-speed, codec, saturation). Grey checkers (saturation 0) are
# a sharp, neutral picture that passes every quality check; "moving" scrolls 3 px a frame over their
# 16 px period, so frames repeat only every 16 frames (1.6 s): tests take frames 0.5 s apart.
DEFAULT_STREAMS: Final = {
    "moving": ("checkers-8", 3, "h264", 0.0),
    "static": ("checkers-8", 0, "h264", 0.0),  # a source that repeats one picture: decoded frames are identical
    "black": ("black", 0, "h264", 1.0),
    "bars": ("smpte", 0, "h264", 1.0),
    "mjpeg": ("checkers-8", 3, "mjpeg", 0.0),
}
# Readiness wait: gst-rtsp-server binds in ~0.2 s; a loaded CI box gets 15 s before we give up.
_READY_TIMEOUT: Final = 15.0
_WIDTH, _HEIGHT, _FPS = 640, 360, 10
# A key frame every 5 frames (0.5 s at 10 fps): a new client's first decodable picture comes fast.
_KEY_INTERVAL: Final = 5
_AUTH_ENV: Final = "EDGE_SIM_RTSP_AUTH"


def launch_line(pattern: str, speed: int, codec: str, saturation: float = 1.0) -> str:
    """The gst-launch description of one stream's media."""
    src = (
        f"videotestsrc is-live=true pattern={pattern} horizontal-speed={speed} "
        f"! video/x-raw,width={_WIDTH},height={_HEIGHT},framerate={_FPS}/1 "
        f"! videoconvert ! videobalance saturation={saturation:.2f} ! videoconvert"
    )
    if codec == "mjpeg":
        enc = "video/x-raw,format=I420 ! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26"
    elif codec == "h265":
        enc = (
            f"video/x-raw,format=I420 ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max={_KEY_INTERVAL} "
            'bitrate=1000 option-string="pools=1:frame-threads=1" ! video/x-h265,profile=main '
            "! rtph265pay name=pay0 pt=96 config-interval=-1"
        )
    else:
        enc = (
            f"x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max={_KEY_INTERVAL} bitrate=2000 "
            "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    return f"( {src} ! {enc} )"


class RtspServer:
    """Starts the GStreamer RTSP server subprocess and waits until it accepts connections.

    Usable as a context manager; `url(name)` gives rtsp://host:port/name.
    """

    def __init__(
        self,
        streams: dict[str, tuple[str, int, str, float]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: tuple[str, str] | None = None,
    ) -> None:
        """`auth` (username, password): every stream then needs RTSP Basic authentication."""
        self.streams = dict(streams or DEFAULT_STREAMS)
        self.auth = auth
        self.host = host
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def log_tail(self, size: int = 2000) -> str:
        """The end of the server's stderr, for failure messages."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-size:]

    def url(self, name: str) -> str:
        return f"rtsp://{self.host}:{self.port}/{name}"

    def start(self) -> None:
        args = [GST_PYTHON, str(Path(__file__).resolve()), "--host", self.host, "--port", str(self.port)]
        for name, (pattern, speed, codec, saturation) in self.streams.items():
            args += ["--stream", f"{name}:{pattern}:{speed}:{codec}:{saturation}"]
        # stdin stays open: the child exits when it closes, so a crashed parent leaves no orphan.
        # stderr goes to a file, not a pipe nobody reads: GStreamer's warnings would fill a pipe and
        # block the server mid-stream.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and our own script
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=_child_env(self.auth)
        )
        self.port = self._wait_ready()

    def _wait_ready(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + _READY_TIMEOUT
        fd = self._proc.stdout.fileno()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                line = self._proc.stdout.readline().decode(errors="replace").split()
                if len(line) == 2 and line[0] == "READY":
                    port = int(line[1])
                    _wait_port(self.host, port, deadline)
                    return port
            if self._proc.poll() is not None:
                code = self._proc.returncode
                err = self.log_tail()
                self.stop()
                raise RuntimeError(f"RTSP server exited with {code}: {err}")
        self.stop()
        raise RuntimeError("RTSP server did not become ready")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        log, self._log = self._log, None
        if log is not None:
            log.close()
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child_env(auth: tuple[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if auth is not None:  # in the environment (owner-only), not on the server's command line
        env[_AUTH_ENV] = f"{auth[0]}:{auth[1]}"
    env.pop("PYTHONPATH", None)  # the venv's packages must not shadow Debian's gi
    env.pop("PYTHONHOME", None)
    return env


def _wait_port(host: str, port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _serve(host: str, port: int, streams: list[str]) -> None:  # pragma: no cover - runs under /usr/bin/python3
    import gi  # noqa: PLC0415 - only the subprocess has (and needs) GStreamer

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer  # noqa: PLC0415

    Gst.init(None)
    server: Any = GstRtspServer.RTSPServer.new()
    server.set_address(host)
    server.set_service(str(port))
    mounts = server.get_mount_points()
    user, _, password = os.environ.pop(_AUTH_ENV, "").partition(":")
    if user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", user)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
    for spec in streams:
        name, pattern, speed, codec, saturation = spec.split(":")
        factory = GstRtspServer.RTSPMediaFactory.new()
        factory.set_launch(launch_line(pattern, int(speed), codec, float(saturation)))
        factory.set_shared(True)  # one encoder per stream however many clients watch
        if user:
            factory.add_role_from_structure(
                Gst.Structure.from_string(
                    f"{user}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
                )[0]
            )
        mounts.add_factory(f"/{name}", factory)
    server.attach(None)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_HUP | GLib.IO_IN, lambda *_: loop.quit())
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="GStreamer RTSP test-stream server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--stream", action="append", default=[], help="name:pattern:speed:h264|mjpeg:saturation")
    args = p.parse_args(argv)
    streams = args.stream or [f"{n}:{p}:{s}:{c}:{a}" for n, (p, s, c, a) in DEFAULT_STREAMS.items()]
    _serve(args.host, args.port, streams)


if __name__ == "__main__":
    main()
