"""The durable outbox between the rules and the police transports (DESIGN.md section 7).

A row is committed inside the caller's event transaction before anything is sent, and marked
delivered only after the receiver's ACK. Each transport drains its rows strictly in (priority, seq)
order: the head row is retried until it is delivered or gives up, so nothing overtakes an older
report of the same priority, and alarms (priority 0) go ahead of everything else.
States: pending -> delivered | failed | rejected. `attempts` counts finished attempts.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from edge.config.police import Police
from edge.relay.message import PoliceCode, PoliceMessage
from edge.store.db import Database

TERMINAL_FAILURES = ("failed", "rejected")
# First retry after half a second (a receiver restart), doubling up to the configured cap.
RETRY_BASE_S = 0.5
PURGE_BATCH = 5000  # delivered rows are purged in batches so a purge never holds the write lock long


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    event_id: str
    transport: str
    message: PoliceMessage
    priority: int
    created_ms: int
    attempts: int
    next_try_ms: int
    state: str


def transports_for(police: Police | None) -> list[str]:
    """The transport names a police report is queued for, from the config."""
    if police is None:
        return []
    return (["dc09"] if police.receivers else []) + (["webhook"] if police.webhook else [])


def message_to_json(msg: PoliceMessage) -> str:
    return json.dumps(
        {
            "event_id": msg.event_id,
            "device_id": msg.device_id,
            "code": msg.code.name,
            "zone": msg.zone,
            "ts_ms": msg.ts_ms,
            "test": msg.test,
            "location": msg.location,
            "coordinates": list(msg.coordinates) if msg.coordinates else None,
            "verify_url": msg.verify_url,
        },
        ensure_ascii=False,
    )


def message_from_json(text: str) -> PoliceMessage:
    d = json.loads(text)
    coords = d.get("coordinates")
    return PoliceMessage(
        event_id=d["event_id"],
        device_id=d["device_id"],
        code=PoliceCode[d["code"]],
        zone=int(d["zone"]),
        ts_ms=int(d["ts_ms"]),
        test=bool(d.get("test", False)),
        location=d.get("location", ""),
        coordinates=(float(coords[0]), float(coords[1])) if coords else None,
        verify_url=d.get("verify_url"),
    )


def enqueue(conn: sqlite3.Connection, msg: PoliceMessage, transports: list[str]) -> None:
    """Queue `msg` once per transport inside the caller's transaction; a repeat of the same event is a no-op."""
    body = message_to_json(msg)
    for transport in transports:
        conn.execute(
            "INSERT OR IGNORE INTO outbox (event_id, transport, message, priority, created_ms) VALUES (?,?,?,?,?)",
            (msg.event_id, transport, body, msg.priority, msg.ts_ms),
        )


def _row(r: sqlite3.Row | tuple[Any, ...]) -> OutboxRow:
    seq, event_id, transport, message, priority, created_ms, attempts, next_try_ms, state = r
    return OutboxRow(
        int(seq), event_id, transport, message_from_json(message), priority, created_ms, attempts, next_try_ms, state
    )


_HEAD_SQL = (
    "SELECT seq, event_id, transport, message, priority, created_ms, attempts, next_try_ms, state FROM outbox "
    "WHERE transport = ? AND state = 'pending' ORDER BY priority, seq LIMIT 1"
)


def head(db: Database, transport: str) -> OutboxRow | None:
    """The row this transport must deliver next, due or not."""
    with db.lock:
        r = db.conn.execute(_HEAD_SQL, (transport,)).fetchone()
    return _row(r) if r else None


def claim_next(db: Database, transport: str, now_ms: int) -> OutboxRow | None:
    """The head row if it is due (its `attempts` counts this attempt); None when idle or backing off.

    The claim is not written: each transport has exactly one sender, and a row stays durably
    pending until its ACK is committed, which is exactly what a restart must resend. Not writing
    here keeps one fsync off the alarm's path to the receiver.
    """
    row = head(db, transport)
    if row is None or row.next_try_ms > now_ms:
        return None
    return replace(row, attempts=row.attempts + 1)


def mark_delivered(db: Database, seq: int, receiver: str, sequence: int | None, acked_ms: int) -> None:
    with db.tx() as conn:
        mark_delivered_in(conn, seq, receiver, sequence, acked_ms)


def mark_delivered_in(conn: sqlite3.Connection, seq: int, receiver: str, sequence: int | None, acked_ms: int) -> None:
    """Inside the caller's transaction (the relay settles per-report transport state in the same one)."""
    conn.execute(
        "UPDATE outbox SET state = 'delivered', receiver = ?, sequence = ?, acked_ms = ?, last_error = NULL, "
        "attempts = attempts + 1 WHERE seq = ?",
        (receiver, sequence, acked_ms, seq),
    )


