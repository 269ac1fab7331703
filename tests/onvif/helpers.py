"""Helpers shared by the camera tests (simulated cameras, client sessions)."""

from __future__ import annotations

from edge.onvif.session import OnvifSession
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import Faults, SimCamera

USER, PASSWORD = "admin", "s3cret-pass"


async def add(sim: OnvifSimulator, cam_id: str, records: tuple[str, ...] = (), **faults: object) -> SimCamera:
    f = Faults()
    f.update(faults)
    return await sim.add(SimCamera(cam_id, USER, PASSWORD, faults=f), records=records)


def session(sim: OnvifSimulator, cam_id: str, timeout: float = 1.0, password: str = PASSWORD) -> OnvifSession:
    return OnvifSession(sim.url(cam_id), USER, password, f"onvif:{cam_id}", timeout)
