"""What a recorder holds of one camera in a time range, through the ONVIF Search service (Profile G).

Used by the camera worker to answer the GB/T 28181 RecordInfo query. The recorder is the NVR of the
camera's `recorder` section (scoped to its `recording_token`) or the camera itself (its SD card: all
its recordings). Each recording's video tracks give the spans (DataFrom..DataTo), clipped to the range;
the recording history (FindEvents, topic RecordingHistory/Track/State, IsDataPresent false .. true)
cuts out the gaps, e.g. a power cut. A recorder without event search gives the spans uncut.
The ONVIF calls stay in the two `recorded_spans` / `_gaps` functions so a change of SOAP client
touches only them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from edge.onvif.session import NS_SEARCH, CallError, OnvifSession

MAX_RECORDINGS: Final = 64
SEARCH_WAIT: Final = "PT2S"
SEARCH_KEEPALIVE: Final = "PT10S"
HISTORY_TOPIC: Final = "RecordingHistory/Track/State"
MAX_EVENTS: Final = 1000


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
    if spans:
        holes: dict[str, list[tuple[float, float]]] = {}
        for rec in sorted({s.recording for s in spans}):  # one search per recording: some NVRs scope only one
            try:
                holes[rec] = await _gaps(session, search, rec, start, end)
            except CallError:  # no event search on this recorder: the tracks' bounds are all it tells
                break
        spans = [piece for s in spans for piece in cut(s, holes.get(s.recording, []))]
    return sorted(spans, key=lambda s: s.start)


def _present(result: Any) -> bool | None:
    """IsDataPresent of one FindEventResult of the recording-history topic; None for other events."""
    event = getattr(result, "Event", None)
    topic = getattr(getattr(event, "Topic", None), "_value_1", "") or ""
    if not str(topic).endswith(HISTORY_TOPIC):
        return None
    message = getattr(getattr(event, "Message", None), "_value_1", None)
    items = getattr(getattr(message, "Data", None), "SimpleItem", None) or []
    for item in items:
        if getattr(item, "Name", "") == "IsDataPresent":
            return str(getattr(item, "Value", "")).lower() == "true"
    return None


def absent(events: list[tuple[float, bool]], end: float) -> list[tuple[float, float]]:
    """The stretches with no data, from (time, IsDataPresent) state changes."""
    holes, since = [], None
    for at, present in sorted(events):
        if not present and since is None:
            since = at
        elif present and since is not None:
            holes.append((since, at))
            since = None
    if since is not None:
        holes.append((since, end))
    return holes


def cut(span: Span, holes: list[tuple[float, float]]) -> list[Span]:
    """`span` without the holes."""
    pieces, lo = [], span.start
    for a, b in sorted(holes):
        if b <= lo or a >= span.end:
            continue
        if a > lo:
            pieces.append(Span(lo, a, span.recording))
        lo = max(lo, b)
    if lo < span.end:
        pieces.append(Span(lo, span.end, span.recording))
    return pieces


async def _gaps(session: OnvifSession, search: Any, token: str, start: float, end: float) -> list[tuple[float, float]]:
    """The no-data stretches of recording `token` in [start, end], from FindEvents (state at start included)."""
    query = {
        "StartPoint": datetime.fromtimestamp(start, UTC),
        "EndPoint": datetime.fromtimestamp(end, UTC),
        "Scope": {"IncludedRecordings": [token]},
        "SearchFilter": {},
        "IncludeStartState": True,
        "MaxMatches": MAX_EVENTS,
        "KeepAliveTime": SEARCH_KEEPALIVE,
    }
    job = await session.call("FindEvents", lambda: search.FindEvents(query))
    try:
        results = await session.call(
            "GetEventSearchResults",
            lambda: search.GetEventSearchResults(
                {"SearchToken": job, "MaxResults": MAX_EVENTS, "WaitTime": SEARCH_WAIT}
            ),
        )
    finally:
        with contextlib.suppress(CallError):
            await session.call("EndSearch", lambda: search.EndSearch({"SearchToken": job}))
    changes: list[tuple[float, bool]] = []
    for result in (getattr(results, "Result", None) or [])[:MAX_EVENTS]:
        present, at = _present(result), _ts(getattr(result, "Time", None))
        if present is not None and at is not None and str(getattr(result, "RecordingToken", "")) == token:
            changes.append((at, present))
    return absent(changes, end)
