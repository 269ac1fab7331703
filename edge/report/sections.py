"""Report sections other than availability: retention, quality, alarms and their ack times, tests."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from typing import Any

from edge.report import fmt
from edge.report.model import AckStats, AlarmRow, Compliance, Quality, ReportInput, Retention, TestRecord

PASS = "pass"  # noqa: S105 - a retention verdict, not a password
SHORT = "short"
# Tags that mark a camera as a key area (重点部位) in the registry, besides the config's key_area: true.
KEY_AREA_TAGS = frozenset({"key_area", "key-area", "重点部位"})
ALARM_CATEGORIES = ("alarm", "flag")


def _tags(dev: dict[str, Any]) -> set[str]:
    raw = dev.get("tags")
    try:
        tags = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return set()
    return {str(t) for t in tags} if isinstance(tags, list) else set()


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _cameras(inp: ReportInput) -> list[dict[str, Any]]:
    return sorted((d for d in inp.devices if d.get("type") == "camera"), key=lambda d: str(d["id"]))


def retention(inp: ReportInput, in_day: list[dict[str, Any]]) -> tuple[Retention, ...]:
    """Per camera, the day's latest camera.retention verdict ("none" when no check ran that day)."""
    latest: dict[str, dict[str, Any]] = {}
    for ev in in_day:  # sorted by time, so the last one wins
        if ev["kind"] == "camera.retention":
            latest[ev["device_id"]] = ev
    rows = []
    for cam in _cameras(inp):
        found = latest.get(cam["id"])
        payload: dict[str, Any] = found["payload"] if found else {}
        required_raw = _number(payload.get("required_days"))
        key = (
            cam["id"] in inp.key_areas
            or bool(_tags(cam) & KEY_AREA_TAGS)
            or (required_raw is not None and required_raw >= inp.key_area_retention_days)
        )
        required = int(required_raw) if required_raw else (inp.key_area_retention_days if key else inp.retention_days)
        retained = _number(payload.get("retained_days"))
        shortfall = _number(payload.get("shortfall_days"))
        if shortfall is None and retained is not None:
            shortfall = max(0.0, required - retained)
        verdict = payload.get("verdict")
        rows.append(
            Retention(
                device_id=cam["id"],
                name=cam.get("name") or cam["id"],
                key_area=key,
                verdict=verdict if isinstance(verdict, str) else "none",
                retained_days=retained,
                required_days=required,
                shortfall_days=shortfall,
                checked_ms=int(found["ts_ms"]) if found else None,
            )
        )
    return tuple(rows)


def compliance(rows: tuple[Retention, ...]) -> tuple[Compliance, ...]:
    groups = (
        ("regular", [r for r in rows if not r.key_area]),
        ("key_area", [r for r in rows if r.key_area]),
        ("all", list(rows)),
    )
    out = []
    for name, group in groups:
        passed = sum(r.verdict == PASS for r in group)
        short = sum(r.verdict == SHORT for r in group)
        out.append(Compliance(name, len(group), passed, short, len(group) - passed - short))
    return tuple(out)


def quality(inp: ReportInput, in_day: list[dict[str, Any]]) -> tuple[Quality, ...]:
    """Per camera: how many quality checks ran, how many failed, and which failures they reported."""
    by_cam: dict[str, list[dict[str, Any]]] = {}
    for ev in in_day:
        if ev["kind"] == "camera.quality":
            by_cam.setdefault(ev["device_id"], []).append(ev["payload"])
    rows = []
    for cam in _cameras(inp):
        checks = by_cam.get(cam["id"], [])
        kinds: Counter[str] = Counter()
        failed = 0
        last: tuple[str, ...] = ()
        for payload in checks:
            raw = payload.get("failures")
            failures = tuple(str(f) for f in raw) if isinstance(raw, list) else ()
            kinds.update(set(failures))
            failed += bool(failures) or payload.get("verdict") not in (PASS, None)
            last = failures
        verdict = checks[-1].get("verdict") if checks else None
        rows.append(
            Quality(
                device_id=cam["id"],
                name=cam.get("name") or cam["id"],
                checks=len(checks),
                failed_checks=failed,
                failures=dict(sorted(kinds.items())),
                last_verdict=verdict if isinstance(verdict, str) else None,
                last_failures=last,
            )
        )
    return tuple(rows)


