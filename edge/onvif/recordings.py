"""What a recorder holds of one camera in a time range, through the ONVIF Search service (Profile G).

Used by the camera worker to answer the GB/T 28181 RecordInfo query. The recorder is the NVR of the
camera's `recorder` section (scoped to its `recording_token`) or the camera itself (its SD card: all
its recordings). Each recording's video tracks give the spans (DataFrom..DataTo), clipped to the range;
the recording history (FindEvents, topic RecordingHistory/Track/State, IsDataPresent false .. true)
cuts out the gaps, e.g. a power cut. A recorder without event search gives the spans uncut.
The SOAP operations are the typed ones of edge/onvif/ops.py.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Final

from edge.onvif import ops
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


def spans_of(info: ops.RecordingInfo, start: float, end: float) -> list[Span]:
    """The video spans of one RecordingInformation that overlap [start, end], clipped to it."""
    bounds = [(t.data_from, t.data_to) for t in info.tracks if t.kind == "Video"]
    if not bounds:  # a recorder that lists no tracks: the recording's own bounds
        bounds = [(info.earliest, info.latest)]
    out = []
    for lo, hi in bounds:
        if lo is None or hi is None or hi <= start or lo >= end:
            continue
        out.append(Span(max(lo, start), min(hi, end), info.token))
    return out


async def recorded_spans(session: OnvifSession, token: str | None, start: float, end: float) -> list[Span]:
    """FindRecordings (scoped to `token` on an NVR) and its results; spans sorted by start.

    Raises NoSearch without a search service and CallError when the recorder fails to answer."""
    xaddrs = await session.discover()
    if NS_SEARCH not in xaddrs:
        raise NoSearch(session.url)
    job = await ops.find_recordings(session, token, MAX_RECORDINGS, SEARCH_KEEPALIVE)
    try:
        infos = await ops.get_recording_search_results(session, job, SEARCH_WAIT, MAX_RECORDINGS)
    finally:
        with contextlib.suppress(CallError):  # the job expires on its own after KeepAliveTime
            await ops.end_search(session, job)
    spans = [s for i in infos[:MAX_RECORDINGS] if not token or i.token == token for s in spans_of(i, start, end)]
    if spans:
        holes: dict[str, list[tuple[float, float]]] = {}
        for rec in sorted({s.recording for s in spans}):  # one search per recording: some NVRs scope only one
            try:
                holes[rec] = await _gaps(session, rec, start, end)
            except CallError:  # no event search on this recorder: the tracks' bounds are all it tells
                break
        spans = [piece for s in spans for piece in cut(s, holes.get(s.recording, []))]
    return sorted(spans, key=lambda s: s.start)


def _present(result: ops.EventResult) -> bool | None:
    """IsDataPresent of one event of the recording-history topic; None for other events."""
    if not result.topic.endswith(HISTORY_TOPIC) or "IsDataPresent" not in result.data:
        return None
    return result.data["IsDataPresent"].lower() == "true"


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


async def _gaps(session: OnvifSession, token: str, start: float, end: float) -> list[tuple[float, float]]:
    """The no-data stretches of recording `token` in [start, end], from FindEvents (state at start included)."""
    job = await ops.find_events(session, start, end, token, MAX_EVENTS, SEARCH_KEEPALIVE)
    try:
        results = await ops.get_event_search_results(session, job, SEARCH_WAIT, MAX_EVENTS)
    finally:
        with contextlib.suppress(CallError):
            await ops.end_search(session, job)
    changes: list[tuple[float, bool]] = []
    for result in results[:MAX_EVENTS]:
        present = _present(result)
        if present is not None and result.time is not None and result.recording == token:
            changes.append((result.time, present))
    return absent(changes, end)