def set_delivered_event(
    conn: sqlite3.Connection, event_id: str, transport: str, receiver: str, sequence: int | None, acked_ms: int
) -> None:
    """Mark an event's row delivered by (event_id, transport): a report the relay sent from memory
    while the store was full (edge.relay.memory) is recorded as delivered when its event is committed."""
    conn.execute(
        "UPDATE outbox SET state = 'delivered', receiver = ?, sequence = ?, acked_ms = ?, last_error = NULL, "
        "attempts = attempts + 1 WHERE event_id = ? AND transport = ? AND state = 'pending'",
        (receiver, sequence, acked_ms, event_id, transport),
    )


def retry_delay(attempts: int, cap_s: float) -> float:
    """Capped exponential back-off: 0.5, 1, 2, 4 ... seconds, never more than `cap_s`."""
    return float(min(cap_s, RETRY_BASE_S * 2 ** max(0, min(attempts - 1, 30))))


def schedule_retry(db: Database, seq: int, error: str, next_try_ms: int) -> None:
    with db.tx() as conn:
        conn.execute(
            "UPDATE outbox SET next_try_ms = ?, last_error = ?, attempts = attempts + 1 WHERE seq = ?",
            (next_try_ms, error[:500], seq),
        )


def mark_failed(db: Database, seq: int, error: str, state: str = "failed") -> None:
    """Give up on a row: 'failed' (timed out per give_up_after) or 'rejected' (the platform refused it)."""
    with db.tx() as conn:
        mark_failed_in(conn, seq, error, state)


def mark_failed_in(conn: sqlite3.Connection, seq: int, error: str, state: str = "failed") -> None:
    if state not in TERMINAL_FAILURES:
        raise ValueError(f"not a terminal failure state: {state!r}")
    conn.execute(
        "UPDATE outbox SET state = ?, last_error = ?, attempts = attempts + 1 WHERE seq = ?",
        (state, error[:500], seq),
    )


def status(db: Database, now_ms: int) -> dict[str, Any]:
    """Queue depth, oldest pending age, last ACK and failures, overall and per transport."""
    rows = db.query(
        "SELECT transport, SUM(state = 'pending') AS depth, "
        "MIN(CASE WHEN state = 'pending' THEN created_ms END) AS oldest_ms, "
        "MAX(acked_ms) AS last_ack_ms, SUM(state = 'failed') AS failed, SUM(state = 'rejected') AS rejected "
        "FROM outbox GROUP BY transport"
    )
    per: dict[str, dict[str, Any]] = {}
    for r in rows:
        per[r["transport"]] = {
            "depth": int(r["depth"] or 0),
            "oldest_age_s": round((now_ms - r["oldest_ms"]) / 1000, 3) if r["oldest_ms"] is not None else None,
            "last_ack_ms": r["last_ack_ms"],
            "failed": int(r["failed"] or 0),
            "rejected": int(r["rejected"] or 0),
        }
    ages = [p["oldest_age_s"] for p in per.values() if p["oldest_age_s"] is not None]
    acks = [p["last_ack_ms"] for p in per.values() if p["last_ack_ms"] is not None]
    return {
        "depth": sum(p["depth"] for p in per.values()),
        "oldest_age_s": max(ages) if ages else None,
        "last_ack_ms": max(acks) if acks else None,
        "failed": sum(p["failed"] for p in per.values()),
        "rejected": sum(p["rejected"] for p in per.values()),
        "transports": per,
    }


def delivery_for(db: Database, event_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per event id, its outbox rows' delivery state (what the API shows as an alarm's `relay`)."""
    if not event_ids:
        return {}
    marks = ",".join("?" * len(event_ids))
    rows = db.query(
        "SELECT event_id, transport, state, receiver, sequence, acked_ms, attempts, last_error "  # noqa: S608
        f"FROM outbox WHERE event_id IN ({marks}) ORDER BY seq",
        tuple(event_ids),
    )
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out.setdefault(r["event_id"], {})[r["transport"]] = {k: r[k] for k in r if k not in ("event_id", "transport")}
    return out


def purge_delivered(db: Database, older_than_ms: int) -> int:
    """Delete delivered rows acknowledged before the cut-off, in batches; returns how many went."""
    total = 0
    while True:
        with db.tx() as conn:
            n = conn.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE state = 'delivered' "
                "AND acked_ms < ? LIMIT ?)",
                (older_than_ms, PURGE_BATCH),
            ).rowcount
        total += n
        if n < PURGE_BATCH:
            return total
