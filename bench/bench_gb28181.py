"""GB/T 28181 alarm latency: MQTT press on real mosquitto -> Alarm Notify received by the platform
simulator, through a real `edge run` daemon (rules, outbox on SQLite, the gb28181 transport over UDP).

Floor: a bare SIP MESSAGE round trip (MESSAGE -> 200 OK) between two endpoints of this code on the
same loopback. Bar (issue 15): p99 <= 1 s. Also INVITE -> first decodable frame from a local RTSP
camera (GStreamer test server, key frame every 0.5 s), decoded by the simulator's receiver; bar 2 s.

    python bench/bench_gb28181.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Row, print_rows, row  # noqa: E402
from edge.gb28181.channels import Channel  # noqa: E402
from edge.gb28181.device import GbDevice  # noqa: E402
from edge.gb28181.endpoint import SipEndpoint  # noqa: E402
from edge.gb28181.sip import SipMessage, new_branch, new_call_id, new_tag  # noqa: E402
from edge.sim.gb28181_platform import PlatformSim, RtpReceiver, RtpTcpClient  # noqa: E402
from edge.sim.rtsp_server import RtspServer  # noqa: E402
from tests.gb28181.support import DEVICE_ID, SimThread, gb_config  # noqa: E402
from tests.gb28181.test_gb28181_daemon import CONFIG  # noqa: E402
from tests.helpers import daemon_process, free_port  # noqa: E402
from tests.peers.mosquitto import Mosquitto  # noqa: E402
from tests.peers.mqtt_device import Device  # noqa: E402


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _floor(sim: SimThread, n: int) -> list[float]:
    async def measure() -> list[float]:
        async def ignore(msg: SipMessage, addr: tuple[str, int]) -> None:
            return None

        ep = SipEndpoint("udp", ignore)
        await ep.connect(("127.0.0.1", sim.port))
        out = []
        try:
            for i in range(n):
                host, port = ep.local
                req = SipMessage(
                    f"MESSAGE sip:{sim.sim.server_id}@3402000000 SIP/2.0",
                    [
                        ("Via", f"SIP/2.0/UDP {host}:{port};rport;branch={new_branch()}"),
                        ("From", f"<sip:{DEVICE_ID}@3402000000>;tag={new_tag()}"),
                        ("To", f"<sip:{sim.sim.server_id}@3402000000>"),
                        ("Call-ID", new_call_id(host)),
                        ("CSeq", f"{i + 1} MESSAGE"),
                        ("Content-Type", "Application/MANSCDP+xml"),
                    ],
                    b'<?xml version="1.0"?><Notify><CmdType>Bench</CmdType><SN>1</SN></Notify>',
                )
                t0 = time.perf_counter()
                await ep.request(req, ("127.0.0.1", sim.port), 5)
                out.append(time.perf_counter() - t0)
        finally:
            await ep.close()
        return out

    result = sim.call(measure(), timeout=120)
    assert isinstance(result, list)
    return result


async def _first_frame(rtsp_url: str, tries: int, tcp_active: bool = False) -> list[float]:
    """INVITE -> the first moment the received PS decodes to a frame, per try (0.1 s resolution).

    A prefix cut inside a PS pack may stall the demuxer: each decode gets 3 s, its frames still count."""
    cam = Channel("34020000001320000001", "cam-gate", "camera", "南门枪机", "南门", stream_uri=rtsp_url)
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim), sim.password, [cam])
    task = asyncio.create_task(device.run())
    out = []
    try:
        await sim.wait_for(lambda: device.registered)
        for i in range(tries):
            started = time.monotonic()
            rtp: RtpReceiver
            if tcp_active:  # the platform connects to the port in the gateway's answer (a=setup:active)
                call = await sim.invite(DEVICE_ID, cam.gb_id, 9, f"01000001{i:02d}", tcp=True, setup="active")
                rtp = await RtpTcpClient.connect(call.response.body)
            else:
                rtp = await RtpReceiver.open()
                call = await sim.invite(DEVICE_ID, cam.gb_id, rtp.port, f"01000000{i:02d}")
            await asyncio.sleep(3.0)
            await sim.bye(call)
            rtp.close()
            step = 0.1
            t = step
            while t <= 3.0 and await asyncio.to_thread(rtp.decode_frames, started + t, 3.0) == 0:
                t += step
            out.append(t)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()
    return out


def run(quick: bool = False) -> list[Row]:
    n = 30 if quick else 200
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        sim = SimThread("udp")
        (tmp / "gb.pass").write_text(sim.sim.password, encoding="utf-8")
        try:
            with Mosquitto(tmp / "broker") as broker:
                port = free_port()
                cfg = tmp / "edge.yaml"
                text = CONFIG.format(dir=tmp, port=port, mqtt=broker.url, server=sim.sim.url, device=DEVICE_ID)
                cfg.write_text(text.replace("keepalive_interval: 0.5", "keepalive_interval: 5"), encoding="utf-8")
                with daemon_process(cfg, port):
                    sim.wait(lambda: DEVICE_ID in sim.sim.devices, timeout=30)
                    button = Device(broker.url, "edge", "gate-south")
                    latencies = []
                    for _ in range(n):
                        seen = len(sim.sim.alarms)
                        t0 = time.perf_counter()
                        button.event("press")
                        sim.wait(lambda seen=seen: len(sim.sim.alarms) > seen, timeout=10)  # type: ignore[misc]
                        latencies.append(sim.sim.alarm_at[seen] - t0)  # arrival time, not the poll's
                        button.event("release")
                        time.sleep(0.02)
                    floor = _floor(sim, n)
        finally:
            sim.close()
    with RtspServer({"gate": ("ball", 0, "h264", 1.0)}) as rtsp:
        first = asyncio.run(_first_frame(rtsp.url("gate"), 3 if quick else 10))
        first_tcp = asyncio.run(_first_frame(rtsp.url("gate"), 3 if quick else 10, tcp_active=True))
    ms = 1000.0
    p50, p99 = statistics.median(latencies) * ms, _p(latencies, 0.99) * ms
    f50, f99 = statistics.median(floor) * ms, _p(floor, 0.99) * ms
    return [
        row("press -> Alarm Notify p50", p50, "ms", f50, "ms (SIP MESSAGE RTT p50)"),
        row("press -> Alarm Notify p99", p99, "ms", f99, "ms (SIP MESSAGE RTT p99)"),
        row("INVITE -> first decodable frame (max)", max(first), "s", 0.5, "s (camera key-frame interval)"),
        row("INVITE, TCP platform connects -> first frame (max)", max(first_tcp), "s", 0.5, "s (key-frame interval)"),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="30 presses instead of 200")
    args = p.parse_args()
    print_rows(run(args.quick), footer="bars (issue 15): press -> Alarm Notify p99 <= 1 s; first frame <= 2 s")


if __name__ == "__main__":
    main()
