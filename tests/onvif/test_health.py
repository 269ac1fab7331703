"""Every ONVIF fault gives the right health state; a healthy camera flags nothing. Our real SOAP client."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from edge.metrics import BAD_INPUT
from edge.onvif.health import Health, check_health
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import MALFORMED_KINDS
from tests.onvif.helpers import PASSWORD, add, session


async def _health(sim: OnvifSimulator, timeout: float = 1.0, password: str = PASSWORD, **faults: Any) -> Any:
    await add(sim, "cam", **faults)
    s = session(sim, "cam", timeout, password)
    try:
        return await check_health(s, max_clock_drift=5.0)
    finally:
        await s.close()


async def test_healthy_camera_flags_nothing(sim: OnvifSimulator) -> None:
    res = await _health(sim)
    assert res.state is Health.ONLINE
    assert res.reasons == []
    assert res.clock_ok is True and abs(res.drift_s) <= 1.0
    assert res.device["Manufacturer"] == "EdgeSim"
    assert res.profile == "Profile_1"
    assert res.stream_uri == f"{sim.video_base}/mjpeg/cam"
    assert res.snapshot_uri == f"{sim.video_base}/snapshot/cam.jpg"
    assert res.has_search is True


@pytest.mark.parametrize(
    ("faults", "state", "reasons"),
    [
        ({"wrong_password": True}, Health.AUTH_FAILED, []),
        ({"clock_offset_s": 600.0}, Health.DEGRADED, ["clock_drift"]),
        ({"clock_offset_s": -180.0}, Health.DEGRADED, ["clock_drift"]),
        ({"offline": "refused"}, Health.UNREACHABLE, []),
        ({"offline": "closed"}, Health.UNREACHABLE, []),
        ({"hang": True}, Health.UNREACHABLE, []),
        ({"delay_s": 2.0}, Health.UNREACHABLE, []),  # slower than the 1 s call timeout
        ({"delay_s": 0.05}, Health.ONLINE, []),  # slow but within it
        ({"search": False}, Health.ONLINE, []),  # no Profile G: a retention matter, not a health one
    ],
)
async def test_fault_gives_state(
    sim: OnvifSimulator, faults: dict[str, Any], state: Health, reasons: list[str]
) -> None:
    res = await _health(sim, **faults)
    assert res.state is state, res.detail
    assert res.reasons == reasons


async def test_clock_drift_is_measured(sim: OnvifSimulator) -> None:
    res = await _health(sim, clock_offset_s=600.0)
    assert 599.0 <= res.drift_s <= 601.0
    assert res.clock_ok is False


async def test_wrong_configured_password_is_auth_failed_not_unreachable(sim: OnvifSimulator) -> None:
    res = await _health(sim, password="not-the-password")
    assert res.state is Health.AUTH_FAILED
    assert "auth_failed" in res.detail
    assert res.drift_s is not None  # the unauthenticated clock read still worked: it is reachable


async def test_hang_costs_one_call_timeout(sim: OnvifSimulator) -> None:
    t0 = time.monotonic()
    res = await _health(sim, timeout=0.5, hang=True)
    assert res.state is Health.UNREACHABLE and "timeout" in res.detail
    assert time.monotonic() - t0 < 1.5  # one 0.5 s timeout; waiting on every call would be 3 s


def _bad_input(reason: str) -> float:
    return float(BAD_INPUT.labels(source="onvif:cam", reason=reason)._value.get())


async def test_garbage_xml_is_counted_and_explained(sim: OnvifSimulator) -> None:
    before = _bad_input("malformed_response") + _bad_input("malformed_xml")
    res = await _health(sim, malformed=True)
    assert res.state is Health.DEGRADED
    assert res.reasons and all(r.endswith("malformed_response") for r in res.reasons)
    assert _bad_input("malformed_response") + _bad_input("malformed_xml") >= before + 3


async def test_recovers_when_fault_clears(sim: OnvifSimulator) -> None:
    await add(sim, "cam", hang=True)
    s = session(sim, "cam", 0.3)
    try:
        assert (await check_health(s, 5.0)).state is Health.UNREACHABLE
        await sim.set_faults("cam", hang=False, offline="refused")
        assert (await check_health(s, 5.0)).state is Health.UNREACHABLE
        await sim.set_faults("cam", offline=None, malformed=True)
        assert (await check_health(s, 5.0)).state is Health.DEGRADED
        await sim.set_faults("cam", malformed=False)
        assert (await check_health(s, 5.0)).state is Health.ONLINE
    finally:
        await s.close()


async def test_wrong_password_is_a_proper_soap_fault(sim: OnvifSimulator) -> None:
    """What a real camera sends: HTTP 400 and a SOAP 1.2 fault with subcode ter:NotAuthorized."""
    await add(sim, "cam", wrong_password=True)
    body = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
    )
    async with httpx.AsyncClient() as client:
        r = await client.post(sim.url("cam"), content=body, headers={"Content-Type": "application/soap+xml"})
    assert r.status_code == 400
    assert "ter:NotAuthorized" in r.text and "env:Sender" in r.text


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
async def test_every_kind_of_garbage_is_explained(sim: OnvifSimulator, kind: str) -> None:
    res = await _health(sim, malformed=kind)
    assert res.state is Health.DEGRADED
    assert res.reasons == ["clock:malformed_response", "device_info:malformed_response", "services:malformed_response"]


async def test_faults_change_at_runtime_over_http(sim: OnvifSimulator) -> None:
    """The demo's control endpoint: works while the camera hangs, and the next health round sees it."""
    await add(sim, "cam")
    control = sim.url("cam").replace("/onvif/device_service", "/sim/faults")
    async with httpx.AsyncClient() as client:
        assert (await client.post(control, json={"hang": True})).json()["hang"] is True
        assert (await client.get(control)).json()["hang"] is True  # answered although hanging
        s = session(sim, "cam", 0.3)
        try:
            assert (await check_health(s, 5.0)).state is Health.UNREACHABLE
            assert (await client.post(control, json={"hang": False, "clock_offset_s": 120})).status_code == 200
            res = await check_health(s, 5.0)
        finally:
            await s.close()
        assert res.state is Health.DEGRADED and res.reasons == ["clock_drift"]
        assert (await client.post(control, json={"nonsense": 1})).status_code == 400
