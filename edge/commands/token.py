"""`edge token create|list|revoke -c FILE`: API tokens in api.tokens_file (hashes only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.api.hashfile import person_name
from edge.api.tokens import Role, TokenFileError, create_token, load_entries, revoke_token
from edge.config import Api, ConfigError, load_config


def _api(path: str) -> Api:
    """The `api` section of a gateway config, or of a county config (`edge county`) when it is one."""
    try:
        return load_config(path).api
    except ConfigError as exc:
        from edge.county.config import load_county_config  # noqa: PLC0415 - only for county configs

        try:
            return load_county_config(Path(path)).api
        except ConfigError:
            raise exc from None


def _tokens_file(args: argparse.Namespace) -> Path | None:
    try:
        api = _api(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return None
    if api.tokens_file is None:
        print(f"{args.config}: api.tokens_file is not set; add it to the config first", file=sys.stderr)
        return None
    return api.tokens_file


def _create(args: argparse.Namespace) -> int:
    path = _tokens_file(args)
    if path is None:
        return 2
    try:
        token = create_token(path, args.name, Role.parse(args.role))
    except (ValueError, TokenFileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(token)
    print(
        f"令牌只显示这一次，请妥善保存 / shown once only: store it now. ({args.name}, {args.role}, {path})",
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    path = _tokens_file(args)
    if path is None:
        return 2
    try:
        entries = load_entries(path)
    except TokenFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for e in entries:
        print(f"{e.get('name')}\t{e.get('role')}\t{e.get('created', '')}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    path = _tokens_file(args)
    if path is None:
        return 2
    try:
        removed = revoke_token(path, args.name)
    except (TokenFileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not removed:
        print(f"error: no token named {args.name!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.name}")
    return 0


def _name(value: str) -> str:
    try:
        return person_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = subparsers.add_parser("token", help="manage API tokens / 管理访问令牌")
    sub = token.add_subparsers(dest="token_command", required=True)
    p = sub.add_parser("create", help="create a token and print it once")
    p.add_argument("--name", required=True, type=_name, help="who uses it; recorded in the audit trail")
    p.add_argument("--role", required=True, choices=[r.label for r in Role])
    p.add_argument("-c", "--config", required=True)
    p.set_defaults(handler=_create)
    p = sub.add_parser("list", help="list token names and roles")
    p.add_argument("-c", "--config", required=True)
    p.set_defaults(handler=_list)
    p = sub.add_parser("revoke", help="delete a token by name")
    p.add_argument("--name", required=True)
    p.add_argument("-c", "--config", required=True)
    p.set_defaults(handler=_revoke)
