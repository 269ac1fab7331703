"""RTP over TCP with `a=setup:active` in the platform's offer: the platform connects, the device listens
(its answer says a=setup:passive and names the port). Frames are decoded by the simulator and by a
receiver nobody here wrote (GStreamer's tcpclientsrc ! rtpstreamdepay, RFC 4571); a platform that
never connects gets a BYE after the accept deadline and frees the stream slot."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.gb28181 import media, sdp
from edge.gb28181.channels import Channel
from edge.gb28181.device import GbDevice
from edge.sim.gb28181_platform import PlatformSim, RtpTcpClient, RtpTcpReceiver
from edge.sim.rtsp_server import RtspServer
from tests.gb28181.support import DEVICE_ID, gb_config

pytestmark = pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="needs GStreamer (gst-launch-1.0)")


@pytest.fixture(scope="module")
def rtsp() -> Iterator[RtspServer]:
    with RtspServer({"gate": ("ball", 0, "h264", 1.0)}) as server:
        yield server


def _cam(rtsp: RtspServer) -> Channel:
    return Channel("34020000001320000001", "cam-gate", "camera", "南门枪机", "南门", stream_uri=rtsp.url("gate"))


async def test_platform_connects_and_decodes(rtsp: RtspServer) -> None:
    cam = _cam(rtsp)
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim), sim.password, [cam])
    task = asyncio.create_task(device.run())
    rtp: RtpTcpClient | None = None
    try:
        await sim.wait_for(lambda: device.registered)
        call = await sim.invite(DEVICE_ID, cam.gb_id, 9, "0100000011", tcp=True, setup="active")
        assert call.response.status == 200, call.response.start
        answer = sdp.parse_offer(call.response.body)
        assert (answer.transport, answer.setup, answer.ssrc) == ("tcp", "passive", "0100000011")
        assert answer.port == device.media.calls[call.call_id].listen_port
        rtp = await RtpTcpClient.connect(call.response.body)
        await sim.wait_for(lambda: rtp is not None and len(rtp.packets) > 60, within=20)
        assert rtp.ssrcs == {100000011}
        assert rtp.stream()[:4] == b"\x00\x00\x01\xba"  # the stream starts with a PS pack header
        assert (await sim.bye(call)).status == 200
        assert not device.media.calls
        await sim.wait_for(lambda: rtp is not None and rtp.ended, within=5)  # the device closed its side
        assert await asyncio.to_thread(rtp.decode_frames) >= 5
    finally:
        if rtp is not None:
            rtp.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_platform_that_never_connects_gets_a_bye(rtsp: RtspServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "ACCEPT_S", 1.0)
    cam = _cam(rtsp)
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim, max_streams=1), sim.password, [cam])
    task = asyncio.create_task(device.run())
    try:
        await sim.wait_for(lambda: device.registered)
        call = await sim.invite(DEVICE_ID, cam.gb_id, 9, "0100000012", tcp=True, setup="active")
        assert call.response.status == 200
        port = sdp.parse_offer(call.response.body).port
        await sim.wait_for(lambda: call.call_id in sim.byes, within=10)
        assert not device.media.calls
        with pytest.raises(OSError):  # the listening port is gone with the call
            await asyncio.open_connection("127.0.0.1", port)
        again = await sim.invite(DEVICE_ID, cam.gb_id, 9, "0100000013", tcp=True, setup="active")
        assert again.response.status == 200  # the slot is free again
        busy = await sim.invite(DEVICE_ID, cam.gb_id, 9, "0100000014", tcp=True, setup="active")
        assert busy.response.status == 486  # max_streams 1
        assert (await sim.bye(again)).status == 200
        odd = await sim.invite(DEVICE_ID, cam.gb_id, 9, "0100000015", tcp=True, setup="holdconn")
        assert odd.response.status == 488
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


def _gstreamer_receiver(host: str, port: int, seconds: float, want: int) -> int:
    """GStreamer as the platform's media side: connect, RFC 4571 deframe, depayload, demux PS, decode.
    rtpmp1sdepay passes the payload through as a system stream but names no MPEG version, which
    mpegpsdemux requires: capssetter adds it (PS in GB/T 28181 is MPEG-2)."""
    gst = shutil.which("gst-launch-1.0") or "/usr/bin/gst-launch-1.0"
    with tempfile.TemporaryDirectory() as tmp:
        argv = [
            gst, "-q", "tcpclientsrc", f"host={host}", f"port={port}", "!",
            "application/x-rtp-stream,media=video,clock-rate=90000,encoding-name=MP1S", "!",
            "rtpstreamdepay", "!", "rtpmp1sdepay", "!",
            "capssetter", "caps=video/mpeg,mpegversion=2,systemstream=true", "!",
            "mpegpsdemux", "!", "h264parse", "!", "openh264dec", "!",
            "videoconvert", "!", "jpegenc", "!", "multifilesink", f"location={tmp}/f%04d.jpg",
        ]  # fmt: skip
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + seconds
        try:  # until enough frames are decoded (a loaded box is slow to start) or the deadline
            while time.monotonic() < deadline and proc.poll() is None and len(list(Path(tmp).glob("f*.jpg"))) < want:
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=5)
        return len(list(Path(tmp).glob("f*.jpg")))


async def test_a_third_party_receiver_decodes_frames(rtsp: RtspServer) -> None:
    cam = _cam(rtsp)
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim), sim.password, [cam])
    task = asyncio.create_task(device.run())
    try:
        await sim.wait_for(lambda: device.registered)
        call = await sim.invite(DEVICE_ID, cam.gb_id, 9, "0100000016", tcp=True, setup="active")
        assert call.response.status == 200
        answer = sdp.parse_offer(call.response.body)
        frames = await asyncio.to_thread(_gstreamer_receiver, answer.address, answer.port, 20.0, 5)
        assert frames >= 5, f"GStreamer decoded {frames} frames"
        assert (await sim.bye(call)).status == 200
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_actpass_lets_the_gateway_connect(rtsp: RtspServer) -> None:
    cam = _cam(rtsp)
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim), sim.password, [cam])
    task = asyncio.create_task(device.run())
    rtp = await RtpTcpReceiver.open()
    try:
        await sim.wait_for(lambda: device.registered)
        call = await sim.invite(DEVICE_ID, cam.gb_id, rtp.port, "0100000017", tcp=True, setup="actpass")
        assert call.response.status == 200
        assert sdp.parse_offer(call.response.body).setup == "active"  # the gateway took the connecting role
        assert device.media.calls[call.call_id].listen_port is None
        await sim.wait_for(lambda: len(rtp.packets) > 50, within=20)
        assert rtp.ssrcs == {100000017}
        assert (await sim.bye(call)).status == 200
    finally:
        rtp.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()
