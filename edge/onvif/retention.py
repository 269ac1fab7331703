"""Retention verified from the recorder itself through the ONVIF Search service (Profile G).

The recorder is the camera (its own SD card / NAS recording) or the NVR named in the camera's
`recorder` section together with the camera's recording token on that NVR.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from edge.onvif import ops
from edge.onvif.session import NS_SEARCH, CallError, OnvifSession

DAY_S = 86_400.0
# Search results are asked for with this server-side wait; enough for an NVR indexing a few hundred recordings.
SEARCH_WAIT = "PT2S"
# A search job the recorder may drop after this long if we never end it.
SEARCH_KEEPALIVE = "PT10S"


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    SHORT = "short"  # recording fine, but the oldest data is younger than required
    STALLED = "stalled"  # newest data older than max_recording_lag: recording stopped
    UNVERIFIABLE = "unverifiable"  # the recorder has no search service: cannot be proven, never a pass
    UNKNOWN = "unknown"  # could not ask (unreachable, auth, garbage, no such recording)


@dataclass(slots=True)
class RetentionResult:
    verdict: Verdict
    required_days: int
    recorder: str
    retained_days: float | None = None
    shortfall_days: float | None = None
    newest_age_s: float | None = None
    earliest: float | None = None  # epoch seconds
    newest: float | None = None
    detail: str = ""

    def payload(self) -> dict[str, Any]:
        """The camera.retention event payload."""
        return {
            "verdict": str(self.verdict),
            "retained_days": self.retained_days,
            "required_days": self.required_days,
            "shortfall_days": self.shortfall_days,
            "newest_age_s": self.newest_age_s,
            "recorder": self.recorder,
            **({"detail": self.detail} if self.detail else {}),
        }

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = str(self.verdict)
        return d


def judge(
    earliest: float, newest: float, now: float, required_days: int, max_lag_s: float, recorder: str
) -> RetentionResult:
    """Pure verdict. Retained days are rounded to 0.01 so a recorder that keeps exactly N days passes N."""
    retained = round((now - earliest) / DAY_S, 2)
    shortfall = max(0.0, round(required_days - retained, 1))
    age = round(max(0.0, now - newest), 1)
    if age > max_lag_s:
        verdict = Verdict.STALLED
    elif retained < required_days:
        verdict = Verdict.SHORT
    else:
        verdict = Verdict.PASS
    return RetentionResult(verdict, required_days, recorder, retained, shortfall, age, earliest, newest)


def _range(info: ops.RecordingInfo) -> tuple[float, float] | None:
    """(earliest, newest) of one RecordingInformation: its video tracks, else its recording bounds."""
    tracks = [t for t in info.tracks if t.kind == "Video"]
    starts = [t.data_from for t in tracks if t.data_from is not None]
    ends = [t.data_to for t in tracks if t.data_to is not None]
    start = min(starts) if starts else info.earliest
    end = max(ends) if ends else info.latest
    return (start, end) if start is not None and end is not None else None


async def _recording_range(session: OnvifSession, token: str) -> tuple[float, float] | None:
    """The range of one recording on an NVR: FindRecordings scoped to it, else GetRecordingInformation."""
    job = await ops.find_recordings(session, token, max_matches=10, keep_alive=SEARCH_KEEPALIVE)
    results = await ops.get_recording_search_results(session, job, SEARCH_WAIT)
    infos = [i for i in results if i.token == token]
    if not infos:
        infos = [await ops.get_recording_information(session, token)]
    ranges = [r for r in map(_range, infos) if r is not None]
    return (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None


async def check_retention(
    session: OnvifSession,
    required_days: int,
    max_lag_s: float,
    recording_token: str | None = None,
    now: float | None = None,
) -> RetentionResult:
    """Ask `session`'s device (camera or NVR) how far back this camera's video goes."""
    recorder = session.url
    try:
        xaddrs = await session.discover()
        if NS_SEARCH not in xaddrs:
            return RetentionResult(Verdict.UNVERIFIABLE, required_days, recorder, detail="no search service")
        if recording_token:
            found = await _recording_range(session, recording_token)
        else:
            found = await ops.get_recording_summary(session)
    except CallError as err:
        return RetentionResult(Verdict.UNKNOWN, required_days, recorder, detail=f"{err.op}: {err.kind}")
    if found is None:
        return RetentionResult(Verdict.UNKNOWN, required_days, recorder, detail=f"no recording {recording_token}")
    return judge(found[0], found[1], time.time() if now is None else now, required_days, max_lag_s, recorder)
