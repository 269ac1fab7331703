"""The patrol check-in API: a guard's note and photo of a problem, stored and served back; bad photos
and re-sent check-ins handled."""

from __future__ import annotations

import base64

import cv2
import numpy as np
from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.site import Site


def _jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((120, 160, 3), 90, np.uint8))
    assert ok
    return bytes(buf)


def test_a_problem_with_its_photo(client: TestClient, site: Site) -> None:
    guard = bearer(site.tokens["guard"])
    photo = _jpeg()
    body = {
        "tag": "qr-dorm-01",
        "note": "宿舍区后门未上锁",
        "photo": base64.b64encode(photo).decode(),
        "source": "phone",
    }
    r = client.post("/api/v1/patrol/checkins", json=body, headers=guard)
    assert r.status_code == 201, r.text
    assert r.json()["checkpoint"] == "cp-dorm" and r.json()["recorded"] is True
    again = client.post("/api/v1/patrol/checkins", json={**body, "ts": None}, headers=guard)
    assert again.status_code == 201  # a second visit (its own time) is another record
    day = client.get("/api/v1/patrol", headers=bearer(site.tokens["viewer"])).json()
    problem = day["problems"][0]
    assert problem["note"] == "宿舍区后门未上锁" and problem["photo"] is True and problem["guard"] == "guard-duty"
    got = client.get(f"/api/v1/patrol/checkins/{problem['seq']}/photo", headers=bearer(site.tokens["viewer"]))
    assert got.status_code == 200 and got.content == photo and got.headers["content-type"] == "image/jpeg"
    rows = site.db.query("SELECT source, reader FROM patrol_checkins WHERE seq = ?", (problem["seq"],))
    assert rows == [{"source": "phone", "reader": "guard-duty"}]


def test_bad_photos_are_refused(client: TestClient, site: Site) -> None:
    guard = bearer(site.tokens["guard"])
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    r = client.post("/api/v1/patrol/checkins", json={"tag": "04A1B2C3D4", "photo": png}, headers=guard)
    assert r.status_code == 400 and "JPEG" in r.text
    r = client.post("/api/v1/patrol/checkins", json={"tag": "04A1B2C3D4", "photo": "not base64!"}, headers=guard)
    assert r.status_code == 400
    assert site.db.query("SELECT COUNT(*) AS n FROM patrol_checkins")[0]["n"] == 0
