"""RTSP through GStreamer's real RTSP server, decoded over TCP by GStreamer in a child process per grab."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from edge.sim.rtsp_server import RtspServer
from edge.video.grab import GrabError, grab_frames
from edge.video.quality import assess


@pytest.mark.parametrize(
    ("stream", "failures"),
    [("moving", []), ("static", ["frozen"]), ("black", ["black"]), ("mjpeg", [])],
)
async def test_rtsp_frames_are_judged(rtsp_server: RtspServer, stream: str, failures: list[str]) -> None:
    frames = await grab_frames(rtsp_server.url(stream), count=2, interval=0.5, timeout=5.0)
    assert [f.shape for f in frames] == [(360, 640, 3)] * 2
    assert assess(frames).failures == failures


async def test_rtsp_opens_fast(rtsp_server: RtspServer) -> None:
    await grab_frames(rtsp_server.url("bars"), count=1, timeout=5.0)  # the shared media is now running
    started = time.monotonic()
    frames = await grab_frames(rtsp_server.url("bars"), count=1, timeout=5.0)
    assert time.monotonic() - started < 2.0
    assert frames[0].shape == (360, 640, 3)


async def test_rtsp_unknown_path_fails_fast(rtsp_server: RtspServer) -> None:
    started = time.monotonic()
    with pytest.raises(GrabError) as exc:
        await grab_frames(rtsp_server.url("no-such-stream"), count=1, timeout=5.0)
    assert exc.value.reason == "open_failed"
    assert time.monotonic() - started < 2.0


async def test_rtsp_credentials_are_redacted(rtsp_server: RtspServer) -> None:
    with pytest.raises(GrabError) as exc:
        await grab_frames(rtsp_server.url("no-such-stream"), count=1, timeout=5.0, auth=("admin", "p@ss:word"))
    assert "p@ss" not in str(exc.value)
    with pytest.raises(GrabError) as exc:  # credentials in the URI itself are masked in the message
        await grab_frames(rtsp_server.url("no-such-stream").replace("//", "//admin:p@ss@"), count=1, timeout=5.0)
    assert "p@ss" not in str(exc.value)
    assert "admin:***@" in str(exc.value)


def _cmdlines() -> list[bytes]:
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            out.append((proc / "cmdline").read_bytes())
    return out


async def test_rtsp_with_credentials_never_on_a_command_line() -> None:
    password = "s3cret-rtsp-pw"
    with RtspServer({"cam": ("checkers-8", 3, "h264", 0.0)}, auth=("admin", password)) as server:
        grab = asyncio.ensure_future(grab_frames(server.url("cam"), count=2, interval=0.5, auth=("admin", password)))
        seen: list[bytes] = []
        while not grab.done():
            seen += [c for c in _cmdlines() if b"stream_grab" in c]
            await asyncio.sleep(0.05)
        frames = await grab
        assert [f.shape for f in frames] == [(360, 640, 3)] * 2
        assert seen, "the grab ran in its own process"
        assert not [c for c in seen if password.encode() in c]
        with pytest.raises(GrabError) as exc:
            await grab_frames(server.url("cam"), count=1, timeout=5.0, auth=("admin", "wrong"))
        assert exc.value.reason == "auth_failed"


def test_server_stop_leaves_no_process() -> None:
    server = RtspServer({"one": ("ball", 0, "h264", 1.0)})
    server.start()
    proc = server._proc
    assert proc is not None
    server.stop()
    assert proc.poll() is not None


async def test_h265_streams_are_decoded() -> None:
    # Many school cameras send H.265: GStreamer's libde265 (gstreamer1.0-plugins-bad) decodes it.
    with RtspServer({"moving": ("checkers-8", 3, "h265", 0.0), "black": ("black", 0, "h265", 1.0)}) as server:
        for name, failures in (("moving", []), ("black", ["black"])):
            frames = await grab_frames(server.url(name), count=2, interval=0.5, timeout=5.0)
            assert [f.shape for f in frames] == [(360, 640, 3)] * 2
            assert assess(frames).failures == failures
