"""`edge run -c FILE`: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from edge.config import ConfigError, load_config
from edge.footprint import leave_out_unused_modules, limit_malloc_arenas, pin_mmap_threshold
from edge.redact import install_log_redaction
from edge.store import StoreError
from edge.store.lock import StoreLock, StoreLocked


def setup_logging(level: str) -> None:
    # Under systemd, journald stamps time and unit; elsewhere we add the time ourselves.
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if os.environ.get("JOURNAL_STREAM")
        else ("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format=fmt, stream=sys.stderr)
    # Third-party loggers (httpx's request lines, uvicorn's access log) write URLs with ?token= and
    # passwords in them; every record is redacted before any handler sees it.
    install_log_redaction()


def _run(args: argparse.Namespace) -> int:
    leave_out_unused_modules()
    pin_mmap_threshold()
    limit_malloc_arenas()
    from edge.daemon import Daemon  # noqa: PLC0415 - late: `edge check-config` stays light

    setup_logging(args.log_level)
    path = Path(args.config)
    try:
        config = load_config(path)
        # Before the store opens: a second daemon, or one started during `edge restore`, stops here.
        lock = StoreLock(config.storage.path, "edge run")
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    except StoreLocked as exc:
        print(f"edge: the store is in use by {exc.holder} ({exc.path})", file=sys.stderr)
        return 1
    with lock:
        try:
            daemon = Daemon(path, config)
        except StoreError as exc:
            print(f"edge: {exc}", file=sys.stderr)
            return 1
        return asyncio.run(daemon.run())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the daemon / 运行守护进程")
    p.add_argument("-c", "--config", required=True, help="YAML config file")
    p.add_argument(
        "--log-level", default=os.environ.get("EDGE_LOG_LEVEL", "info"), choices=["debug", "info", "warning", "error"]
    )
    p.set_defaults(handler=_run)
