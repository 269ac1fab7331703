"""Store rows -> API objects: devices with their checks, alarms with their relay state."""

from __future__ import annotations

import json
from typing import Any

from edge.alarms.priority import Ranking, rank_alarm
from edge.api.models import (
    Alarm,
    ClipInfo,
    ClockCheck,
    Device,
    DeviceChecks,
    QualityCheck,
    RelayInfo,
    RetentionCheck,
)
from edge.events import iso_ms
from edge.states import DeviceState
from edge.store import Database, queries
from edge.store.clips import clip_rows
from edge.store.devices import devices_with_state
from edge.store.events import payloads
from edge.store.media import events_with_pictures


def iso(ts_ms: int | None) -> str | None:
    return iso_ms(int(ts_ms)) if ts_ms is not None else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _checks(rows: list[dict[str, Any]]) -> DeviceChecks:
    out = DeviceChecks()
    for r in rows:
        res = json.loads(r["result"]) if r["result"] else {}
        at = iso(r["ts_ms"])
        if r["check_name"] == "retention":
            req = _num(res.get("required_days"))
            out.retention = RetentionCheck(
                verdict=r["verdict"],
                retained_days=_num(res.get("retained_days")),
                required_days=int(req) if req is not None else None,
                shortfall_days=_num(res.get("shortfall_days")),
                checked_at=at,
            )
        elif r["check_name"] == "quality":
            failures = res.get("failures", [])
            listed = [str(f) for f in failures] if isinstance(failures, list) else []
            out.quality = QualityCheck(verdict=r["verdict"], failures=listed, checked_at=at)
        elif r["check_name"] == "clock":
            out.clock = ClockCheck(drift_s=_num(res.get("drift_s")), verdict=r["verdict"], checked_at=at)
    return out


def load_devices(db: Database, device_id: str | None = None) -> list[Device]:
    rows = devices_with_state(db, device_id)
    ids = [r["id"] for r in rows]
    checks = queries.check_rows(db, ids)
    snaps = queries.snapshot_times(db, ids)
    out = []
    for r in rows:
        state = queries.device_state(r["state"])
        out.append(
            Device(
                id=r["id"],
                type=r["type"],
                name=r["name"],
                location=r["location"],
                zone=r["zone"],
                state=state,
                reasons=json.loads(r["reasons"]) if r["reasons"] else [],
                since=iso(r["since_ms"]),
                last_seen=iso(r["last_seen_ms"]),
                maintenance_until=iso(r["maintenance_until_ms"]) if state is DeviceState.MAINTENANCE else None,
                checks=_checks(checks.get(r["id"], [])),
                snapshot_at=iso(snaps.get(r["id"])),
            )
        )
    return out


def _relays(db: Database, event_ids: list[str]) -> dict[str, RelayInfo]:
    """One relay summary per event: the police (DC-09) row first, else any transport's."""
    out: dict[str, RelayInfo] = {}
    for r in queries.relay_rows(db, event_ids):
        out.setdefault(
            r["event_id"],
            RelayInfo(state=r["state"], receiver=r["receiver"], acked_at=iso(r["acked_ms"]), attempts=r["attempts"]),
        )
    return out


def relays_for(db: Database, event_ids: list[str]) -> dict[str, RelayInfo]:
    """Public name for the per-event relay summary (events show it too, e.g. a technician's test report)."""
    return _relays(db, event_ids)


def to_alarms(db: Database, rows: list[dict[str, Any]]) -> list[Alarm]:
    relays = _relays(db, [r["event_id"] for r in rows])
    devices = queries.device_kinds(db) if rows else {}
    triggers = payloads(db, [r["event_id"] for r in rows])
    pictured = events_with_pictures(db, [r["event_id"] for r in rows])
    clips = clip_rows(db, [r["event_id"] for r in rows])
    out = []
    for r in rows:
        device = devices.get(r["device_id"], {})
        rank = rank_alarm(r["kind"], r["category"], triggers.get(r["event_id"]))
        alarm = _alarm(r, device, rank, relays.get(r["event_id"], RelayInfo(state="none")))
        if r["event_id"] in pictured:
            alarm.snapshot = f"/api/v1/alarms/{r['id']}/snapshot"
        if (c := clips.get(r["event_id"])) is not None:
            url = f"/api/v1/alarms/{r['id']}/clip" if c.size else None
            alarm.clip = ClipInfo(state=str(c.state), url=url, start=iso(c.start_ms), end=iso(c.end_ms),
                                  bytes=c.size, attempts=c.attempts, error=c.error)  # fmt: skip
        out.append(alarm)
    return out


def _alarm(r: dict[str, Any], device: dict[str, Any], rank: Ranking, relay: RelayInfo) -> Alarm:
    return Alarm(
        id=r["id"],
        event_id=r["event_id"],
        device_id=r["device_id"],
        device_name=device.get("name"),
        zone=r["zone"],
        location=r["location"],
        kind=r["kind"],
        category=r["category"],
        severity=r["severity"],
        message=r["message"],
        state=r["state"],
        test=bool(r["test"]),
        opened_at=iso_ms(r["opened_ms"]),
        acked_at=iso(r["acked_ms"]),
        acked_by=r["acked_by"],
        ack_note=r["ack_note"],
        closed_at=iso(r["closed_ms"]),
        closed_by=r["closed_by"],
        close_reason=r["close_reason"],
        relay=relay,
        priority=int(rank.priority),
        what=rank.what,
        reason=rank.reason,
        device_type=device.get("type"),
        escalated_at=iso(r.get("escalated_ms")),
    )
