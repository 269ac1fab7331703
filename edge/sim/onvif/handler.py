"""Dispatch one SOAP request to a simulated camera: auth, service routing, operation bodies."""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable

from edge.sim.onvif import event_search as ev
from edge.sim.onvif import responses as r
from edge.sim.onvif.soap import (
    ACTION_NOT_SUPPORTED,
    NAMESPACES,
    NOT_AUTHORIZED,
    SoapRequestError,
    envelope,
    fault,
    parse_request,
    verify_token,
)
from edge.sim.onvif.state import SimCamera

# ONVIF core spec: GetSystemDateAndTime is callable before authentication so clients can sync clocks.
PRE_AUTH = frozenset({"GetSystemDateAndTime"})
# Real cameras answer NotAuthorized with 400 (the spec's sender-fault status) or 401; 400 is the common case.
AUTH_FAULT_STATUS = 400
# Search jobs kept for GetRecordingSearchResults; a client that never fetches results must not grow memory.
MAX_JOBS = 256

SERVICE_OF_PATH = {
    r.DEVICE_PATH: NAMESPACES["tds"],
    r.MEDIA_PATH: NAMESPACES["trt"],
    r.SEARCH_PATH: NAMESPACES["tse"],
    r.REPLAY_PATH: NAMESPACES["trp"],
}


class Handler:
    """Stateless per request except for the search jobs a client opened with FindRecordings."""

    def __init__(self, lookup: r.Lookup) -> None:
        self._lookup = lookup
        self._jobs: OrderedDict[str, tuple[str, tuple[str, ...]]] = OrderedDict()
        self._job_ids = itertools.count(1)
        self._event_jobs: OrderedDict[str, ev.EventJob] = OrderedDict()

    def handle(
        self, cam: SimCamera, path: str, urls: r.Urls, recorded_ids: tuple[str, ...], data: bytes
    ) -> tuple[int, bytes]:
        service = SERVICE_OF_PATH.get(path)
        off = (service == NAMESPACES["tse"] and not cam.faults.search) or (
            service == NAMESPACES["trp"] and not r.has_replay(cam, urls)
        )
        if service is None or off:
            return 404, b"not found"
        try:
            req = parse_request(data)
        except SoapRequestError as exc:
            return 400, fault("env:Sender", "ter:WellFormed", str(exc))
        if req.namespace != service:
            return 400, ACTION_NOT_SUPPORTED
        if req.operation not in PRE_AUTH and not cam.accepts(verify_token(req.token, cam.username, cam.password)):
            return AUTH_FAULT_STATUS, NOT_AUTHORIZED
        cam.calls[req.operation] += 1
        body = self._operation(cam, req.operation, req.text, urls, recorded_ids)
        if body is None:
            return 400, ACTION_NOT_SUPPORTED
        return 200, envelope(body)

    def _operation(
        self, cam: SimCamera, op: str, text: Callable[[str], str | None], urls: r.Urls, recorded_ids: tuple[str, ...]
    ) -> str | None:
        match op:
            case "GetSystemDateAndTime":
                return r.system_date_and_time(cam)
            case "GetDeviceInformation":
                return r.device_information(cam)
            case "GetCapabilities":
                return r.capabilities(cam, urls)
            case "GetServices":
                return r.services(cam, urls)
            case "GetProfiles":
                return r.profiles(cam)
            case "GetStreamUri" | "GetSnapshotUri":
                token = text("ProfileToken")
                if token not in cam.profiles:
                    return None
                return r.media_uri(op, urls.stream if op == "GetStreamUri" else urls.snapshot)
            case "GetReplayUri":
                token = text("RecordingToken")
                held = {c.recording_token for c in r.recorded(cam, self._lookup, recorded_ids)}
                if urls.replay is None or token not in held:
                    return None
                return r.replay_uri(urls.replay(token))
        return self._search(cam, op, text, recorded_ids)

    def _search(
        self, cam: SimCamera, op: str, text: Callable[[str], str | None], recorded_ids: tuple[str, ...]
    ) -> str | None:
        sources = r.recorded(cam, self._lookup, recorded_ids)
        match op:
            case "GetRecordingSummary":
                return r.recording_summary(sources)
            case "FindRecordings":
                job = f"job-{cam.id}-{next(self._job_ids)}"
                self._jobs[job] = (cam.id, tuple(c.recording_token for c in sources if _in_scope(c, text)))
                while len(self._jobs) > MAX_JOBS:
                    self._jobs.popitem(last=False)
                return r.find_recordings(job)
            case "GetRecordingSearchResults":
                owner, tokens = self._jobs.get(text("SearchToken") or "", ("", ()))
                if owner != cam.id:
                    return None
                return r.search_results([c for c in sources if c.recording_token in tokens])
            case "GetRecordingInformation":
                token = text("RecordingToken")
                match = [c for c in sources if c.recording_token == token]
                return r.get_recording_information(match[0]) if match else None
            case "EndSearch":
                self._jobs.pop(text("SearchToken") or "", None)
                self._event_jobs.pop(text("SearchToken") or "", None)
                return r.end_search()
            case "FindEvents":
                start = ev.parse_time(text("StartPoint"))
                if start is None:
                    return None
                end = ev.parse_time(text("EndPoint")) or time.time()
                job = f"events-{cam.id}-{next(self._job_ids)}"
                tokens = tuple(c.recording_token for c in sources if _in_scope(c, text))
                self._event_jobs[job] = ev.EventJob(cam.id, tokens, start, end, text("IncludeStartState") == "true")
                while len(self._event_jobs) > MAX_JOBS:
                    self._event_jobs.popitem(last=False)
                return ev.find_events(job)
            case "GetEventSearchResults":
                found = self._event_jobs.get(text("SearchToken") or "")
                if found is None or found.camera != cam.id:
                    return None
                return ev.results(found, sources)
        return None


def _in_scope(src: SimCamera, text: Callable[[str], str | None]) -> bool:
    """FindRecordings scope: IncludedRecordings narrows to one token; an empty scope matches all."""
    wanted = text("IncludedRecordings")
    return not wanted or wanted == src.recording_token
