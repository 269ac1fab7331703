"""Check results, camera snapshots and the audit trail."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.events import now_ms
from edge.store.db import Database


def put_check(
    conn: sqlite3.Connection, device_id: str, check: str, verdict: str, result: dict[str, Any], ts_ms: int
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO check_results (device_id, check_name, ts_ms, verdict, result) VALUES (?,?,?,?,?)",
        (device_id, check, ts_ms, verdict, json.dumps(result, ensure_ascii=False, default=str)),
    )


def checks_for(db: Database, device_id: str) -> dict[str, dict[str, Any]]:
    rows = db.query("SELECT * FROM check_results WHERE device_id = ?", (device_id,))
    return {r["check_name"]: {"verdict": r["verdict"], "ts_ms": r["ts_ms"], **json.loads(r["result"])} for r in rows}


def put_snapshot(db: Database, device_id: str, jpeg: bytes, ts_ms: int) -> None:
    with db.tx() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO snapshots (device_id, ts_ms, jpeg) VALUES (?,?,?)", (device_id, ts_ms, jpeg)
        )


def get_snapshot(db: Database, device_id: str) -> tuple[bytes, int] | None:
    rows = db.query("SELECT jpeg, ts_ms FROM snapshots WHERE device_id = ?", (device_id,))
    return (bytes(rows[0]["jpeg"]), int(rows[0]["ts_ms"])) if rows else None


def audit(conn: sqlite3.Connection, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO audit (ts_ms, actor, action, target, detail) VALUES (?,?,?,?,?)",
        (now_ms(), actor, action, target, json.dumps(detail, ensure_ascii=False)),
    )


def get_meta(db: Database, key: str) -> str | None:
    rows = db.query("SELECT value FROM meta WHERE key = ?", (key,))
    return str(rows[0]["value"]) if rows else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
