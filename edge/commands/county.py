"""`edge county -c county.yaml`: the county platform (DESIGN.md section 10)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from edge.commands.run import setup_logging
from edge.config import ConfigError
from edge.footprint import limit_malloc_arenas, pin_mmap_threshold


def _county(args: argparse.Namespace) -> int:
    # Late imports: psycopg is needed by this command only (`pip install campus-edge[county]`).
    from edge.county.config import load_county_config  # noqa: PLC0415

    pin_mmap_threshold()  # its logins are scrypt too (edge/footprint.py)
    limit_malloc_arenas()
    setup_logging(args.log_level)
    try:
        cfg = load_county_config(Path(args.config))
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    try:
        from edge.county.service import CountyService  # noqa: PLC0415

        service = CountyService(cfg)
    except ImportError as exc:
        print(f"edge county: {exc}; install the county extra: pip install 'campus-edge[county]'", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the database refused us: say why and stop
        print(f"edge county: cannot open {cfg.database.split('@')[-1]}: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(service.run())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("county", help="run the county platform / 运行区县教育局平台")
    p.add_argument("-c", "--config", required=True, help="county YAML config file")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(handler=_county)
