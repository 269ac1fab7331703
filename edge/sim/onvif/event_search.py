"""The simulator's Profile G event search: FindEvents / GetEventSearchResults over the recording history.

A simulated camera's `gaps` fault ([from_ago_s, to_ago_s] pairs: no video between now - from_ago_s
and now - to_ago_s, e.g. a power cut) is reported the way a recorder does it: one
`tns1:RecordingHistory/Track/State` event with IsDataPresent=false where a gap starts and one with
true where it ends, plus (IncludeStartState) the state at the search's start point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from edge.sim.onvif.responses import iso
from edge.sim.onvif.state import SimCamera

TOPIC = "tns1:RecordingHistory/Track/State"
TOPIC_NS = 'xmlns:tns1="http://www.onvif.org/ver10/topics"'
WSNT_NS = 'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2"'
DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
TRACK = "VIDEO001"
MAX_EVENTS = 1000


@dataclass(frozen=True, slots=True)
class EventJob:
    camera: str
    tokens: tuple[str, ...]
    start: float
    end: float
    start_state: bool


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def gaps_of(src: SimCamera) -> list[tuple[float, float]]:
    now = time.time()
    return sorted((now - a, now - b) for a, b in src.faults.gaps)


def _event(src: SimCamera, at: float, present: bool, start_state: bool) -> str:
    value = "true" if present else "false"
    return (
        f"<tt:Result><tt:RecordingToken>{escape(src.recording_token)}</tt:RecordingToken>"
        f"<tt:TrackToken>{TRACK}</tt:TrackToken><tt:Time>{iso(at)}</tt:Time>"
        f"<tt:Event {WSNT_NS}><wsnt:Topic Dialect='{DIALECT}' {TOPIC_NS}>{TOPIC}</wsnt:Topic>"
        f"<wsnt:Message><tt:Message UtcTime='{iso(at)}'><tt:Source><tt:SimpleItem Name='Track' Value='{TRACK}'/>"
        f"</tt:Source><tt:Data><tt:SimpleItem Name='IsDataPresent' Value='{value}'/></tt:Data></tt:Message>"
        f"</wsnt:Message></tt:Event><tt:StartStateEvent>{'true' if start_state else 'false'}</tt:StartStateEvent>"
        "</tt:Result>"
    )


def results(job: EventJob, sources: list[SimCamera]) -> str:
    """GetEventSearchResults for a job: every gap edge inside [start, end], in time order."""
    events: list[tuple[float, str]] = []
    for src in sources:
        if src.recording_token not in job.tokens:
            continue
        gaps = gaps_of(src)
        if job.start_state:
            inside = any(a <= job.start < b for a, b in gaps)
            events.append((job.start, _event(src, job.start, not inside, True)))
        for a, b in gaps:
            if job.start < a <= job.end:
                events.append((a, _event(src, a, False, False)))
            if job.start < b <= job.end:
                events.append((b, _event(src, b, True, False)))
    body = "".join(e for _, e in sorted(events, key=lambda x: x[0])[:MAX_EVENTS])
    return (
        "<tse:GetEventSearchResultsResponse><tse:ResultList><tt:SearchState>Completed</tt:SearchState>"
        f"{body}</tse:ResultList></tse:GetEventSearchResultsResponse>"
    )


def find_events(job: str) -> str:
    return f"<tse:FindEventsResponse><tse:SearchToken>{escape(job)}</tse:SearchToken></tse:FindEventsResponse>"
