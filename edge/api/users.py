"""Local user accounts for people (guards, operators, technicians, admins): a YAML file of names,
roles and salted scrypt hashes of their passwords. The password itself is never stored.

Machines keep API tokens (edge.api.tokens); people log in with a name and a password and get a
session (edge.api.sessions). The file is re-read when it changes, so `edge user disable` ends a
person's access at their next request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.api.hashfile import load_list, save_list
from edge.api.tokens import MAX_N, MIN_N, Role

log = logging.getLogger(__name__)

# Passwords are far weaker than 256-bit tokens, so their hash costs more: n=2**15 (32 MiB, ~80 ms on
# a small gateway) per login. Sessions mean a person pays it once per login, not per request.
PASSWORD_N = 2**15
SALT_BYTES = 16
MIN_PASSWORD = 8
MAX_PASSWORD = 256
DUMMY_SALT = bytes(SALT_BYTES)


class UserFileError(Exception):
    """The users file exists but cannot be read or parsed."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    disabled: bool
    created: str


def hash_password(password: str, salt: bytes, n: int = PASSWORD_N) -> bytes:
    if not MIN_N <= n <= MAX_N or n & (n - 1):
        raise ValueError(f"scrypt cost n={n} is not a power of two in [{MIN_N}, {MAX_N}]")
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, maxmem=256 * 1024 * 1024)


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(
            f"a password has {MIN_PASSWORD}-{MAX_PASSWORD} characters / 密码长度须为 {MIN_PASSWORD}-{MAX_PASSWORD} 位"
        )
    if not password.isprintable():
        raise ValueError("a password is printable text / 密码须为可打印字符")


def load_users(path: Path) -> list[dict[str, Any]]:
    return load_list(path, "users", UserFileError)


def save_users(path: Path, entries: list[dict[str, Any]]) -> None:
    header = "edge user accounts: names, roles and salted password hashes only. Manage with `edge user`."
    save_list(path, "users", entries, header)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_credentials(password: str, cost: int = PASSWORD_N) -> dict[str, Any]:
    check_password_rules(password)
    salt = secrets.token_bytes(SALT_BYTES)
    return {"algorithm": "scrypt", "n": cost, "salt": salt.hex(), "hash": hash_password(password, salt, cost).hex()}


def add_user(path: Path, name: str, role: Role, password: str, cost: int = PASSWORD_N) -> None:
    entries = load_users(path)
    if any(e.get("name") == name for e in entries):
        raise ValueError(f"a user named {name!r} already exists / 用户已存在")
    entries.append(
        {"name": name, "role": role.label, **new_credentials(password, cost), "disabled": False, "created": _now()}
    )
    save_users(path, entries)


def _change(path: Path, name: str, update: dict[str, Any]) -> None:
    entries = load_users(path)
    for e in entries:
        if e.get("name") == name:
            e.update(update, changed=_now())
            save_users(path, entries)
            return
    raise ValueError(f"no user named {name!r} / 没有这个用户")


def set_password(path: Path, name: str, password: str, cost: int = PASSWORD_N) -> None:
    _change(path, name, new_credentials(password, cost))


def set_disabled(path: Path, name: str, disabled: bool) -> None:
    _change(path, name, {"disabled": disabled})


def list_users(path: Path) -> list[User]:
    out = []
    for e in load_users(path):
        try:
            out.append(
                User(str(e["name"]), Role.parse(str(e["role"])), bool(e.get("disabled")), str(e.get("created", "")))
            )
        except (KeyError, ValueError):
            log.error("api: user entry %r in %s is malformed; ignored", e.get("name"), path)
    return out


class AccountCache(ABC):
    """A service's copy of its accounts by name, kept fresh by the subclass (`stale`, `refresh`):
    the checks edge.api.login makes (`active` on every session request, `verify` at a login)."""

    where = "the accounts"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, dict[str, Any]] = {}
        self._dummy_n = PASSWORD_N

    @abstractmethod
    def stale(self) -> bool:
        """Whether the copy is older than the source (each store knows its own source)."""

    @abstractmethod
    def refresh(self) -> None:
        """Read the source again (blocking: called off the loop)."""

    def _replace(self, entries: list[dict[str, Any]]) -> None:
        by_name = {str(e.get("name")): e for e in entries}
        with self._lock:
            self._by_name, self._dummy_n = by_name, dummy_cost(entries)

    def active(self, name: str) -> Role | None:
        """The role of an enabled user (None: unknown or disabled): checked on every session request."""
        with self._lock:
            entry = self._by_name.get(name)
        if entry is None or entry.get("disabled"):
            return None
        try:
            return Role.parse(str(entry.get("role")))
        except ValueError:
            return None

    def verify(self, name: str, password: str) -> Role | None:
        """One scrypt whether or not the user exists, so timing says nothing about which names do.
        Blocking: the login code runs it on the hash pool."""
        self.refresh()
        with self._lock:
            entry = self._by_name.get(name)
            dummy_n = self._dummy_n
        return self.active(name) if password_matches(entry, password, dummy_n, self.where) else None


class UserStore(AccountCache):
    """The users file, re-read when it changes."""

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        self.where = str(path)
        self._stamp: tuple[int, int, int] | None = None
        self._loaded = False

    def _stat(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def stale(self) -> bool:
        return self.path is not None and (not self._loaded or self._stat() != self._stamp)

    def refresh(self) -> None:
        stamp = self._stat()
        if self._loaded and stamp == self._stamp:
            return
        try:
            entries = load_users(self.path) if self.path is not None else []
        except UserFileError as exc:
            log.error("api: %s; nobody can log in until it is fixed", exc)
            entries = []
        self._replace(entries)
        self._stamp, self._loaded = stamp, True


def dummy_cost(entries: list[dict[str, Any]]) -> int:
    """The accounts' usual scrypt cost: what a check for an unknown name pays, so it answers as slowly."""
    costs = sorted(int(e["n"]) for e in entries if isinstance(e.get("n"), int) and MIN_N <= e["n"] <= MAX_N)
    return costs[len(costs) // 2] if costs else PASSWORD_N


def password_matches(entry: dict[str, Any] | None, password: str, dummy_n: int, where: str) -> bool:
    """`password` against an account's stored hash; an unknown, disabled or malformed account costs the
    same one scrypt and never matches."""
    if entry is None or entry.get("disabled") or len(password) > MAX_PASSWORD:
        hash_password(password[:MAX_PASSWORD], DUMMY_SALT, dummy_n)  # as dear as a wrong password
        return False
    try:
        salt, expected = bytes.fromhex(str(entry["salt"])), bytes.fromhex(str(entry["hash"]))
        actual = hash_password(password, salt, int(entry.get("n", PASSWORD_N)))
    except (KeyError, ValueError, TypeError):
        log.error("api: user %r in %s is malformed; ignored", entry.get("name"), where)
        hash_password(password, DUMMY_SALT, dummy_n)
        return False
    return hmac.compare_digest(actual, expected)
