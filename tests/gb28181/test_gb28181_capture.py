"""A capture check with a dissector nobody here wrote: tshark captures one session's SIP and RTP on
loopback (a capture filter on this test's ports) and its own dissection must show REGISTER, the 401
challenge and the 200, a MESSAGE with an Application/MANSCDP+xml body, and RTP packets carrying the
SSRC of the INVITE's y= line with an MPEG-PS pack header (0x000001BA) at the start of the stream."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.gb28181.channels import Channel
from edge.gb28181.device import GbDevice
from edge.sim.gb28181_platform import PlatformSim, RtpReceiver
from edge.sim.rtsp_server import RtspServer
from tests.gb28181.support import DEVICE_ID, gb_config

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None or shutil.which("gst-launch-1.0") is None,
    reason="needs tshark (Debian package tshark) and GStreamer",
)
SSRC = "0100000021"


@pytest.fixture(scope="module")
def rtsp() -> Iterator[RtspServer]:
    with RtspServer({"gate": ("ball", 0, "h264", 1.0)}) as server:
        yield server


async def _capture(pcap: Path, ports: tuple[int, int]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        "tshark", "-i", "lo", "-f", f"udp port {ports[0]} or udp port {ports[1]}", "-w", str(pcap),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = b""
    async with asyncio.timeout(20):
        while b"Capture started" not in seen:  # dumpcap has the filter attached: nothing after this is missed
            line = await proc.stderr.readline()
            if not line:
                hint = "capture needs root, or dpkg-reconfigure wireshark-common and the wireshark group"
                raise AssertionError(f"tshark could not capture ({hint}): {seen.decode(errors='replace')}")
            seen += line
    return proc


def _fields(pcap: Path, ports: tuple[int, int], display: str, *fields: str) -> list[list[str]]:
    """tshark's dissection of the capture: SIP on the platform's port, RTP on its media port (neither
    is a well-known port, so each is named with -d, "decode as")."""
    sip, rtp = ports
    argv = ["tshark", "-r", str(pcap), "-d", f"udp.port=={sip},sip", "-d", f"udp.port=={rtp},rtp"]
    argv += ["-Y", display, "-T", "fields"]
    for f in fields:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


async def test_tshark_dissects_sip_manscdp_and_ps_over_rtp(rtsp: RtspServer, tmp_path: Path) -> None:
    cam = Channel("34020000001320000001", "cam-gate", "camera", "南门枪机", "南门", stream_uri=rtsp.url("gate"))
    sim = await PlatformSim().start()
    rtp = await RtpReceiver.open()
    pcap = tmp_path / "gb28181.pcapng"
    ports = (sim.port, rtp.port)
    capture = await _capture(pcap, ports)
    device = GbDevice(gb_config(sim), sim.password, [cam])
    task = asyncio.create_task(device.run())
    try:
        await sim.wait_for(lambda: device.registered)
        await sim.query(DEVICE_ID, "Catalog")
        await sim.wait_for(lambda: bool(sim.responses))
        call = await sim.invite(DEVICE_ID, cam.gb_id, rtp.port, SSRC)
        assert call.response.status == 200
        await sim.wait_for(lambda: len(rtp.packets) > 60, within=20)
        assert (await sim.bye(call)).status == 200
        await asyncio.sleep(0.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        rtp.close()
        await sim.stop()
        await asyncio.sleep(1.0)  # dumpcap writes what the kernel handed it; the last packets are just in
        capture.send_signal(signal.SIGINT)
        await capture.wait()

    sip = _fields(pcap, ports, "sip", "sip.Method", "sip.Status-Code", "sip.CSeq.method", "sip.Content-Type")
    requests = [row[0] for row in sip if row[0]]
    statuses = [(row[1], row[2]) for row in sip if row[1]]
    assert requests[:2] == ["REGISTER", "REGISTER"]  # the first is challenged, the second carries credentials
    assert ("401", "REGISTER") in statuses and ("200", "REGISTER") in statuses
    assert statuses.index(("401", "REGISTER")) < statuses.index(("200", "REGISTER"))
    manscdp = [row for row in sip if row[0] == "MESSAGE"]
    assert manscdp and all(row[3].lower() == "application/manscdp+xml" for row in manscdp)
    assert {"INVITE", "ACK", "BYE"} <= set(requests)

    expires = _fields(pcap, ports, "sip.Method == REGISTER", "sip.Expires")
    assert expires[-1] == ["0"]  # unregistered on stop

    auth = _fields(pcap, ports, "sip.Method == REGISTER && sip.Authorization", "sip.auth.username", "sip.auth.qop")
    assert auth and [v.strip('"') for v in auth[0]] == [DEVICE_ID, "auth"]

    packets = _fields(pcap, ports, "rtp", "rtp.ssrc", "rtp.p_type", "rtp.payload")
    assert len(packets) > 50
    assert {int(row[0], 16) for row in packets} == {int(SSRC)}
    assert {row[1] for row in packets} == {"96"}
    assert packets[0][2].replace(":", "").startswith("000001ba")  # the PS stream opens with a pack header
