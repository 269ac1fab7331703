"""Our SOAP client against the simulator: HTTP Digest/Basic on top of WS-Security, clock-shifted tokens."""

from __future__ import annotations

import pytest

from edge.onvif import ops, soap
from edge.onvif.health import Health, check_health, read_clock
from edge.onvif.session import AUTH_FAILED, FAULT, NS_MEDIA, NS_REPLAY, CallError
from edge.sim.onvif.server import OnvifSimulator
from tests.onvif.helpers import add, session


@pytest.mark.parametrize("scheme", ["digest", "basic"])
async def test_http_auth_demanded_is_answered(sim: OnvifSimulator, scheme: str) -> None:
    cam = await add(sim, "cam", http_auth=scheme)
    s = session(sim, "cam")
    try:
        res = await check_health(s, 5.0)
        again = await check_health(s, 5.0)  # the challenge is kept: later calls authenticate at once
    finally:
        await s.close()
    assert res.state is Health.ONLINE, res.as_dict()
    assert again.state is Health.ONLINE and again.reasons == []
    assert cam.calls["GetProfiles"] == 2


async def test_http_auth_with_the_wrong_password_is_auth_failed(sim: OnvifSimulator) -> None:
    await add(sim, "cam", http_auth="digest")
    s = session(sim, "cam", password="wrong")
    try:
        res = await check_health(s, 5.0)
    finally:
        await s.close()
    assert res.state is Health.AUTH_FAILED, res.as_dict()


async def test_tokens_are_sent_in_the_cameras_time(sim: OnvifSimulator) -> None:
    await add(sim, "cam", clock_offset_s=-3600.0)
    s = session(sim, "cam")
    try:
        drift = await read_clock(s)
        info = await ops.get_device_information(s)
    finally:
        await s.close()
    assert -3601.0 <= drift <= -3599.0
    assert s.clock_offset == drift
    assert info["Manufacturer"] == "EdgeSim" and info["SerialNumber"] == "SN-cam"


async def test_a_service_the_device_lacks_is_a_fault(sim: OnvifSimulator) -> None:
    await add(sim, "cam", search=False)
    s = session(sim, "cam")
    try:
        assert NS_MEDIA in await s.discover()
        with pytest.raises(CallError) as exc:
            await ops.get_recording_summary(s)
    finally:
        await s.close()
    assert exc.value.kind == FAULT and "search" in exc.value.detail


async def test_unknown_profile_is_a_fault_not_garbage(sim: OnvifSimulator) -> None:
    await add(sim, "cam")
    s = session(sim, "cam")
    try:
        with pytest.raises(CallError) as exc:
            await ops.get_stream_uri(s, "no-such-profile")
    finally:
        await s.close()
    assert exc.value.kind == FAULT and exc.value.op == "GetStreamUri"


async def test_wrong_password_fault_is_auth_failed(sim: OnvifSimulator) -> None:
    await add(sim, "cam", wrong_password=True)
    s = session(sim, "cam")
    try:
        with pytest.raises(CallError) as exc:
            await ops.get_device_information(s)
    finally:
        await s.close()
    assert exc.value.kind == AUTH_FAILED


async def test_search_job_results_bounded_and_ended(sim: OnvifSimulator) -> None:
    nvr = await add(sim, "nvr", records=("cam-a", "cam-b"))
    await add(sim, "cam-a")
    await add(sim, "cam-b")
    s = session(sim, "nvr")
    try:
        job = await ops.find_recordings(s, None, max_matches=10, keep_alive="PT10S")
        infos = await ops.get_recording_search_results(s, job, "PT1S", max_results=10)
        await ops.end_search(s, job)
        with pytest.raises(CallError) as exc:  # the job is gone on the recorder
            await ops.get_recording_search_results(s, job, "PT1S")
    finally:
        await s.close()
    assert sorted(i.token for i in infos) == ["REC-cam-a", "REC-cam-b"]
    assert all(t.kind == "Video" and t.data_from and t.data_to for i in infos for t in i.tracks)
    assert exc.value.kind == FAULT and nvr.calls["EndSearch"] == 1


def test_replay_uri_reply_is_parsed() -> None:
    reply = (
        f'<s:Envelope xmlns:s="{soap.ENV12}"><s:Body><trp:GetReplayUriResponse xmlns:trp="{NS_REPLAY}">'
        "<trp:Uri>rtsp://192.0.2.10/replay/REC-1</trp:Uri></trp:GetReplayUriResponse></s:Body></s:Envelope>"
    ).encode()
    assert ops.parse_replay_uri(soap.reply(reply, NS_REPLAY, "GetReplayUri")) == "rtsp://192.0.2.10/replay/REC-1"
    with pytest.raises(soap.Malformed):
        ops.parse_replay_uri(
            soap.reply(reply.replace(b"rtsp://192.0.2.10/replay/REC-1", b""), NS_REPLAY, "GetReplayUri")
        )
