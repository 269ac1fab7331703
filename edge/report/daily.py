"""The daily inspection report's figures: pure functions from store rows to a `DailyReport`.

Nothing here reads a clock or a file: the same rows, day and time zone always give the same report.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from edge.metrics import bad_input
from edge.report import sections
from edge.report.days import day_bounds
from edge.report.model import OFFLINE, ONLINE, Availability, DailyReport, Outage, ReportInput, TypeRate
from edge.report.timeline import Transition, base_segments, maintenance_windows, offline_spans, overlay, totals

log = logging.getLogger(__name__)

STATE_KINDS = {"device.online": ONLINE, "device.offline": OFFLINE}
LINK_STATES = {"up": ONLINE, "down": OFFLINE}
# Device types with an online rate; receivers get theirs from relay.link as "police link availability".
RATED_TYPES = ("button", "camera")


def parse_payloads(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Events with `payload` decoded to a dict; a malformed one is counted and read as {}."""
    out, bad = [], 0
    for row in events:
        payload = row.get("payload")
        try:
            decoded = json.loads(payload) if isinstance(payload, str | bytes) else payload
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            bad += 1
            bad_input(log, "report", "payload", f"event {row.get('id')}")
            decoded = {}
        out.append({**row, "payload": decoded})
    out.sort(key=lambda r: (int(r["ts_ms"]), int(r.get("seq") or 0)))
    return out, bad


def availability(
    dev: dict[str, Any],
    transitions: list[Transition],
    windows: list[tuple[int, int]],
    start_ms: int,
    end_ms: int,
) -> Availability:
    segments = overlay(base_segments(transitions, start_ms, end_ms), windows)
    t = totals(segments)
    outages = []
    for span in offline_spans(transitions, start_ms, end_ms):
        lo, hi = max(span.start_ms, start_ms), min(span.end_ms or end_ms, end_ms)
        outages.append(
            Outage(
                device_id=dev["id"],
                name=dev.get("name") or dev["id"],
                type=dev.get("type", ""),
                start_ms=span.start_ms,
                end_ms=span.end_ms,
                in_day_ms=hi - lo,
                reason=span.reason,
                maintenance_ms=sum(max(0, min(hi, w_hi) - max(lo, w_lo)) for w_lo, w_hi in windows),
            )
        )
    return Availability(
        device_id=dev["id"],
        type=dev.get("type", ""),
        name=dev.get("name") or dev["id"],
        location=dev.get("location") or "",
        online_ms=t["online"],
        offline_ms=t["offline"],
        maintenance_ms=t["maintenance"],
        unknown_ms=t["unknown"],
        segments=tuple(segments),
        outages=tuple(outages),
    )


def _commit_order(timed: list[tuple[int, Transition]]) -> list[Transition]:
    """One device's transitions in the order the gateway committed them (seq), which is the order its
    state changed in. A driver stamps an event when it receives it, so an event received just before
    another was stamped may be committed after it (after a stall: a heartbeat read by the MQTT thread
    while the loop already declared the button offline). Sorted by time, that online would come before
    its offline and the button would show "offline, ongoing"; a later commit is taken as no earlier
    than the one before it instead."""
    out: list[Transition] = []
    for _, t in sorted(timed, key=lambda x: x[0]):
        out.append(t if not out or t.ts_ms >= out[-1].ts_ms else Transition(out[-1].ts_ms, t.state, t.reason))
    return out


def _seq(ev: dict[str, Any]) -> int:
    return int(ev.get("seq") or 0)


def _reason(payload: dict[str, Any]) -> str:
    reason = payload.get("reason", "")
    return reason if isinstance(reason, str) else str(reason)


