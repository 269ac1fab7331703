"""`edge demo [--port 8080] [--scenario on|off] [--state-dir DIR]`: the simulated school."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

from edge.redact import install_log_redaction


def _demo(args: argparse.Namespace) -> int:
    from edge.demo.runner import prepare, run_demo  # noqa: PLC0415 - late: the simulators load OpenCV, pymodbus

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_log_redaction()
    if args.listen not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"注意：演示网关监听 {args.listen}，校园网内的手机可访问；演示账号密码会打印在下方 / "
            f"the demo listens on {args.listen} for phones on this network; its logins are printed below"
        )
    ready = prepare(Path(args.state_dir), args.port, args.listen)
    if ready is None:
        return 2
    state, lock = ready
    with lock:  # held (flock) for the demo's lifetime: one demo per state dir
        return asyncio.run(run_demo(args.port, args.scenario == "on", state, args.log_level, args.listen))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="a simulated school with the daemon on it / 演示学校")
    p.add_argument("--port", type=int, default=8080, help="dashboard/API port on 127.0.0.1 (default 8080)")
    p.add_argument(
        "--listen",
        default="127.0.0.1",
        help="address for the dashboard/API (default 127.0.0.1); 0.0.0.0 lets guards' phones scan the patrol QR codes",
    )
    p.add_argument("--scenario", choices=["on", "off"], default="on", help="presses, a dark camera, a power cut")
    p.add_argument("--state-dir", default=os.environ.get("EDGE_DEMO_STATE", ".state/demo"), help="store, config, logs")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(handler=_demo)