def alarm_rows(
    rows: list[dict[str, Any]], start_ms: int, end_ms: int, deliveries: dict[str, dict[str, Any]] | None = None
) -> tuple[AlarmRow, ...]:
    """Alarms and flags opened during the period, oldest first."""
    picked = sorted(
        (r for r in rows if start_ms <= int(r["opened_ms"]) < end_ms), key=lambda r: (r["opened_ms"], r["id"])
    )
    return tuple(
        AlarmRow(
            id=r["id"],
            device_id=r["device_id"],
            category=r["category"],
            kind=r["kind"],
            zone=r.get("zone"),
            location=r.get("location") or "",
            test=bool(r.get("test")),
            opened_ms=int(r["opened_ms"]),
            acked_ms=r.get("acked_ms"),
            acked_by=r.get("acked_by"),
            closed_ms=r.get("closed_ms"),
            state=r.get("state") or "",
            delivered_ms=(deliveries or {}).get(str(r.get("event_id")), {}).get("acked_ms"),
        )
        for r in picked
    )


def ack_stats(alarms: tuple[AlarmRow, ...]) -> dict[str, AckStats]:
    """Per category, over real (non-test) alarms: median and max time to acknowledge, and how many never were."""
    out = {}
    for category in ALARM_CATEGORIES:
        group = [a for a in alarms if a.category == category and not a.test]
        times = [a.ack_ms for a in group if a.ack_ms is not None]
        sent = [a.delivery_ms for a in group if a.delivery_ms is not None]
        out[category] = AckStats(
            category=category,
            count=len(group),
            acked=len(times),
            unacked=len(group) - len(times),
            median_ms=float(statistics.median(times)) if times else None,
            max_ms=max(times) if times else None,
            delivery_median_ms=float(statistics.median(sent)) if sent else None,
            delivery_max_ms=max(sent) if sent else None,
        )
    return out


def tests(
    in_day: list[dict[str, Any]], alarms: tuple[AlarmRow, ...], deliveries: dict[str, dict[str, Any]] | None = None
) -> tuple[TestRecord, ...]:
    """Everything marked test: test events (e.g. a press in maintenance) and the test alarms they opened.

    A test press passes only when the police receiver acknowledged its test report: a press that
    reached the gateway but not the police is the failure the test exists to find."""
    records = []
    for ev in in_day:
        if not ev.get("test"):
            continue
        detail, result = _detail(ev["payload"]), ""
        if ev["kind"] == "alarm.press":
            sent = (deliveries or {}).get(str(ev.get("id")))
            acked = sent.get("acked_ms") if sent else None
            if acked is not None:
                result = "pass"
                took = fmt.seconds(int(acked) - int(ev["ts_ms"]))
                detail = _join(
                    f"接警中心已确认测试报告，用时 {took} 秒 / police ACKed the test report in {took} s", detail
                )
            else:
                result = "fail"
                state = fmt.label(fmt.DELIVERY_STATES, str(sent["state"])) if sent else fmt.DELIVERY_STATES["none"]
                detail = _join(f"测试报告未送达接警中心 / test report not delivered to the police: {state}", detail)
        records.append(TestRecord(int(ev["ts_ms"]), ev["device_id"], "event", ev["kind"], detail, result))
    records += [
        TestRecord(a.opened_ms, a.device_id, "alarm", a.kind,
                   f"{fmt.label(fmt.CATEGORIES, a.category)} · {fmt.label(fmt.ALARM_STATES, a.state)}")
        for a in alarms if a.test
    ]  # fmt: skip
    return tuple(sorted(records, key=lambda r: (r.ts_ms, r.source, r.device_id)))


def _join(head: str, tail: str) -> str:
    return f"{head}; {tail}" if tail else head


def _detail(payload: dict[str, Any]) -> str:
    """Payload fields in words; empty values (device_ts None) and internal keys are left out."""
    parts = []
    for key, value in sorted(payload.items()):
        if value is None or value == "" or isinstance(value, dict | list) or key not in fmt.FIELDS:
            continue
        shown = fmt.label(fmt.VERDICTS, value) if key == "verdict" and isinstance(value, str) else value
        parts.append(f"{fmt.FIELDS[key]} {shown}")
    return ", ".join(parts)[:160]
