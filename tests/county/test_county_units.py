"""Pure parts of the county service: its config, topic classification, the per-school view."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from edge.api.tokens import Role, create_token
from edge.config import ConfigError
from edge.county.api import build_app
from edge.county.config import CountyConfig, load_county_config
from edge.county.ingest import classify
from edge.county.view import school_view, totals
from edge.metrics import BAD_INPUT

REPO = Path(__file__).resolve().parents[2]


def test_example_county_config_loads() -> None:
    cfg = load_county_config(REPO / "config" / "county.example.yaml")
    assert cfg.mqtt.share_group == "edge-county" and cfg.database.startswith("postgresql://")


def test_county_config_is_strict(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("mqtt: {url: mqtt://h}\ndatabase: postgresql://x@h/d\nsilent_afer: 3\n")
    with pytest.raises(ConfigError, match="silent_afer"):
        load_county_config(p)
    p.write_text("mqtt: {url: mqtt://h}\ndatabase: mysql://x\n")
    with pytest.raises(ConfigError, match="database"):
        load_county_config(p)


def bad(reason: str) -> float:
    return float(BAD_INPUT.labels(source="county", reason=reason)._value.get())


def test_classify_topics_and_bad_input() -> None:
    ev = b'{"id": "e1", "seq": 3, "ts_ms": 5, "device_id": "b", "kind": "alarm.press"}'
    m = classify("county", "county/sch-1/events", ev, 10, 11)
    assert m is not None and (m.kind, m.school, m.body["seq"]) == ("event", "sch-1", 3)
    d = classify("county", "county/sch-1/devices/cam-1", b"{}", 10, 11)
    assert d is not None and (d.kind, d.key) == ("device", "cam-1")
    r = classify("a/b", "a/b/sch-1/report/2026-12-01", b"{}", 10, 11)
    assert r is not None and (r.kind, r.school, r.key) == ("report", "sch-1", "2026-12-01")
    before = bad("json"), bad("topic"), bad("event")
    assert classify("county", "county/sch-1/events", b"\xff not json", 1, 1) is None
    assert classify("county", "county/sch-1/whatever", b"{}", 1, 1) is None
    assert classify("county", "county/sch-1/events", b'{"id": "x"}', 1, 1) is None
    assert (bad("json"), bad("topic"), bad("event")) == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_school_view_and_totals() -> None:
    now = 1_000_000_000_000  # 2001-09-09T01:46:40Z
    row = {
        "id": "s1",
        "name": "一中",
        "last_seen_ms": now - 400_000,
        "status": {
            "police": {"configured": True, "state": "up"},
            "open_alarms": [{"id": "a", "opened_at": "2001-09-09T01:45:40.000Z", "state": "open"}],
        },
    }
    devices = [
        {"type": "button", "state": "online"},
        {"type": "button", "state": "offline"},
        {"type": "camera", "state": "online"},
    ]
    report = {
        "date": "2001-09-08",
        "retention": {
            "compliance": [{"group": "all", "required": 2, "passed": 1}],
            "cameras": [{"id": "c", "name": "门口", "verdict": "short", "shortfall_days": 12.5}],
        },
        "patrol": [{"plan": "p", "verdict": "fail"}],
    }
    v = school_view(row, devices, report, None, now, 300)
    assert v["buttons"] == {"online": 1, "configured": 2} and v["cameras"] == {"online": 1, "configured": 1}
    assert v["open_alarms"][0]["age_s"] == 60 and v["silent"] is True
    assert v["retention"]["compliant"] is False and v["retention"]["shortfalls"][0]["shortfall_days"] == 12.5
    assert v["patrol"]["compliant"] is False
    t = totals([v])
    assert t["silent"] == 1 and t["buttons"]["rate"] == 0.5 and t["alarm_networked_schools"] == 0
    assert t["video_networked_schools"] == 0  # silent schools are not counted as networked


def test_gateway_does_not_load_the_county_dependencies() -> None:
    heavy = "('psycopg', 'cv2', 'edge.onvif.session')"
    code = f"import sys, edge.daemon, edge.cli; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_scrape_token_reads_metrics_only(tmp_path: Path) -> None:
    (tmp_path / "scrape").write_text("scrape-secret-123\n")
    viewer = create_token(tmp_path / "tokens.yaml", "v", Role.VIEWER, cost=2**10)
    cfg = CountyConfig.model_validate(
        {
            "mqtt": {"url": "mqtt://h"},
            "database": "postgresql://x@h/d",
            "api": {"tokens_file": str(tmp_path / "tokens.yaml"), "scrape_token_file": str(tmp_path / "scrape")},
        }
    )
    client = TestClient(build_app(cfg, cast(Any, None)))
    scrape = {"Authorization": "Bearer scrape-secret-123"}
    assert client.get("/metrics", headers=scrape).status_code == 200
    assert client.get("/api/v1/schools", headers=scrape).status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200
