"""A camera configured with only `onvif:` (no stream_uri) through a real `edge run`: the camera worker
learns its RTSP URI from ONVIF GetStreamUri, the INVITE gets that stream (RTSP with authentication)
as PS over RTP and frames decode; the camera's password is on no process's command line and in no log."""

from __future__ import annotations

import signal
from pathlib import Path

from edge.sim.gb28181_platform import Invite, RtpReceiver
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import SimCamera
from edge.sim.rtsp_server import RtspServer
from tests.gb28181.support import DEVICE_ID, GB_SECTION, SimThread
from tests.helpers import daemon_process, free_port

CAM = "34020000001320000001"
PASSWORD = "Gate-Cam-7f3q"

CONFIG = (
    """\
site: {{id: sch-1, name: 第一实验小学, timezone: Asia/Shanghai}}
storage: {{path: {dir}/edge.db}}
api: {{listen: "127.0.0.1:{port}", tokens_file: {dir}/tokens.yaml}}
cameras:
  - {{id: cam-001, name: 南门枪机, location: 南门, onvif: "{cam}", username: admin, password_file: {dir}/cam.pass,
      gb28181_id: "{cam_id}"}}
checks: {{camera_interval: 3600, startup_delay: 0, call_timeout: 3}}
"""
    + GB_SECTION
    + "  keepalive_interval: 5\n"
)


def _cmdlines() -> list[bytes]:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                out.append((proc / "cmdline").read_bytes())
            except OSError:
                continue
    return out


def test_onvif_only_camera_streams_with_credentials_kept_off_cmdlines_and_logs(tmp_path: Path) -> None:
    with RtspServer({"cam-001": ("ball", 0, "h264", 1.0)}, auth=("admin", PASSWORD)) as rtsp:
        sim = SimThread("udp")
        onvif: OnvifSimulator = sim.call(_onvif(f"rtsp://127.0.0.1:{rtsp.port}"))  # type: ignore[assignment]
        rtp: RtpReceiver = sim.call(RtpReceiver.open())  # type: ignore[assignment]
        (tmp_path / "gb.pass").write_text(sim.sim.password + "\n", encoding="utf-8")
        (tmp_path / "cam.pass").write_text(PASSWORD + "\n", encoding="utf-8")
        port = free_port()
        cfg = tmp_path / "edge.yaml"
        cfg.write_text(
            CONFIG.format(
                dir=tmp_path, port=port, server=sim.sim.url, device=DEVICE_ID, cam=onvif.url("cam-001"), cam_id=CAM
            ),
            encoding="utf-8",
        )
        try:
            with daemon_process(cfg, port) as daemon:
                sim.wait(lambda: DEVICE_ID in sim.sim.devices, timeout=30)
                sim.wait(lambda: onvif.cameras["cam-001"].calls["GetStreamUri"] >= 1, timeout=30)
                call = sim.call(sim.sim.invite(DEVICE_ID, CAM, rtp.port, "0100000021"), timeout=20)
                assert isinstance(call, Invite)
                assert call.response.status == 200, call.response.start
                sim.wait(lambda: len(rtp.packets) > 60, timeout=30)
                relays = [c for c in _cmdlines() if b"media_relay" in c or b"gst_source" in c]
                assert len(relays) >= 2  # the relay and its GStreamer child are running
                assert b"rtsp://127.0.0.1" in b"".join(relays)  # the URI ONVIF gave, without userinfo
                assert not any(PASSWORD.encode() in c for c in _cmdlines())
                sim.call(sim.sim.bye(call))
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=20)
                assert daemon.stdout is not None
                log = daemon.stdout.read()
            assert b"live view of " + CAM.encode() in log and b"H264" in log  # the codec it found, reported
            assert PASSWORD.encode() not in log
            frames = rtp.decode_frames()
            assert frames >= 5, f"only {frames} frames decoded from {len(rtp.packets)} RTP packets"
        finally:
            rtp.close()
            sim.call(onvif.close())
            sim.close()


async def _onvif(rtsp_base: str) -> OnvifSimulator:
    onvif = OnvifSimulator(rtsp_base=rtsp_base)
    await onvif.add(SimCamera("cam-001", password=PASSWORD))
    return onvif
