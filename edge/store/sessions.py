"""The sessions table: logins that survive a daemon restart. Only a hash of the session id is kept."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.store.db import Database


def put_session(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sessions (id_hash, username, kiosk, csrf, created_ms, last_ms, source) "
        "VALUES (:id_hash, :username, :kiosk, :csrf, :created_ms, :last_ms, :source)",
        row,
    )


def touch_sessions(conn: sqlite3.Connection, last: dict[str, int]) -> None:
    conn.executemany("UPDATE sessions SET last_ms = ? WHERE id_hash = ?", [(ms, h) for h, ms in last.items()])


def delete_sessions(conn: sqlite3.Connection, id_hashes: list[str]) -> None:
    conn.executemany("DELETE FROM sessions WHERE id_hash = ?", [(h,) for h in id_hashes])


def load_sessions(db: Database) -> list[dict[str, Any]]:
    return db.query("SELECT id_hash, username, kiosk, csrf, created_ms, last_ms, source FROM sessions")
