"""The demo school's e-map: two floor plans uploaded through the API, every device placed on one."""

from __future__ import annotations

import base64

import httpx

from edge.demo.floorplan import campus, teaching_block

# device id -> (x, y) as fractions of the plan image (see edge.demo.floorplan for the drawings)
CAMPUS = {
    "gate-north": (0.50, 0.11), "cam-gate-north": (0.55, 0.15),
    "gate-south": (0.50, 0.92), "cam-gate-south": (0.45, 0.86),
    "guard-room": (0.57, 0.95), "cam-guard": (0.60, 0.89),
    "teach-3f": (0.27, 0.30), "office": (0.66, 0.26), "lab": (0.78, 0.34),
    "dorm-a": (0.16, 0.64), "dorm-b": (0.30, 0.72), "cam-dorm": (0.22, 0.58),
    "canteen": (0.53, 0.68), "cam-canteen": (0.60, 0.62),
    "cam-library": (0.83, 0.68), "cam-playground": (0.93, 0.42),
}  # fmt: skip
TEACHING_1F = {"teach-1f": (0.30, 0.50), "cam-corridor": (0.62, 0.50)}


async def upload_maps(base_url: str, token: str) -> None:
    """As a technician would in the dashboard: plans first, then the positions on each."""
    plans = [
        ("campus", "校园总平面", "", "", campus(), CAMPUS),
        ("teaching-1f", "教学楼一层", "教学楼", "一层", teaching_block(), TEACHING_1F),
    ]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", headers=headers, timeout=10) as client:
        for sort, (plan_id, name, building, floor, png, spots) in enumerate(plans):
            body = {
                "name": name,
                "building": building,
                "floor": floor,
                "sort": sort,
                "image": base64.b64encode(png).decode(),
            }
            (await client.put(f"/floorplans/{plan_id}", json=body)).raise_for_status()
            positions = {d: {"x": x, "y": y} for d, (x, y) in spots.items()}
            (await client.put(f"/floorplans/{plan_id}/positions", json={"positions": positions})).raise_for_status()
