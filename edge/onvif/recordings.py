"""What a recorder holds of one camera in a time range, through the ONVIF Search service (Profile G).

Used by the camera worker to answer the GB/T 28181 RecordInfo query. The recorder is the NVR of the
camera's `recorder` section (scoped to its `recording_token`) or the camera itself (its SD card: all
its recordings). Each recording's video tracks give the spans (DataFrom..DataTo), clipped to the range.
The ONVIF calls stay in this one function so a change of SOAP client touches only it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from edge.onvif.session import NS_SEARCH, CallError, OnvifSession

MAX_RECORDINGS: Final = 64
SEARCH_WAIT: Final = "PT2S"
SEARCH_KEEPALIVE: Final = "PT10S"


@dataclass(frozen=True, slots=True)
class Span:
    """Recorded video from `start` to `end` (epoch seconds) in recording `recording` on the recorder."""

    start: float
    end: float
    recording: str


class NoSearch(Exception):
    """The recorder has no search service: nothing can be listed (not the same as nothing recorded)."""


def _ts(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def spans_of(info: Any, start: float, end: float) -> list[Span]:
    """The video spans of one RecordingInformation that overlap [start, end], clipped to it."""
    token = str(getattr(info, "RecordingToken", "") or "")
    tracks = [t for t in getattr(info, "Track", None) or [] if getattr(t, "TrackType", "") == "Video"]
    bounds = [(_ts(getattr(t, "DataFrom", None)), _ts(getattr(t, "DataTo", None))) for t in tracks]
    if not bounds:  # a recorder that lists no tracks: the recording's own bounds
        bounds = [(_ts(getattr(info, "EarliestRecording", None)), _ts(getattr(info, "LatestRecording", None)))]
    out = []
    for lo, hi in bounds:
        if lo is None or hi is None or hi <= start or lo >= end:
            continue
        out.append(Span(max(lo, start), min(hi, end), token))
    return out


async def recorded_spans(session: OnvifSession, token: str | None, start: float, end: float) -> list[Span]:
    """FindRecordings (scoped to `token` on an NVR) and its results; spans sorted by start.

    Raises NoSearch without a search service and CallError when the recorder fails to answer."""
    xaddrs = await session.discover()
    if NS_SEARCH not in xaddrs:
        raise NoSearch(session.url)
    search = await session.service("search")
    scope: dict[str, Any] = {"IncludedRecordings": [token]} if token else {}
    job = await session.call(
        "FindRecordings",
        lambda: search.FindRecordings(
            {"Scope": scope, "MaxMatches": MAX_RECORDINGS, "KeepAliveTime": SEARCH_KEEPALIVE}
        ),
    )
    try:
        results = await session.call(
            "GetRecordingSearchResults",
            lambda: search.GetRecordingSearchResults(
                {"SearchToken": job, "MaxResults": MAX_RECORDINGS, "WaitTime": SEARCH_WAIT}
            ),
        )
    finally:
        with contextlib.suppress(CallError):  # the job expires on its own after KeepAliveTime
            await session.call("EndSearch", lambda: search.EndSearch({"SearchToken": job}))
    infos = getattr(results, "RecordingInformation", None) or []
    spans = [
        s for i in infos[:MAX_RECORDINGS] if not token or i.RecordingToken == token for s in spans_of(i, start, end)
    ]
    return sorted(spans, key=lambda s: s.start)
