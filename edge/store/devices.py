"""The device registry (from config) and each device's current state."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.events import now_ms
from edge.store.db import Database


def sync_devices(db: Database, devices: list[dict[str, Any]]) -> None:
    """Make the registry match the config: upsert the given devices, drop the rest."""
    ts = now_ms()
    with db.tx() as conn:
        keep = [d["id"] for d in devices]
        conn.execute(f"DELETE FROM devices WHERE id NOT IN ({','.join('?' * len(keep))})", keep)  # noqa: S608
        for d in devices:
            conn.execute(
                "INSERT INTO devices (id, type, name, location, zone, tags, updated_ms) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET type=excluded.type, name=excluded.name, "
                "location=excluded.location, zone=excluded.zone, tags=excluded.tags, updated_ms=excluded.updated_ms",
                (
                    d["id"],
                    d["type"],
                    d["name"],
                    d.get("location", ""),
                    d.get("zone"),
                    json.dumps(d.get("tags", []), ensure_ascii=False),
                    ts,
                ),
            )
            conn.execute(
                "INSERT OR IGNORE INTO device_state (device_id, state, since_ms) VALUES (?, 'unknown', ?)",
                (d["id"], ts),
            )


def set_state(
    conn: sqlite3.Connection,
    device_id: str,
    state: str,
    reasons: list[str],
    since_ms: int,
    last_seen_ms: int | None = None,
    maintenance_until_ms: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO device_state (device_id, state, reasons, since_ms, last_seen_ms, maintenance_until_ms, detail) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET state=excluded.state, "
        "reasons=excluded.reasons, since_ms=excluded.since_ms, "
        "last_seen_ms=COALESCE(excluded.last_seen_ms, device_state.last_seen_ms), "
        "maintenance_until_ms=excluded.maintenance_until_ms, detail=excluded.detail",
        (
            device_id,
            state,
            json.dumps(reasons),
            since_ms,
            last_seen_ms,
            maintenance_until_ms,
            json.dumps(detail or {}, ensure_ascii=False),
        ),
    )


def touch(conn: sqlite3.Connection, device_id: str, seen_ms: int) -> None:
    conn.execute(
        "UPDATE device_state SET last_seen_ms = MAX(COALESCE(last_seen_ms, 0), ?) WHERE device_id = ?",
        (seen_ms, device_id),
    )


def devices_with_state(db: Database, device_id: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT d.*, s.state, s.reasons, s.since_ms, s.last_seen_ms, s.maintenance_until_ms, s.detail "
        "FROM devices d LEFT JOIN device_state s ON s.device_id = d.id"
    )
    if device_id is not None:
        return db.query(sql + " WHERE d.id = ?", (device_id,))
    return db.query(sql + " ORDER BY d.type, d.location, d.id")


def device_ids(db: Database) -> set[str]:
    return {str(r["id"]) for r in db.query("SELECT id FROM devices")}
