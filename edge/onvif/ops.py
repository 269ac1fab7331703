"""The ONVIF operations we call, typed: each builds its body and parses its answer (pure `_parse_*`).

Adding an operation is a body string and a parser over the `...Response` element; `OnvifSession.call`
does transport, auth, bounds and failure kinds. Parsers raise `soap.Malformed` for a missing field.
Element names are those of the ONVIF WSDLs (ver10 device, media, search).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from xml.sax.saxutils import escape

from edge.onvif.services import NS_DEVICE, NS_MEDIA, NS_REPLAY, NS_SEARCH
from edge.onvif.session import OnvifSession
from edge.onvif.soap import Malformed, child, children, need, opt_text, text, xs_datetime

DEVICE_FIELDS: Final = ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")


# --- device management -------------------------------------------------------------------------


def parse_system_date_and_time(r: ET.Element) -> float:
    """Camera UTC (epoch seconds) from a GetSystemDateAndTimeResponse."""
    u = need(r, "SystemDateAndTime", "UTCDateTime")
    d, t = need(u, "Date"), need(u, "Time")
    year, month, day = (int(text(d, k)) for k in ("Year", "Month", "Day"))
    hour, minute, second = (int(text(t, k)) for k in ("Hour", "Minute", "Second"))
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


async def get_system_date_and_time(s: OnvifSession, auth: bool = False) -> float:
    body = "<m:GetSystemDateAndTime/>"
    return await s.call(NS_DEVICE, "GetSystemDateAndTime", body, parse_system_date_and_time, auth=auth)


def parse_device_information(r: ET.Element) -> dict[str, str]:
    return {k: opt_text(r, k) or "" for k in DEVICE_FIELDS}


async def get_device_information(s: OnvifSession) -> dict[str, str]:
    return await s.call(NS_DEVICE, "GetDeviceInformation", "<m:GetDeviceInformation/>", parse_device_information)


# --- media -------------------------------------------------------------------------------------


def parse_profiles(r: ET.Element) -> list[str]:
    """The profile tokens, in the device's order."""
    return [tok for p in children(r, "Profiles") if (tok := p.get("token"))]


async def get_profiles(s: OnvifSession) -> list[str]:
    return await s.call(NS_MEDIA, "GetProfiles", "<m:GetProfiles/>", parse_profiles)


def parse_media_uri(r: ET.Element) -> str:
    uri = text(r, "MediaUri", "Uri")
    if not uri:
        raise Malformed("empty Uri")
    return uri


async def get_stream_uri(s: OnvifSession, profile: str) -> str:
    body = (
        "<m:GetStreamUri><m:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP"
        f"</tt:Protocol></tt:Transport></m:StreamSetup><m:ProfileToken>{escape(profile)}</m:ProfileToken>"
        "</m:GetStreamUri>"
    )
    return await s.call(NS_MEDIA, "GetStreamUri", body, parse_media_uri)


async def get_snapshot_uri(s: OnvifSession, profile: str) -> str:
    body = f"<m:GetSnapshotUri><m:ProfileToken>{escape(profile)}</m:ProfileToken></m:GetSnapshotUri>"
    return await s.call(NS_MEDIA, "GetSnapshotUri", body, parse_media_uri)


# --- search (Profile G) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Track:
    kind: str  # TrackType: Video, Audio, Metadata
    data_from: float | None
    data_to: float | None


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    token: str
    earliest: float | None
    latest: float | None
    tracks: tuple[Track, ...] = field(default=())


def _opt_time(el: ET.Element, name: str) -> float | None:
    value = opt_text(el, name)
    return xs_datetime(value) if value else None


def parse_recording_information(el: ET.Element) -> RecordingInfo:
    tracks = tuple(
        Track(opt_text(t, "TrackType") or "", _opt_time(t, "DataFrom"), _opt_time(t, "DataTo"))
        for t in children(el, "Track")
    )
    return RecordingInfo(
        text(el, "RecordingToken"), _opt_time(el, "EarliestRecording"), _opt_time(el, "LatestRecording"), tracks
    )


def parse_recording_summary(r: ET.Element) -> tuple[float, float]:
    summary = need(r, "Summary")
    return xs_datetime(text(summary, "DataFrom")), xs_datetime(text(summary, "DataUntil"))


async def get_recording_summary(s: OnvifSession) -> tuple[float, float]:
    """(DataFrom, DataUntil) over all the device's recordings."""
    return await s.call(NS_SEARCH, "GetRecordingSummary", "<m:GetRecordingSummary/>", parse_recording_summary)


def parse_search_token(r: ET.Element) -> str:
    token = text(r, "SearchToken")
    if not token:
        raise Malformed("empty SearchToken")
    return token


