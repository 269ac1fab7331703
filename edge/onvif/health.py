"""One ONVIF health round for one camera: reachability, clock, auth, services, profiles, media URIs."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from edge.onvif import ops
from edge.onvif.session import AUTH_FAILED, NS_MEDIA, NS_SEARCH, CallError, OnvifSession
from edge.redact import redact_optional_url


class Health(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"  # answers, but some checks fail (see reasons)
    AUTH_FAILED = "auth_failed"  # answers, but rejects our credentials
    UNREACHABLE = "unreachable"  # no answer: refused, reset, or timed out


@dataclass(slots=True)
class HealthResult:
    state: Health
    reasons: list[str] = field(default_factory=list)  # failing checks, e.g. "snapshot_uri:fault"
    detail: str = ""
    drift_s: float | None = None
    clock_ok: bool | None = None
    device: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    stream_uri: str | None = None
    snapshot_uri: str | None = None
    has_search: bool = False
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """For showing (commissioning, diagnostics): the URIs the camera reported, credentials redacted."""
        d = asdict(self)
        d["state"] = str(self.state)
        d["stream_uri"] = redact_optional_url(self.stream_uri)
        d["snapshot_uri"] = redact_optional_url(self.snapshot_uri)
        return d


async def read_clock(session: OnvifSession) -> float:
    """Drift (camera minus us, seconds) from GetSystemDateAndTime, unauthenticated as the spec allows.

    The drift is also kept on the session: WS-Security timestamps are then sent in the camera's time,
    as cameras that check them against their own clock require.
    """
    t0 = time.time()
    try:
        cam_ts = await ops.get_system_date_and_time(session)
    except CallError as err:
        if err.kind != AUTH_FAILED:
            raise
        # Some cameras (Axis, ipycam) want credentials even for the clock, against the ONVIF spec.
        t0 = time.time()
        cam_ts = await ops.get_system_date_and_time(session, auth=True)
    t1 = time.time()
    # The camera truncates to whole seconds (+0.5 centres the error); compare with the round trip's middle.
    drift = round(cam_ts + 0.5 - (t0 + t1) / 2, 1)
    session.clock_offset = drift
    return drift


async def check_health(
    session: OnvifSession, max_clock_drift: float, profile_token: str | None = None, full: bool = True
) -> HealthResult:
    """A full round asks everything; a light one (full=False) only clock and authenticated device info."""
    started = time.monotonic()
    res = HealthResult(Health.ONLINE)
    try:
        await _run(session, res, max_clock_drift, profile_token, full)
    except CallError as err:
        # Stops the round: the camera cannot be talked to at all (or not with our password).
        res.state = Health.AUTH_FAILED if err.kind == AUTH_FAILED else Health.UNREACHABLE
        res.detail = str(err)
    if res.state is Health.ONLINE and res.reasons:
        res.state = Health.DEGRADED
    res.duration_s = round(time.monotonic() - started, 3)
    return res


async def _run(
    session: OnvifSession, res: HealthResult, max_drift: float, profile_token: str | None, full: bool
) -> None:
    try:
        res.drift_s = await read_clock(session)
        res.clock_ok = abs(res.drift_s) <= max_drift
        if not res.clock_ok:
            res.reasons.append("clock_drift")
    except CallError as err:
        if err.no_contact:
            raise
        res.reasons.append(f"clock:{err.kind}")

    try:
        info = await ops.get_device_information(session)
        res.device = {k: info[k] for k in ("Manufacturer", "Model", "FirmwareVersion")}
        if not any(res.device.values()):
            raise session.malformed("GetDeviceInformation", "empty answer")
    except CallError as err:
        if err.kind == AUTH_FAILED or err.no_contact:
            raise
        res.reasons.append(f"device_info:{err.kind}")

    if not full:
        return
    try:
        xaddrs = await session.discover()
    except CallError as err:
        if err.kind == AUTH_FAILED or err.no_contact:
            raise
        res.reasons.append(f"services:{err.kind}")
        return
    res.has_search = NS_SEARCH in xaddrs
    if NS_MEDIA not in xaddrs:
        res.reasons.append("media:missing")
        return
    await _media(session, res, profile_token)


async def _media(session: OnvifSession, res: HealthResult, profile_token: str | None) -> None:
    try:
        tokens = await ops.get_profiles(session)
    except CallError as err:
        if err.no_contact:
            raise
        res.reasons.append(f"profiles:{err.kind}")
        return
    if not tokens:
        res.reasons.append("profiles:none")
        return
    if profile_token is not None and profile_token not in tokens:
        res.reasons.append("profiles:configured_missing")
        return
    res.profile = profile_token or tokens[0]
    for attr, op in (("stream_uri", ops.get_stream_uri), ("snapshot_uri", ops.get_snapshot_uri)):
        try:
            setattr(res, attr, await op(session, res.profile))
        except CallError as err:
            if err.no_contact:
                raise
            res.reasons.append(f"{attr}:{err.kind}")
