"""CameraChecker: light rounds between full ones, and the media facts they carry over."""

from __future__ import annotations

from edge.config import Camera, Checks
from edge.onvif.camera import FULL_ROUND_EVERY, CameraChecker
from edge.onvif.health import Health
from edge.sim.onvif.server import OnvifSimulator
from tests.onvif.helpers import add, session


async def test_media_is_asked_every_nth_round_and_after_trouble(sim: OnvifSimulator) -> None:
    cam = await add(sim, "cam")
    checker = CameraChecker(Camera(id="cam", name="cam", onvif=sim.url("cam")), Checks(), session(sim, "cam"))
    try:
        for _ in range(FULL_ROUND_EVERY + 1):
            res, _ = await checker.health()
            assert res.state is Health.ONLINE
            assert res.stream_uri and res.snapshot_uri and res.has_search  # carried over in light rounds
        assert cam.calls["GetSystemDateAndTime"] == FULL_ROUND_EVERY + 1
        assert cam.calls["GetDeviceInformation"] == FULL_ROUND_EVERY + 1
        assert cam.calls["GetProfiles"] == 2  # rounds 1 and FULL_ROUND_EVERY + 1
        await sim.set_faults("cam", wrong_password=True)
        assert (await checker.health())[0].state is Health.AUTH_FAILED
        await sim.set_faults("cam", wrong_password=False)
        before = cam.calls["GetProfiles"]
        assert (await checker.health())[0].state is Health.ONLINE
        assert cam.calls["GetProfiles"] == before + 1  # the round after trouble is a full one
    finally:
        await checker.close()