async def find_recordings(s: OnvifSession, recording: str | None, max_matches: int, keep_alive: str) -> str:
    """Start a recording search (scoped to one recording token when given); returns the search token."""
    scope = f"<tt:IncludedRecordings>{escape(recording)}</tt:IncludedRecordings>" if recording else ""
    body = (
        f"<m:FindRecordings><m:Scope>{scope}</m:Scope><m:MaxMatches>{max_matches}</m:MaxMatches>"
        f"<m:KeepAliveTime>{escape(keep_alive)}</m:KeepAliveTime></m:FindRecordings>"
    )
    return await s.call(NS_SEARCH, "FindRecordings", body, parse_search_token)


def parse_recording_search_results(r: ET.Element) -> list[RecordingInfo]:
    results = need(r, "ResultList")
    return [parse_recording_information(i) for i in children(results, "RecordingInformation")]


async def get_recording_search_results(
    s: OnvifSession, search_token: str, wait: str, max_results: int | None = None
) -> list[RecordingInfo]:
    most = f"<m:MaxResults>{max_results}</m:MaxResults>" if max_results is not None else ""
    body = (
        f"<m:GetRecordingSearchResults><m:SearchToken>{escape(search_token)}</m:SearchToken>{most}"
        f"<m:WaitTime>{escape(wait)}</m:WaitTime></m:GetRecordingSearchResults>"
    )
    return await s.call(NS_SEARCH, "GetRecordingSearchResults", body, parse_recording_search_results)


async def get_recording_information(s: OnvifSession, recording: str) -> RecordingInfo:
    token = f"<m:RecordingToken>{escape(recording)}</m:RecordingToken>"
    body = f"<m:GetRecordingInformation>{token}</m:GetRecordingInformation>"
    return await s.call(
        NS_SEARCH,
        "GetRecordingInformation",
        body,
        lambda r: parse_recording_information(need(r, "RecordingInformation")),
    )


async def end_search(s: OnvifSession, search_token: str) -> None:
    """End a search job now instead of letting it expire after its KeepAliveTime."""
    body = f"<m:EndSearch><m:SearchToken>{escape(search_token)}</m:SearchToken></m:EndSearch>"
    await s.call(NS_SEARCH, "EndSearch", body, lambda _r: None)


@dataclass(frozen=True, slots=True)
class EventResult:
    """One FindEventResult: its recording, time, topic (as sent, prefix included) and Data items."""

    recording: str
    time: float | None
    topic: str
    data: dict[str, str]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_event_result(el: ET.Element) -> EventResult:
    event = child(el, "Event")
    topic = (opt_text(event, "Topic") or "") if event is not None else ""
    outer = child(event, "Message") if event is not None else None
    message = child(outer, "Message") if outer is not None else None
    data = child(message, "Data") if message is not None else None
    items = {i.get("Name", ""): i.get("Value", "") for i in children(data, "SimpleItem")} if data is not None else {}
    return EventResult(opt_text(el, "RecordingToken") or "", _opt_time(el, "Time"), topic, items)


def parse_event_search_results(r: ET.Element) -> list[EventResult]:
    return [parse_event_result(e) for e in children(need(r, "ResultList"), "Result")]


async def find_events(
    s: OnvifSession, start: float, end: float, recording: str, max_matches: int, keep_alive: str
) -> str:
    """Start an event search over one recording's history (with the state at `start`); the search token."""
    body = (
        f"<m:FindEvents><m:StartPoint>{_iso(start)}</m:StartPoint><m:EndPoint>{_iso(end)}</m:EndPoint>"
        f"<m:Scope><tt:IncludedRecordings>{escape(recording)}</tt:IncludedRecordings></m:Scope>"
        "<m:SearchFilter/><m:IncludeStartState>true</m:IncludeStartState>"
        f"<m:MaxMatches>{max_matches}</m:MaxMatches><m:KeepAliveTime>{escape(keep_alive)}</m:KeepAliveTime>"
        "</m:FindEvents>"
    )
    return await s.call(NS_SEARCH, "FindEvents", body, parse_search_token)


async def get_event_search_results(
    s: OnvifSession, search_token: str, wait: str, max_results: int
) -> list[EventResult]:
    body = (
        f"<m:GetEventSearchResults><m:SearchToken>{escape(search_token)}</m:SearchToken>"
        f"<m:MaxResults>{max_results}</m:MaxResults><m:WaitTime>{escape(wait)}</m:WaitTime></m:GetEventSearchResults>"
    )
    return await s.call(NS_SEARCH, "GetEventSearchResults", body, parse_event_search_results)


# --- replay (Profile G) ------------------------------------------------------------------------


def parse_replay_uri(r: ET.Element) -> str:
    uri = text(r, "Uri")
    if not uri:
        raise Malformed("empty Uri")
    return uri


async def get_replay_uri(s: OnvifSession, recording: str) -> str:
    """The RTSP URI replaying `recording` (RTP over RTSP, the transport every replay server offers)."""
    body = (
        "<m:GetReplayUri><m:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP"
        f"</tt:Protocol></tt:Transport></m:StreamSetup><m:RecordingToken>{escape(recording)}</m:RecordingToken>"
        "</m:GetReplayUri>"
    )
    return await s.call(NS_REPLAY, "GetReplayUri", body, parse_replay_uri)
