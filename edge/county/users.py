"""The bureau's people in PostgreSQL: accounts (`edge county user`, salted scrypt hashes only, the
gateway's own hashing from edge.api.users) and their login sessions (by SHA-256 of the cookie).

Accounts and sessions are in the database, not in one instance's memory, so every county instance
behind the load balancer knows a login made on any other, and disabling a person ends their sessions
on all of them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from edge.api.tokens import Role
from edge.api.users import AccountCache, User, new_credentials
from edge.county.store import migrate

log = logging.getLogger(__name__)

# How stale an instance's copy of the accounts may be: a person disabled on one instance (or by the
# CLI) cannot use a session anywhere a second later.
ACCOUNTS_MAX_AGE_S = 1.0


class People:
    """The users and sessions tables, on a connection of their own (the ingest's batches never wait)."""

    def __init__(self, dsn: str, *, migrate_first: bool = False) -> None:
        self.dsn = dsn
        if migrate_first:  # the CLI may run before any `edge county` has created the tables
            with psycopg.connect(dsn, autocommit=True) as conn:
                migrate(conn)
        self._conn: psycopg.Connection[dict[str, Any]] | None = None  # opened at first use
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def _run(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed or self._conn.broken:
                    if self._conn is not None:
                        log.warning("county people: reconnecting to the database")
                    self._conn = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)
                try:
                    cur = self._conn.execute(sql.encode(), params)  # our own constant text
                    return list(cur.fetchall()) if cur.description else [{"rowcount": cur.rowcount}]
                except psycopg.OperationalError:
                    if attempt == 2 or not self._conn.broken:
                        raise
        raise AssertionError("unreachable")  # the loop returns or raises

    # --- accounts (the CLI) -----------------------------------------------------------------------
    def add(self, name: str, role: Role, password: str, cost: int | None = None) -> None:
        c = new_credentials(password, cost) if cost else new_credentials(password)
        rows = self._run(
            "INSERT INTO users (name, role, algorithm, n, salt, hash) VALUES (%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT (name) DO NOTHING",
            (name, role.label, c["algorithm"], c["n"], c["salt"], c["hash"]),
        )
        if rows[0]["rowcount"] != 1:
            raise ValueError(f"a user named {name!r} already exists / 用户已存在")

    def _change(self, name: str, sql: str, params: tuple[Any, ...]) -> None:
        rows = self._run(f"UPDATE users SET {sql}, changed = now() WHERE name = %s", (*params, name))  # noqa: S608
        if rows[0]["rowcount"] != 1:
            raise ValueError(f"no user named {name!r} / 没有这个用户")

    def passwd(self, name: str, password: str, cost: int | None = None) -> None:
        c = new_credentials(password, cost) if cost else new_credentials(password)
        self._change(
            name, "algorithm = %s, n = %s, salt = %s, hash = %s", (c["algorithm"], c["n"], c["salt"], c["hash"])
        )

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._change(name, "disabled = %s", (disabled,))
        if disabled:
            self._run("DELETE FROM sessions WHERE username = %s", (name,))

    def accounts(self) -> list[User]:
        rows = self._run("SELECT name, role, disabled, created FROM users ORDER BY name")
        return [
            User(r["name"], Role.parse(r["role"]), bool(r["disabled"]), r["created"].strftime("%Y-%m-%dT%H:%M:%SZ"))
            for r in rows
        ]

    def entries(self) -> list[dict[str, Any]]:
        return self._run("SELECT name, role, algorithm, n, salt, hash, disabled FROM users")

    # --- sessions (the API) -----------------------------------------------------------------------
    def put_session(self, row: dict[str, Any]) -> None:
        self._run(
            "INSERT INTO sessions (id_hash, username, kiosk, csrf, created_ms, last_ms, source) "
            "VALUES (%(id_hash)s, %(username)s, %(kiosk)s, %(csrf)s, %(created_ms)s, %(last_ms)s, %(source)s)",
            {**row, "kiosk": bool(row["kiosk"])},
        )

    def get_session(self, id_hash: str) -> dict[str, Any] | None:
        rows = self._run(
            "SELECT id_hash, username, kiosk, csrf, created_ms, last_ms, source FROM sessions WHERE id_hash = %s",
            (id_hash,),
        )
        return rows[0] if rows else None

    def delete_session(self, id_hash: str) -> None:
        self._run("DELETE FROM sessions WHERE id_hash = %s", (id_hash,))

    def touch_sessions(self, last: dict[str, int]) -> None:
        for h, at in last.items():
            self._run("UPDATE sessions SET last_ms = GREATEST(last_ms, %s) WHERE id_hash = %s", (at, h))

    def expire_sessions(self, now_ms: int, idle_ms: int, kiosk_ms: int) -> int:
        rows = self._run(
            "DELETE FROM sessions WHERE last_ms < %s - CASE WHEN kiosk THEN %s ELSE %s END", (now_ms, kiosk_ms, idle_ms)
        )
        return int(rows[0]["rowcount"])


class PgAccounts(AccountCache):
    """edge.api.login.Accounts over the users table: a copy at most ACCOUNTS_MAX_AGE_S old, re-read
    off the loop by the login code (`stale` → `refresh`)."""

    where = "the county users table"

    def __init__(self, people: People) -> None:
        super().__init__()
        self.people = people
        self._read_at: float | None = None

    def stale(self) -> bool:
        return self._read_at is None or time.monotonic() - self._read_at > ACCOUNTS_MAX_AGE_S

    def refresh(self) -> None:
        try:
            entries = self.people.entries()
        except psycopg.Error as exc:  # the database is away: keep the last copy, say so
            log.error("county: cannot read the accounts: %s", exc)
            return
        self._replace(entries)
        self._read_at = time.monotonic()