def device_availability(
    inp: ReportInput, events: list[dict[str, Any]], start_ms: int, end_ms: int
) -> tuple[Availability, ...]:
    timed: dict[str, list[tuple[int, Transition]]] = defaultdict(list)
    for ev in events:
        state = STATE_KINDS.get(ev["kind"])
        if state is not None:
            timed[ev["device_id"]].append((_seq(ev), Transition(int(ev["ts_ms"]), state, _reason(ev["payload"]))))
    transitions = {k: _commit_order(v) for k, v in timed.items()}
    windows = maintenance_windows(inp.device_changes, end_ms)
    rated = [d for d in inp.devices if d.get("type") in RATED_TYPES]
    rated.sort(key=lambda d: (RATED_TYPES.index(d["type"]), d["id"]))
    return tuple(
        availability(d, transitions.get(d["id"], []), windows.get(d["id"], []), start_ms, end_ms) for d in rated
    )


def link_availability(
    inp: ReportInput, events: list[dict[str, Any]], start_ms: int, end_ms: int
) -> tuple[Availability, ...]:
    """Police receivers, keyed by their device id when the registry knows them, else by the payload's receiver."""
    receivers = {d["id"]: d for d in inp.devices if d.get("type") == "receiver"}
    by_url = {d.get("location"): d["id"] for d in receivers.values()}
    timed: dict[str, list[tuple[int, Transition]]] = defaultdict(list)
    for ev in events:
        state = LINK_STATES.get(str(ev["payload"].get("state"))) if ev["kind"] == "relay.link" else None
        if state is None:
            continue
        url = ev["payload"].get("receiver")
        key = ev["device_id"] if ev["device_id"] in receivers else by_url.get(url) or str(url or ev["device_id"])
        timed[key].append((_seq(ev), Transition(int(ev["ts_ms"]), state, _reason(ev["payload"]))))
    transitions = {k: _commit_order(v) for k, v in timed.items()}
    keys = sorted(set(receivers) | set(transitions))
    return tuple(
        availability(
            receivers.get(k, {"id": k, "type": "receiver", "name": k, "location": k}),
            transitions.get(k, []),
            [],
            start_ms,
            end_ms,
        )
        for k in keys
    )


def type_rates(devices: tuple[Availability, ...]) -> dict[str, TypeRate]:
    rates = {}
    for type_ in RATED_TYPES:
        group = [d for d in devices if d.type == type_]
        rates[type_] = TypeRate(
            type=type_,
            devices=len(group),
            online_ms=sum(d.online_ms for d in group),
            offline_ms=sum(d.offline_ms for d in group),
            maintenance_ms=sum(d.maintenance_ms for d in group),
            unknown_ms=sum(d.unknown_ms for d in group),
            outages=sum(len(d.outages) for d in group),
        )
    return rates


def compute(inp: ReportInput, day: date, timezone: str, now_ms: int) -> DailyReport:
    """The report for the site's local `day`; a day that is not over yet is cut at `now_ms` (partial)."""
    tz = ZoneInfo(timezone)
    start_ms, midnight_ms = day_bounds(day, tz)
    end_ms = max(start_ms, min(midnight_ms, now_ms))
    events, bad = parse_payloads(inp.events)
    in_day = [e for e in events if start_ms <= int(e["ts_ms"]) < end_ms]
    devices = device_availability(inp, events, start_ms, end_ms)
    alarms = sections.alarm_rows(inp.alarms, start_ms, end_ms, inp.deliveries)
    retention = sections.retention(inp, in_day)
    notes = []
    if end_ms < midnight_ms:
        notes.append("partial")
    if bad:
        notes.append(f"bad_payloads:{bad}")
    return DailyReport(
        day=day,
        timezone=timezone,
        start_ms=start_ms,
        end_ms=end_ms,
        partial=end_ms < midnight_ms,
        site_id=inp.site_id,
        site_name=inp.site_name,
        generated_ms=now_ms,
        devices=devices,
        type_rates=type_rates(devices),
        links=link_availability(inp, events, start_ms, end_ms),
        retention=retention,
        compliance=sections.compliance(retention),
        quality=sections.quality(inp, in_day),
        alarms=alarms,
        ack_stats=sections.ack_stats(alarms),
        tests=sections.tests(in_day, alarms, inp.deliveries),
        notes=tuple(notes),
    )
