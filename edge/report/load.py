"""Read the rows one day's report needs from the SQLite store, opened read-only.

The report must never write to a live store (no migration, no WAL checkpoint), so it does not use
`Database`, which migrates on open; it opens the file with SQLite's `mode=ro`.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from edge.report.model import ReportInput
from edge.store import StoreError

# A link timeline = the relay.link events for one (device, receiver); `up`/`down` classify them. The
# lookback keeps, per key, the last state before the day and, when that is "down", the first "down"
# after the last "up": an outage that began days ago then shows its true start.
_LINK = (
    "'relay.link'",
    "device_id || '|' || COALESCE(json_extract(payload, '$.receiver'), '')",
    "json_extract(payload, '$.state') = 'up'",
    "json_extract(payload, '$.state') = 'down'",
)
log = logging.getLogger(__name__)

_EVENT_COLS = "seq, id, ts_ms, site, device_id, kind, payload, test"


def _lookback_sql(kinds: str, group: str, up: str, down: str) -> str:
    return f"""
    WITH s AS (
        SELECT {_EVENT_COLS}, {group} AS g, CASE WHEN {up} THEN 1 WHEN {down} THEN 0 END AS is_up
        FROM events WHERE kind IN ({kinds}) AND ts_ms < :start),
    last_up AS (SELECT g, MAX(ts_ms) AS t FROM s WHERE is_up = 1 GROUP BY g),
    cand AS (
        SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.g ORDER BY ts_ms, seq) AS rn_first,
               ROW_NUMBER() OVER (PARTITION BY s.g ORDER BY ts_ms DESC, seq DESC) AS rn_last
        FROM s LEFT JOIN last_up ON last_up.g = s.g
        WHERE s.is_up IS NOT NULL AND s.ts_ms >= COALESCE(last_up.t, -1))
    SELECT {_EVENT_COLS} FROM cand WHERE rn_first <= 2 OR rn_last = 1
    """  # noqa: S608 - every fragment is a constant of this module


def _state_lookback(conn: sqlite3.Connection, device_id: str, start_ms: int) -> list[dict[str, Any]]:
    """One device's last online/offline event before the day, and the start of an outage still open then.

    Per device on the (device_id, ts_ms) index: a scan back from the day's start stops at the device's
    last state event, so the cost does not grow with the store's history.
    """
    base = f"SELECT {_EVENT_COLS} FROM events WHERE device_id = :d AND ts_ms < :start AND "  # noqa: S608
    p = {"d": device_id, "start": start_ms}
    last = _rows(conn, base + "kind IN ('device.online', 'device.offline') ORDER BY ts_ms DESC, seq DESC LIMIT 1", p)
    if not last or last[0]["kind"] != "device.offline":
        return last
    up = _rows(conn, base + "kind = 'device.online' ORDER BY ts_ms DESC, seq DESC LIMIT 1", p)
    first = _rows(
        conn,
        base + "kind = 'device.offline' AND ts_ms > :up ORDER BY ts_ms, seq LIMIT 1",
        {**p, "up": up[0]["ts_ms"] if up else -1},
    )
    return first + last


def _rows(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    cols = [c[0] for c in cur.description or ()]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def _connect(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True)
    try:
        conn.execute("SELECT seq FROM events LIMIT 1")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def open_readonly(path: Path) -> sqlite3.Connection:
    """Read-only. A WAL database needs its -shm file: a user who may not create it in the store's folder
    (an inspector reading a copy, or a non-root account) can still read a store with no pending WAL as
    immutable, which is consistent because nothing is left outside the main file."""
    if not path.is_file():
        raise StoreError(f"no store at {path}")
    base = path.resolve().as_uri()
    try:
        return _connect(f"{base}?mode=ro")
    except sqlite3.Error as exc:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(f"cannot read store {path}: {exc}") from exc
        log.info("store %s: read-only open failed (%s); reading it as immutable", path, exc)
    try:
        return _connect(f"{base}?mode=ro&immutable=1")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read store {path}: {exc}") from exc


def read_rows(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> dict[str, list[dict[str, Any]]]:
    """The day's rows: devices, events (with lookback), device changes (with lookback) and alarms."""
    p = {"start": start_ms, "end": end_ms}
    events = _rows(conn, f"SELECT {_EVENT_COLS} FROM events WHERE ts_ms >= :start AND ts_ms < :end", p)  # noqa: S608
    devices = _rows(conn, "SELECT id, type, name, location, zone, tags FROM devices ORDER BY id", p)
    for dev in devices:
        events += _state_lookback(conn, dev["id"], start_ms)
    events += _rows(conn, _lookback_sql(*_LINK), p)
    changes = _rows(
        conn,
        "SELECT seq, ts_ms, ref, data FROM changes WHERE type = 'device' AND ts_ms < :end AND "
        "(ts_ms >= :start OR seq IN (SELECT MAX(seq) FROM changes WHERE type = 'device' AND ts_ms < :start "
        "AND json_extract(data, '$.state') IS NOT NULL GROUP BY ref)) ORDER BY seq",
        p,
    )
    deliveries = _rows(
        conn,
        "SELECT event_id, transport, state, acked_ms, receiver FROM outbox WHERE event_id IN "
        "(SELECT event_id FROM alarms WHERE opened_ms >= :start AND opened_ms < :end) OR event_id IN "
        "(SELECT id FROM events WHERE test = 1 AND ts_ms >= :start AND ts_ms < :end) "
        "ORDER BY (transport != 'dc09'), seq",
        p,
    )
    return {
        "deliveries": deliveries,
        "devices": devices,
        "events": events,
        "device_changes": changes,
        "alarms": _rows(conn, "SELECT * FROM alarms WHERE opened_ms >= :start AND opened_ms < :end", p),
    }


def _first_per_event(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The police (DC-09) row of each event when it has one, else its first other transport's."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out.setdefault(str(r["event_id"]), r)
    return out


def load(
    path: Path,
    start_ms: int,
    end_ms: int,
    *,
    key_areas: frozenset[str] = frozenset(),
    site_id: str = "",
    site_name: str = "",
    retention_days: int = 30,
    key_area_retention_days: int = 90,
) -> ReportInput:
    conn = open_readonly(path)
    try:
        rows = read_rows(conn, start_ms, end_ms)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read store {path}: {exc}") from exc
    finally:
        conn.close()
    return ReportInput(
        devices=rows["devices"],
        events=rows["events"],
        device_changes=rows["device_changes"],
        alarms=rows["alarms"],
        deliveries=_first_per_event(rows["deliveries"]),
        key_areas=key_areas,
        site_id=site_id,
        site_name=site_name,
        retention_days=retention_days,
        key_area_retention_days=key_area_retention_days,
    )
