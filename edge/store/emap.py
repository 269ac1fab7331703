"""floorplans and map_positions: written through the runtime's writer, read by the API."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.store.db import Database


def put_floorplan(
    conn: sqlite3.Connection,
    plan_id: str,
    name: str,
    building: str,
    floor: str,
    image: tuple[bytes, str, int, int],
    sort: int,
    now: int,
) -> None:
    data, content_type, width, height = image
    conn.execute(
        "INSERT INTO floorplans (id, name, building, floor, image, content_type, width, height, sort, updated_ms) "
        "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "building = excluded.building, floor = excluded.floor, image = excluded.image, "
        "content_type = excluded.content_type, width = excluded.width, height = excluded.height, "
        "sort = excluded.sort, updated_ms = excluded.updated_ms",
        (plan_id, name, building, floor, data, content_type, width, height, sort, now),
    )


def delete_floorplan(conn: sqlite3.Connection, plan_id: str) -> bool:
    conn.execute("DELETE FROM map_positions WHERE plan_id = ?", (plan_id,))
    return conn.execute("DELETE FROM floorplans WHERE id = ?", (plan_id,)).rowcount > 0


def put_positions(
    conn: sqlite3.Connection, plan_id: str, positions: dict[str, tuple[float, float] | None], now: int
) -> None:
    """Place devices on `plan_id` (moving them off any other plan); None takes one off the map."""
    for device_id, xy in positions.items():
        if xy is None:
            conn.execute("DELETE FROM map_positions WHERE device_id = ? AND plan_id = ?", (device_id, plan_id))
            continue
        conn.execute(
            "INSERT OR REPLACE INTO map_positions (device_id, plan_id, x, y, updated_ms) VALUES (?,?,?,?,?)",
            (device_id, plan_id, xy[0], xy[1], now),
        )


def floorplans(db: Database) -> list[dict[str, Any]]:
    plans = db.query(
        "SELECT id, name, building, floor, content_type, width, height, sort, updated_ms FROM floorplans "
        "ORDER BY sort, building, floor, name"
    )
    positions = db.query("SELECT device_id, plan_id, x, y FROM map_positions ORDER BY device_id")
    for plan in plans:
        plan["positions"] = {
            p["device_id"]: {"x": p["x"], "y": p["y"]} for p in positions if p["plan_id"] == plan["id"]
        }
    return plans


def floorplan_exists(db: Database, plan_id: str) -> bool:
    return bool(db.query("SELECT 1 AS x FROM floorplans WHERE id = ?", (plan_id,)))


def floorplan_image(db: Database, plan_id: str) -> tuple[bytes, str, int] | None:
    rows = db.query("SELECT image, content_type, updated_ms FROM floorplans WHERE id = ?", (plan_id,))
    return (bytes(rows[0]["image"]), str(rows[0]["content_type"]), int(rows[0]["updated_ms"])) if rows else None
