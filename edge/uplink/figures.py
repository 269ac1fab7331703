"""A day's report as the figures the county keeps: rates, compliance, shortfalls, alarms, tests, patrol."""

from __future__ import annotations

from typing import Any

from edge.events import iso_ms
from edge.report.model import DailyReport


def _r(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


def report_figures(r: DailyReport) -> dict[str, Any]:
    real_alarms = [a for a in r.alarms if not a.test]
    return {
        "site": r.site_id,
        "date": r.day.isoformat(),
        "timezone": r.timezone,
        "partial": r.partial,
        "generated_at": iso_ms(r.generated_ms),
        "online_rate": {
            t: {"devices": v.devices, "rate": _r(v.rate), "outages": v.outages} for t, v in r.type_rates.items()
        },
        "police_links": [{"id": a.device_id, "name": a.name, "rate": _r(a.rate)} for a in r.links],
        "retention": {
            "compliance": [
                {
                    "group": c.group,
                    "required": c.required,
                    "passed": c.passed,
                    "short": c.short,
                    "unverified": c.unverified,
                }
                for c in r.compliance
            ],
            "cameras": [
                {
                    "id": x.device_id,
                    "name": x.name,
                    "key_area": x.key_area,
                    "verdict": x.verdict,
                    "retained_days": x.retained_days,
                    "required_days": x.required_days,
                    "shortfall_days": x.shortfall_days,
                }
                for x in r.retention
            ],
        },
        "quality": {
            "cameras": len(r.quality),
            "failing": sum(1 for q in r.quality if q.last_verdict == "fail"),
            "failed_checks": sum(q.failed_checks for q in r.quality),
            "checks": sum(q.checks for q in r.quality),
        },
        "alarms": {
            "real": len(real_alarms),
            "test": len(r.alarms) - len(real_alarms),
            "unacked": sum(1 for a in real_alarms if a.acked_ms is None),
        },
        "ack": {
            c: {"count": s.count, "acked": s.acked, "median_ms": s.median_ms, "max_ms": s.max_ms}
            for c, s in r.ack_stats.items()
        },
        "tests": {"count": len(r.tests), "last_at": iso_ms(max(t.ts_ms for t in r.tests)) if r.tests else None},
        "patrol": [
            {
                "plan": p.plan.id,
                "name": p.plan.name or p.plan.id,
                "verdict": str(p.verdict),
                "rounds_required": p.plan.rounds_per_day,
                "rounds_walked": p.walked,
                "rounds_missed": p.missed,
            }
            for p in r.patrol
        ],
    }
