"""`python -m edge.sim.onvif`: serve simulated ONVIF cameras (and optionally an NVR) for demos and tests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from typing import Any

from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import Faults, SimCamera
from edge.sim.video_server import VideoServer
from edge.sim.wsd import WsdResponder


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m edge.sim.onvif",
        description="Simulated ONVIF cameras (device, media, Profile G search), one loopback port each.",
        epilog="Change faults at runtime: curl -d '{\"hang\": true}' http://HOST:PORT/sim/faults",
    )
    p.add_argument("--cameras", type=int, default=4, help="number of cameras (ids cam-001...)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--base-port", type=int, default=0, help="first port (0: any free ports)")
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="admin123")
    p.add_argument("--video-base", default="http://127.0.0.1:8554", help="video simulator serving /snapshot, /mjpeg")
    p.add_argument("--rtsp-base", default=None, help="rtsp://HOST:PORT when an RTSP server serves /<id>")
    p.add_argument(
        "--video", action="store_true", help="also serve the synthetic video (snapshot + MJPEG) in this process"
    )
    p.add_argument("--nvr", action="store_true", help="also serve an NVR (id nvr) recording every camera")
    p.add_argument("--wsd-port", type=int, default=None, help="answer WS-Discovery probes on this UDP port (3702)")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ID:JSON",
        help='initial faults, e.g. cam-002:{"retention_days": 20} (repeatable)',
    )
    return p


async def serve(args: argparse.Namespace) -> None:
    ids = [f"cam-{i:03d}" for i in range(1, args.cameras + 1)]
    video: VideoServer | None = None
    if args.video:
        video = VideoServer(args.host)
        for cid in ids:
            video.add_camera(cid)
        await video.start()
        args.video_base = f"http://{args.host}:{video.port}"
    sim = OnvifSimulator(args.host, args.video_base, args.rtsp_base, video.set_mode if video else None)
    initial: dict[str, dict[str, Any]] = {}
    for spec in args.fault:
        cid, _, text = spec.partition(":")
        initial[cid] = json.loads(text)
    for i, cid in enumerate(ids):
        faults = Faults()
        faults.update(initial.get(cid, {}))
        if video is not None and faults.video_mode != "normal":
            video.set_mode(cid, faults.video_mode)
        port = args.base_port + i if args.base_port else 0
        await sim.add(SimCamera(cid, args.username, args.password, faults=faults), port)
    if args.nvr:
        await sim.add(SimCamera("nvr", args.username, args.password, model="SIM-NVR-1"), 0, records=tuple(ids))
    for cid in sim.cameras:
        print(f"{cid}\t{sim.url(cid)}", flush=True)
    wsd = await WsdResponder(sim).start(args.host, args.wsd_port) if args.wsd_port is not None else None
    if wsd is not None:
        print(f"ws-discovery\tudp://{args.host}:{wsd.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        if wsd is not None:
            wsd.stop()
        await sim.close()
        if video is not None:
            await video.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(_parser().parse_args()))


if __name__ == "__main__":
    main()
