"""The `edge` command (DESIGN.md section 3)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from edge import __version__
from edge.commands import backup as backup_cmd
from edge.commands import commission as commission_cmd
from edge.commands import county as county_cmd
from edge.commands import demo as demo_cmd
from edge.commands import patrol as patrol_cmd
from edge.commands import report as report_cmd
from edge.commands import run as run_cmd
from edge.commands import token
from edge.commands import user as user_cmd
from edge.config import ConfigError, load_config

Handler = Callable[[argparse.Namespace], int]


def _check_config(args: argparse.Namespace) -> int:
    try:
        load_config(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    print(f"{args.config}: OK")
    return 0


def _version(args: argparse.Namespace) -> int:
    print(f"edge {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge", description="Campus edge monitor / 校园边缘监测")
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd.register(sub)
    report_cmd.register(sub)
    p = sub.add_parser("check-config", help="validate a config file")
    p.add_argument("-c", "--config", required=True)
    p.set_defaults(handler=_check_config)
    p = sub.add_parser("version", help="print the version")
    p.set_defaults(handler=_version)
    token.register(sub)
    user_cmd.register(sub)
    demo_cmd.register(sub)
    commission_cmd.register(sub)
    patrol_cmd.register(sub)
    backup_cmd.register(sub)
    county_cmd.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
