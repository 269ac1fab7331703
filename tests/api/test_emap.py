"""The e-map API: floor plans (PNG/JPEG only, checked by their header), positions, roles, audit."""

from __future__ import annotations

import base64

import cv2
import numpy as np
from fastapi.testclient import TestClient

from edge.emap.image import ImageError, inspect_image
from tests.api.conftest import bearer
from tests.api.site import Site


def plan_png(width: int = 800, height: int = 500, label: str = "1F") -> bytes:
    img = np.full((height, width, 3), 235, np.uint8)
    cv2.rectangle(img, (20, 20), (width - 20, height - 20), (60, 60, 60), 4)
    cv2.line(img, (width // 2, 20), (width // 2, height - 20), (60, 60, 60), 3)
    cv2.putText(img, label, (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 3)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return bytes(buf)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_image_header_is_read_and_svg_refused() -> None:
    assert inspect_image(plan_png(640, 360)) == ("image/png", 640, 360)
    _ok, jpg = cv2.imencode(".jpg", np.zeros((240, 320, 3), np.uint8))
    assert inspect_image(bytes(jpg)) == ("image/jpeg", 320, 240)
    for bad in (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', b"\x89PNG\r\n\x1a\n", b""):
        try:
            inspect_image(bad)
        except ImageError:
            continue
        raise AssertionError(f"accepted {bad[:20]!r}")


def test_upload_place_and_delete(client: TestClient, site: Site) -> None:
    tech, viewer = bearer(site.tokens["technician"]), bearer(site.tokens["viewer"])
    body = {"name": "教学楼一层", "building": "教学楼", "floor": "一层", "image": b64(plan_png())}
    assert client.put("/api/v1/floorplans/teach-1f", json=body, headers=viewer).status_code == 403
    r = client.put("/api/v1/floorplans/teach-1f", json=body, headers=tech)
    assert r.status_code == 200, r.text
    assert r.json()["width"] == 800 and r.json()["positions"] == {}
    svg = {**body, "image": b64(b"<svg onload=alert(1)></svg>")}
    assert client.put("/api/v1/floorplans/x", json=svg, headers=tech).status_code == 400
    assert client.put("/api/v1/floorplans/x", json={**body, "image": "***"}, headers=tech).status_code == 400

    url = "/api/v1/floorplans/teach-1f/positions"
    placed = client.put(url, json={"positions": {"gate-south": {"x": 0.25, "y": 0.5}}}, headers=tech)
    assert placed.json()["positions"] == {"gate-south": {"x": 0.25, "y": 0.5}}
    assert client.put(url, json={"positions": {"nope": {"x": 0.1, "y": 0.1}}}, headers=tech).status_code == 400
    assert client.put(url, json={"positions": {"gate-south": {"x": 1.5, "y": 0}}}, headers=tech).status_code == 422
    other = client.put("/api/v1/floorplans/teach-2f", json={**body, "name": "教学楼二层", "sort": 1}, headers=tech)
    assert other.status_code == 200
    client.put(
        "/api/v1/floorplans/teach-2f/positions", json={"positions": {"gate-south": {"x": 0.5, "y": 0.5}}}, headers=tech
    )
    plans = client.get("/api/v1/floorplans", headers=viewer).json()
    assert [(p["id"], p["positions"]) for p in plans] == [
        ("teach-1f", {}),  # a device sits on one plan at a time
        ("teach-2f", {"gate-south": {"x": 0.5, "y": 0.5}}),
    ]
    image = client.get("/api/v1/floorplans/teach-1f/image", headers=viewer)
    assert image.headers["content-type"] == "image/png" and image.content == plan_png()
    assert client.delete("/api/v1/floorplans/teach-2f", headers=tech).status_code == 204
    assert client.delete("/api/v1/floorplans/teach-2f", headers=tech).status_code == 404
    assert site.db.query("SELECT COUNT(*) AS n FROM map_positions")[0]["n"] == 0
    audit = site.db.query("SELECT actor, action, target FROM audit WHERE action LIKE 'floorplan.%' ORDER BY seq")
    assert audit[0] == {"actor": "technician-duty", "action": "floorplan.put", "target": "teach-1f"}
    assert audit[-1]["action"] == "floorplan.delete"
