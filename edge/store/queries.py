"""The API's reads: every query the status API, the dashboard and /metrics need, in one place.

Handlers in edge/api call these and shape the rows; they hold no SQL of their own. All of them read
(the runtime is the one writer) and go through `Database.query`, which uses the read connection, so
an API answer never waits for a commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.states import AlarmState, DeviceState
from edge.store.db import Database


def device_exists(db: Database, device_id: str) -> bool:
    return bool(db.query("SELECT 1 AS x FROM devices WHERE id = ?", (device_id,)))


def device_names(db: Database) -> dict[str, str]:
    return {d["id"]: d["name"] for d in db.query("SELECT id, name FROM devices")}


def device_state_counts(db: Database) -> dict[tuple[str, DeviceState], int]:
    """(type, state) -> devices; a device with no state row, or one the store does not know, is unknown."""
    out: dict[tuple[str, DeviceState], int] = {}
    rows = db.query(
        "SELECT d.type, s.state, COUNT(*) AS n FROM devices d "
        "LEFT JOIN device_state s ON s.device_id = d.id GROUP BY d.type, s.state"
    )
    for r in rows:
        key = (str(r["type"]), device_state(r["state"]))
        out[key] = out.get(key, 0) + int(r["n"])
    return out


def device_state(value: object) -> DeviceState:
    try:
        return DeviceState(str(value))
    except ValueError:
        return DeviceState.UNKNOWN


def open_alarm_counts(db: Database) -> dict[tuple[str, str], int]:
    """(category, state) -> alarms not yet closed."""
    rows = db.query(
        "SELECT category, state, COUNT(*) AS n FROM alarms WHERE state != ? GROUP BY 1, 2", (AlarmState.CLOSED,)
    )
    return {(str(r["category"]), str(r["state"])): int(r["n"]) for r in rows}


def _marks(n: int) -> str:
    return ",".join("?" * n)


def check_rows(db: Database, device_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each device's latest result per camera check."""
    out: dict[str, list[dict[str, Any]]] = {}
    if device_ids:
        sql = f"SELECT * FROM check_results WHERE device_id IN ({_marks(len(device_ids))})"  # noqa: S608
        for c in db.query(sql, tuple(device_ids)):
            out.setdefault(c["device_id"], []).append(c)
    return out


def snapshot_times(db: Database, device_ids: Sequence[str]) -> dict[str, int]:
    if not device_ids:
        return {}
    sql = f"SELECT device_id, ts_ms FROM snapshots WHERE device_id IN ({_marks(len(device_ids))})"  # noqa: S608
    return {s["device_id"]: int(s["ts_ms"]) for s in db.query(sql, tuple(device_ids))}


def relay_rows(db: Database, event_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Outbox rows of these events, the police (DC-09) row of each event first."""
    if not event_ids:
        return []
    return db.query(
        f"SELECT event_id, transport, state, receiver, acked_ms, attempts FROM outbox "  # noqa: S608
        f"WHERE event_id IN ({_marks(len(event_ids))}) ORDER BY (transport != 'dc09'), seq",
        tuple(event_ids),
    )


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    state: AlarmState | None = None
    category: str | None = None
    device_id: str | None = None
    before: tuple[int, str] | None = None  # (opened_ms, id) of the previous page's last row


def alarm_page(db: Database, f: AlarmFilter, limit: int) -> list[dict[str, Any]]:
    """Newest first, at most `limit` rows (ask for one more to know whether a next page exists)."""
    where: list[str] = ["1=1"]
    params: list[str | int] = []
    for clause, value in (("state = ?", f.state), ("category = ?", f.category), ("device_id = ?", f.device_id)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if f.before is not None:
        where.append("(opened_ms, id) < (?, ?)")
        params.extend(f.before)
    return db.query(
        f"SELECT * FROM alarms WHERE {' AND '.join(where)} ORDER BY opened_ms DESC, id DESC LIMIT ?",  # noqa: S608
        (*params, limit),
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    since_ms: int | None = None
    until_ms: int | None = None
    kinds: tuple[str, ...] = ()
    device_id: str | None = None
    location: str | None = None
    test: bool | None = None
    before_seq: int | None = None


def event_page(db: Database, f: EventFilter, limit: int) -> list[dict[str, Any]]:
    """Newest first by sequence number, at most `limit` rows."""
    where: list[str] = ["1=1"]
    params: list[str | int] = []
    for clause, value in (
        ("e.ts_ms >= ?", f.since_ms),
        ("e.ts_ms < ?", f.until_ms),
        ("e.device_id = ?", f.device_id),
        ("d.location = ?", f.location),
        ("e.test = ?", None if f.test is None else int(f.test)),
        ("e.seq < ?", f.before_seq),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    if f.kinds:
        where.append(f"e.kind IN ({_marks(len(f.kinds))})")
        params.extend(f.kinds)
    return db.query(
        "SELECT e.* FROM events e LEFT JOIN devices d ON d.id = e.device_id "  # noqa: S608 - clauses are ours
        f"WHERE {' AND '.join(where)} ORDER BY e.seq DESC LIMIT ?",
        (*params, limit),
    )


@dataclass(frozen=True, slots=True)
class DayCounts:
    alarms: int
    tests: int
    events: int


def counts_since(db: Database, since_ms: int) -> DayCounts:
    """Real alarms, test alarms and events since `since_ms` (the dashboard's "today")."""
    row = db.query(
        "SELECT (SELECT COUNT(*) FROM alarms WHERE opened_ms >= ? AND test = 0) AS alarms, "
        "(SELECT COUNT(*) FROM alarms WHERE opened_ms >= ? AND test = 1) AS tests, "
        "(SELECT COUNT(*) FROM events WHERE ts_ms >= ?) AS events",
        (since_ms, since_ms, since_ms),
    )[0]
    return DayCounts(int(row["alarms"]), int(row["tests"]), int(row["events"]))


def device_kinds(db: Database) -> dict[str, dict[str, Any]]:
    """Device id -> its name and type, for labelling alarms."""
    return {str(d["id"]): d for d in db.query("SELECT id, name, type FROM devices")}
