"""Live view: an INVITE for a camera channel gets its RTSP video as MPEG-PS over RTP (UDP) from a
child process, to the SDP's address, port and SSRC; the simulator's RTP receiver decodes real frames
with GStreamer. BYE stops it; past max_streams the INVITE gets 486 Busy Here."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator

import pytest

from edge.gb28181.channels import Channel
from edge.gb28181.device import GbDevice
from edge.sim.gb28181_platform import PlatformSim, RtpReceiver, RtpTcpReceiver
from edge.sim.rtsp_server import RtspServer
from tests.gb28181.support import BUTTONS, DEVICE_ID, gb_config

pytestmark = pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="needs GStreamer (gst-launch-1.0)")


@pytest.fixture(scope="module")
def rtsp() -> Iterator[RtspServer]:
    with RtspServer({"gate": ("ball", 0, "h264", 1.0)}) as server:
        yield server


async def test_invite_streams_ps_over_rtp_and_bye_stops(rtsp: RtspServer) -> None:
    cam = Channel("34020000001320000001", "cam-gate", "camera", "南门枪机", "南门", stream_uri=rtsp.url("gate"))
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim, max_streams=1), sim.password, [cam, *BUTTONS])
    task = asyncio.create_task(device.run())
    rtp = await RtpReceiver.open()
    other = await RtpReceiver.open()
    try:
        await sim.wait_for(lambda: device.registered)
        started = time.monotonic()
        call = await sim.invite(DEVICE_ID, cam.gb_id, rtp.port, "0100000001")
        assert call.response.status == 200, call.response.start
        answer = call.response.body.decode()
        assert "y=0100000001" in answer and "PS/90000" in answer
        await sim.wait_for(lambda: len(rtp.packets) > 60, within=20)
        assert rtp.first_at is not None and rtp.first_at - started < 10
        assert rtp.ssrcs == {100000001}

        busy = await sim.invite(DEVICE_ID, cam.gb_id, other.port, "0100000002")
        assert busy.response.status == 486
        missing = await sim.invite(DEVICE_ID, BUTTONS[0].gb_id, other.port, "0100000003")
        assert missing.response.status == 404  # a button channel has no video

        bye = await sim.bye(call)
        assert bye.status == 200 and not device.media.calls
        frames = await asyncio.to_thread(rtp.decode_frames)
        assert frames >= 5, f"only {frames} decoded frames from {len(rtp.packets)} RTP packets"
        count = len(rtp.packets)
        await asyncio.sleep(1.0)
        assert len(rtp.packets) <= count + 5  # the relay stopped

        # A relay that dies by itself ends its call: the device sends BYE and the slot is free again.
        second = await sim.invite(DEVICE_ID, cam.gb_id, other.port, "0100000004")
        assert second.response.status == 200
        device.media.calls[second.call_id].proc.kill()
        await sim.wait_for(lambda: second.call_id in sim.byes, within=10)
        assert not device.media.calls
    finally:
        rtp.close()
        other.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_rtp_over_tcp_when_the_platform_listens(rtsp: RtspServer) -> None:
    cam = Channel("34020000001320000001", "cam-gate", "camera", "南门枪机", "南门", stream_uri=rtsp.url("gate"))
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim), sim.password, [cam])
    task = asyncio.create_task(device.run())
    rtp = await RtpTcpReceiver.open()
    try:
        await sim.wait_for(lambda: device.registered)
        call = await sim.invite(DEVICE_ID, cam.gb_id, rtp.port, "0100000007", tcp=True)
        assert call.response.status == 200, call.response.start
        assert "TCP/RTP/AVP" in call.response.body.decode() and "a=setup:active" in call.response.body.decode()
        await sim.wait_for(lambda: len(rtp.packets) > 60, within=20)
        assert rtp.ssrcs == {100000007}
        assert (await sim.bye(call)).status == 200
        assert await asyncio.to_thread(rtp.decode_frames) >= 5
    finally:
        rtp.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_h265_camera_passes_through_and_its_codec_is_reported() -> None:
    with RtspServer({"h265": ("ball", 0, "h265", 1.0)}) as server:
        cam = Channel("34020000001320000009", "cam-h265", "camera", "操场球机", "操场", stream_uri=server.url("h265"))
        sim = await PlatformSim().start()
        device = GbDevice(gb_config(sim), sim.password, [cam])
        task = asyncio.create_task(device.run())
        rtp = await RtpReceiver.open()
        try:
            await sim.wait_for(lambda: device.registered)
            call = await sim.invite(DEVICE_ID, cam.gb_id, rtp.port, "0100000009")
            assert call.response.status == 200, call.response.start
            relay = device.media.calls[call.call_id]
            await sim.wait_for(lambda: relay.codec is not None and len(rtp.packets) > 60, within=20)
            assert relay.codec == "h265"  # found in the camera's stream: the channel says nothing of it
            assert (await sim.bye(call)).status == 200
            ps_bytes = rtp.stream()
            assert ps_bytes.startswith(b"\x00\x00\x01\xba")  # a pack header, then system header and PSM
            assert b"\x00\x00\x01\xbc" in ps_bytes[:200] and bytes([0x24, 0xE0]) in ps_bytes[:200]
            frames = await asyncio.to_thread(rtp.decode_frames)  # mpegpsdemux ! decodebin: libde265dec
            assert frames >= 5, f"only {frames} decoded H.265 frames from {len(rtp.packets)} RTP packets"
        finally:
            rtp.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await sim.stop()
