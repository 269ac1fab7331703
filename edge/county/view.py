"""The county view of each school and the county totals: pure functions of the stored rows and `now`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edge.events import iso_ms

UP = {"online", "degraded"}
# A school clock this close to the county's counts as right: the difference is the message's transit.
SKEW_TOLERANCE_MS = 5_000


def clock_offset_ms(row: dict[str, Any]) -> int:
    """How far ahead (+) or behind (-) the school's clock is: its status's stamp against its arrival."""
    published, received = int(row.get("status_ms") or 0), int(row.get("status_received_ms") or 0)
    if not published or not received or abs(published - received) < SKEW_TOLERANCE_MS:
        return 0
    return published - received


def _ms(iso: Any) -> int | None:
    if not isinstance(iso, str):
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _count(devices: list[dict[str, Any]], kind: str) -> dict[str, int]:
    of = [d for d in devices if d["type"] == kind]
    return {"online": sum(1 for d in of if d["state"] in UP), "configured": len(of)}


def school_view(
    row: dict[str, Any],
    devices: list[dict[str, Any]],
    report: dict[str, Any] | None,
    last_test_ms: int | None,
    now: int,
    silent_after_s: float,
) -> dict[str, Any]:
    status: dict[str, Any] = row.get("status") or {}
    police = status.get("police") or {}
    skew = clock_offset_ms(row)
    alarms = []
    for a in status.get("open_alarms") or []:
        opened = _ms(a.get("opened_at"))
        if opened is not None:
            opened -= skew  # on the county's clock: a school an hour slow does not show alarms an hour old
        alarms.append(
            {
                "id": a.get("id"),
                "device_id": a.get("device_id"),
                "location": a.get("location"),
                "kind": a.get("kind"),
                "state": a.get("state"),
                "test": bool(a.get("test")),
                "opened_at": a.get("opened_at"),
                "age_s": round((now - opened) / 1000) if opened is not None else None,
            }
        )
    retention = (report or {}).get("retention") or {}
    comp = [c for c in retention.get("compliance") or [] if c.get("group") == "all"] or (
        retention.get("compliance") or []
    )
    required = sum(int(c.get("required") or 0) for c in comp)
    passed = sum(int(c.get("passed") or 0) for c in comp)
    shortfalls = [
        {
            "id": c.get("id"),
            "name": c.get("name"),
            "required_days": c.get("required_days"),
            "retained_days": c.get("retained_days"),
            "shortfall_days": c.get("shortfall_days"),
        }
        for c in retention.get("cameras") or []
        if c.get("verdict") not in ("pass", None)
    ]
    patrol = (report or {}).get("patrol") or []
    last_seen = int(row["last_seen_ms"])
    quality = (report or {}).get("quality") or {}
    return {
        "id": row["id"],
        "name": row.get("name") or row["id"],
        "buttons": _count(devices, "button"),
        "cameras": _count(devices, "camera"),
        "open_alarms": alarms,
        "oldest_open_alarm_s": max((a["age_s"] for a in alarms if a["age_s"] is not None), default=None),
        "last_alarm_test_at": iso_ms(last_test_ms) if last_test_ms is not None else None,
        "police": {
            "configured": bool(police.get("configured")),
            "state": police.get("state", "unknown"),
            "outbox_depth": police.get("outbox_depth", 0),
        },
        "retention": {
            "date": (report or {}).get("date"),
            "required": required,
            "passed": passed,
            "compliant": required > 0 and passed == required if report else None,
            "shortfalls": shortfalls,
        },
        "quality": {"cameras": quality.get("cameras"), "failing": quality.get("failing")},
        "patrol": {
            "reported": bool(patrol),
            "compliant": all(p.get("verdict") == "pass" for p in patrol) if patrol else None,
            "plans": patrol,
        },
        "uplink": (status.get("providers") or {}).get("uplink"),
        "last_seen_at": iso_ms(last_seen),
        "clock_offset_s": round(skew / 1000),
        "silent": now - last_seen > silent_after_s * 1000,
        "silent_s": round(max(0, now - last_seen) / 1000),
    }


def totals(schools: list[dict[str, Any]]) -> dict[str, Any]:
    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    b_on = sum(s["buttons"]["online"] for s in schools)
    b_all = sum(s["buttons"]["configured"] for s in schools)
    c_on = sum(s["cameras"]["online"] for s in schools)
    c_all = sum(s["cameras"]["configured"] for s in schools)
    reporting = [s for s in schools if s["retention"]["compliant"] is not None]
    patrolled = [s for s in schools if s["patrol"]["compliant"] is not None]
    alarm_networked = [
        s
        for s in schools
        if s["buttons"]["configured"]
        and s["buttons"]["online"] == s["buttons"]["configured"]
        and s["police"]["state"] == "up"
        and not s["silent"]
    ]
    video_networked = [
        s
        for s in schools
        if s["cameras"]["configured"] and s["cameras"]["online"] == s["cameras"]["configured"] and not s["silent"]
    ]
    return {
        "schools": len(schools),
        "silent": sum(1 for s in schools if s["silent"]),
        "open_alarms": sum(len(s["open_alarms"]) for s in schools),
        "buttons": {"online": b_on, "configured": b_all, "rate": ratio(b_on, b_all)},
        "cameras": {"online": c_on, "configured": c_all, "rate": ratio(c_on, c_all)},
        "alarm_networked_schools": len(alarm_networked),
        "video_networked_schools": len(video_networked),
        "retention_compliant_schools": sum(1 for s in reporting if s["retention"]["compliant"]),
        "retention_reporting_schools": len(reporting),
        "patrol_compliant_schools": sum(1 for s in patrolled if s["patrol"]["compliant"]),
        "patrol_reporting_schools": len(patrolled),
    }
