"""The `edge` command (DESIGN.md section 3)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from edge import __version__
from edge.config import ConfigError, load_config

Handler = Callable[[argparse.Namespace], int]

# Each top-level command and the module in edge/commands/ that registers it, in help order ("" = the
# built-ins below). A known command imports only its own module: `edge run` (the alarm core) does not
# carry the report renderer, the patrol QR sheet (segno) or the commissioning tools in its memory.
COMMANDS: dict[str, str] = {
    "run": "run",
    "report": "report",
    "check-config": "",
    "version": "",
    "token": "token",
    "user": "user",
    "demo": "demo",
    "commission": "commission",
    "patrol": "patrol",
    "backup": "backup",
    "restore": "backup",
    "county": "county",
}


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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser, or only `command`'s when it is a known one."""
    parser = argparse.ArgumentParser(prog="edge", description="Campus edge monitor / 校园边缘监测")
    sub = parser.add_subparsers(dest="command", required=True)
    wanted = COMMANDS.get(command) if command else None
    registered: set[str] = set()
    for module in COMMANDS.values():
        if module in registered or (wanted is not None and module != wanted):
            continue
        registered.add(module)
        if module:
            importlib.import_module(f"edge.commands.{module}").register(sub)
            continue
        p = sub.add_parser("check-config", help="validate a config file")
        p.add_argument("-c", "--config", required=True)
        p.set_defaults(handler=_check_config)
        p = sub.add_parser("version", help="print the version")
        p.set_defaults(handler=_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
