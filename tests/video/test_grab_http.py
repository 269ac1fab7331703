"""Grabbing over HTTP from the real video simulator: snapshots, MJPEG, auth and faults."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from edge.config.devices import QualityThresholds
from edge.sim.video_server import VideoServer
from edge.video.check import check_quality
from edge.video.grab import GrabError, grab_frames, grab_snapshot, is_snapshot_uri
from edge.video.quality import assess


def _bad_input(reason: str) -> float:
    return REGISTRY.get_sample_value("edge_bad_input_total", {"source": "video", "reason": reason}) or 0.0


@pytest.mark.parametrize(("cam", "failures"), [("normal", []), ("static", []), ("frozen", ["frozen"])])
async def test_snapshot_frames_are_judged(video_server: VideoServer, cam: str, failures: list[str]) -> None:
    started = time.monotonic()
    frames = await grab_frames(video_server.url(cam), count=2, interval=0.5, timeout=5.0)
    assert time.monotonic() - started >= 0.5  # really taken apart
    assert [f.shape for f in frames] == [(360, 640, 3)] * 2
    assert assess(frames).failures == failures


@pytest.mark.parametrize(("cam", "failures"), [("normal", []), ("frozen", ["frozen"]), ("covered", ["covered"])])
async def test_mjpeg_stream(video_server: VideoServer, cam: str, failures: list[str]) -> None:
    frames = await grab_frames(video_server.url(cam, "mjpeg"), count=2, interval=0.5, timeout=5.0)
    assert [f.shape for f in frames] == [(360, 640, 3)] * 2
    assert assess(frames).failures == failures


async def test_mode_changes_at_runtime(video_server: VideoServer) -> None:
    url = video_server.url("switchable")
    assert assess(await grab_frames(url, count=1)).verdict == "pass"
    video_server.set_mode("switchable", "blurred", blur_kernel=9)
    try:
        assert assess(await grab_frames(url, count=1)).failures == ["blurred"]
    finally:
        video_server.set_mode("switchable", "normal")


async def test_auth_with_right_password(auth_server: VideoServer, credentials: tuple[str, str]) -> None:
    frame = await grab_snapshot(auth_server.url("cam"), credentials, timeout=5.0)
    assert frame.shape == (360, 640, 3)
    frames = await grab_frames(auth_server.url("cam", "mjpeg"), count=1, timeout=5.0, auth=credentials)
    assert frames[0].shape == (360, 640, 3)


@pytest.mark.parametrize("wrong", [False, True])
async def test_auth_failure_is_its_own_reason(
    auth_server: VideoServer, credentials: tuple[str, str], wrong: bool
) -> None:
    auth = (credentials[0], "wrong") if wrong else None
    with pytest.raises(GrabError) as exc:
        await grab_snapshot(auth_server.url("cam"), auth, timeout=5.0)
    assert exc.value.reason == "auth_failed"
    assert "wrong" not in str(exc.value)


async def test_wrong_password_on_stream_never_leaks(auth_server: VideoServer, credentials: tuple[str, str]) -> None:
    with pytest.raises(GrabError) as exc:
        await grab_frames(auth_server.url("cam", "mjpeg"), count=1, timeout=3.0, auth=(credentials[0], "wrong-pw"))
    assert exc.value.reason == "auth_failed"  # MJPEG is read by us now: the 401 is told as what it is
    assert "wrong-pw" not in str(exc.value)


async def test_garbage_bytes_are_counted_not_crashing(video_server: VideoServer) -> None:
    before = _bad_input("decode_failed")
    for _ in range(3):
        with pytest.raises(GrabError) as exc:
            await grab_frames(video_server.url("garbage"), count=1, timeout=5.0)
        assert exc.value.reason == "decode_failed"
    assert _bad_input("decode_failed") == before + 3


async def test_garbage_mjpeg_is_a_typed_error(video_server: VideoServer) -> None:
    with pytest.raises(GrabError) as exc:
        await grab_frames(video_server.url("garbage", "mjpeg"), count=1, timeout=3.0)
    assert exc.value.reason in {"open_failed", "read_failed", "decode_failed"}


@pytest.mark.parametrize(("cam", "reason"), [("error", "http_status"), ("empty", "decode_failed"), ("hang", "timeout")])
async def test_snapshot_faults(video_server: VideoServer, cam: str, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(GrabError) as exc:
        await grab_frames(video_server.url(cam), count=1, timeout=0.5)
    assert exc.value.reason == reason
    assert time.monotonic() - started < 3.0


async def test_hanging_stream_times_out(video_server: VideoServer) -> None:
    started = time.monotonic()
    with pytest.raises(GrabError) as exc:
        await grab_frames(video_server.url("hang", "mjpeg"), count=1, timeout=1.0)
    assert exc.value.reason in {"open_failed", "timeout"}
    assert time.monotonic() - started < 4.0


async def test_unreachable_and_bad_uris(unused_tcp_port: int) -> None:
    with pytest.raises(GrabError) as exc:
        await grab_frames(f"http://127.0.0.1:{unused_tcp_port}/snapshot.jpg", count=1, timeout=2.0)
    assert exc.value.reason == "connect_failed"
    with pytest.raises(GrabError) as exc:
        await grab_frames(f"rtsp://127.0.0.1:{unused_tcp_port}/x", count=1, timeout=2.0)
    assert exc.value.reason == "open_failed"
    with pytest.raises(GrabError) as exc:
        await grab_frames("gopher://127.0.0.1/x", count=1)
    assert exc.value.reason == "bad_uri"


def test_snapshot_uri_detection() -> None:
    assert is_snapshot_uri("http://10.0.0.5/onvif/snapshot?channel=1")
    assert is_snapshot_uri("https://cam/cgi-bin/snapshot.cgi")
    assert is_snapshot_uri("http://cam/ISAPI/Streaming/channels/101/picture")
    assert is_snapshot_uri("http://cam/x.jpg")
    assert not is_snapshot_uri("http://cam/mjpeg/1")
    assert not is_snapshot_uri("rtsp://cam/snapshot.jpg")


async def test_check_quality_end_to_end(video_server: VideoServer) -> None:
    check = await check_quality(video_server.url("blurred"), QualityThresholds(), interval=0.3, timeout=5.0)
    assert check.result.failures == ["blurred"]
    assert check.thumbnail[:2] == b"\xff\xd8"
    assert check.elapsed_s >= 0.3
    with pytest.raises(GrabError):
        await check_quality(video_server.url("garbage"), count=1)
