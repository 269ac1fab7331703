"""`edge user add|list|passwd|disable|enable -c FILE`: people's accounts (hashes only) in api.users_file,
or, with a county config (`edge county -c FILE`), in the county's PostgreSQL."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edge.api.hashfile import person_name
from edge.api.tokens import Role
from edge.api.users import User, UserFileError, add_user, check_password_rules, list_users, set_disabled, set_password
from edge.config import ConfigError, load_config


class Accounts(Protocol):
    """Where the accounts are: a gateway's users file, or a county's database."""

    def add(self, name: str, role: Role, password: str) -> None: ...
    def passwd(self, name: str, password: str) -> None: ...
    def set_disabled(self, name: str, disabled: bool) -> None: ...
    def accounts(self) -> list[User]: ...


@dataclass(frozen=True)
class UsersFile:
    path: Path

    def add(self, name: str, role: Role, password: str) -> None:
        add_user(self.path, name, role, password)

    def passwd(self, name: str, password: str) -> None:
        set_password(self.path, name, password)

    def set_disabled(self, name: str, disabled: bool) -> None:
        set_disabled(self.path, name, disabled)

    def accounts(self) -> list[User]:
        return list_users(self.path)


def _accounts(config: str) -> Accounts | None:
    """The gateway's users file, or, for a county config (`edge county`), the county database."""
    try:
        path = load_config(config).api.users_path
    except ConfigError as exc:
        try:
            from edge.county.config import load_county_config  # noqa: PLC0415 - only for county configs

            county = load_county_config(Path(config))
        except ConfigError:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            return None
        from edge.county.users import People  # noqa: PLC0415 - psycopg: the county extra only

        return People(county.database, migrate_first=True)
    if path is None:
        print(f"{config}: set api.users_file (or api.tokens_file) first / 请先配置 api.users_file", file=sys.stderr)
        return None
    return UsersFile(path)


def _password(args: argparse.Namespace) -> str:
    """From stdin with --password-stdin (scripts), else asked twice without echo."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码 / password: ")
    check_password_rules(first)
    if getpass.getpass("再输入一次 / again: ") != first:
        raise ValueError("the two passwords differ / 两次输入的密码不一致")
    return first


def _run(args: argparse.Namespace, action: str) -> int:
    try:
        accounts = _accounts(args.config)
    except Exception as exc:  # noqa: BLE001 - the county database refused us: say why
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if accounts is None:
        return 2
    try:
        if action == "add":
            accounts.add(args.name, Role.parse(args.role), _password(args))
            print(f"已添加用户 {args.name}（{args.role}）/ user added")
        elif action == "passwd":
            accounts.passwd(args.name, _password(args))
            print(f"已修改 {args.name} 的密码 / password changed")
        elif action in ("disable", "enable"):
            accounts.set_disabled(args.name, action == "disable")
            done = "已停用 / disabled (logged out at the next request)" if action == "disable" else "已启用 / enabled"
            print(f"{args.name}: {done}")
        else:
            for u in accounts.accounts():
                print(f"{u.name}\t{u.role.label}\t{'disabled' if u.disabled else 'active'}\t{u.created}")
    except (ValueError, UserFileError, OSError, EOFError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a database error (psycopg is not imported here): say it
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        close = getattr(accounts, "close", None)
        if close is not None:
            close()
    return 0


def _name(value: str) -> str:
    try:
        return person_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = subparsers.add_parser("user", help="people's accounts / 用户账号")
    sub = user.add_subparsers(dest="user_command", required=True)
    for action, helptext in (
        ("add", "add a person (asks for the password)"),
        ("passwd", "set a new password"),
        ("disable", "stop a person logging in (ends their sessions)"),
        ("enable", "allow a disabled person again"),
        ("list", "names, roles, state"),
    ):
        p = sub.add_parser(action, help=helptext)
        if action != "list":
            p.add_argument("--name", required=True, type=_name)
        if action == "add":
            p.add_argument("--role", required=True, choices=[r.label for r in Role])
        if action in ("add", "passwd"):
            p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        p.add_argument("-c", "--config", required=True)
        p.set_defaults(handler=lambda a, act=action: _run(a, act))
