"""Response bodies for the ONVIF operations the simulator serves (element names from the shipped WSDLs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from edge.sim.onvif.soap import NAMESPACES
from edge.sim.onvif.state import SimCamera

DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
SEARCH_PATH = "/onvif/search_service"
REPLAY_PATH = "/onvif/replay_service"


@dataclass(frozen=True, slots=True)
class Urls:
    """Where a simulated camera says its services and video are."""

    onvif_base: str  # http://127.0.0.1:PORT
    snapshot: str
    stream: str
    replay: Callable[[str], str] | None = None  # recording token -> RTSP replay URI; None: no replay service


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dt(ts: float) -> str:
    d = datetime.fromtimestamp(ts, tz=UTC)
    return (
        f"<tt:Time><tt:Hour>{d.hour}</tt:Hour><tt:Minute>{d.minute}</tt:Minute><tt:Second>{d.second}</tt:Second>"
        f"</tt:Time><tt:Date><tt:Year>{d.year}</tt:Year><tt:Month>{d.month}</tt:Month><tt:Day>{d.day}</tt:Day></tt:Date>"
    )


def system_date_and_time(cam: SimCamera) -> str:
    t = cam.clock()
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
        "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime>{_dt(t)}</tt:UTCDateTime><tt:LocalDateTime>{_dt(t + 8 * 3600)}</tt:LocalDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def device_information(cam: SimCamera) -> str:
    return (
        f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{escape(cam.manufacturer)}</tds:Manufacturer>"
        f"<tds:Model>{escape(cam.model)}</tds:Model><tds:FirmwareVersion>{escape(cam.firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>SN-{escape(cam.id)}</tds:SerialNumber><tds:HardwareId>HW-1</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def has_replay(cam: SimCamera, urls: Urls) -> bool:
    return urls.replay is not None and cam.faults.replay


def capabilities(cam: SimCamera, urls: Urls) -> str:
    search = ""
    if cam.faults.search:
        search = (
            f"<tt:Search><tt:XAddr>{urls.onvif_base}{SEARCH_PATH}</tt:XAddr>"
            "<tt:MetadataSearch>false</tt:MetadataSearch></tt:Search>"
        )
    if has_replay(cam, urls):
        search += f"<tt:Replay><tt:XAddr>{urls.onvif_base}{REPLAY_PATH}</tt:XAddr></tt:Replay>"
    if search:
        search = f"<tt:Extension>{search}</tt:Extension>"
    return (
        "<tds:GetCapabilitiesResponse><tds:Capabilities>"
        f"<tt:Device><tt:XAddr>{urls.onvif_base}{DEVICE_PATH}</tt:XAddr></tt:Device>"
        f"<tt:Media><tt:XAddr>{urls.onvif_base}{MEDIA_PATH}</tt:XAddr><tt:StreamingCapabilities>"
        "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
        f"</tt:StreamingCapabilities></tt:Media>{search}"
        "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


def services(cam: SimCamera, urls: Urls) -> str:
    entries = [(NAMESPACES["tds"], DEVICE_PATH), (NAMESPACES["trt"], MEDIA_PATH)]
    if cam.faults.search:
        entries.append((NAMESPACES["tse"], SEARCH_PATH))
    if has_replay(cam, urls):
        entries.append((NAMESPACES["trp"], REPLAY_PATH))
    body = "".join(
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{urls.onvif_base}{path}</tds:XAddr>"
        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
        for ns, path in entries
    )
    return f"<tds:GetServicesResponse>{body}</tds:GetServicesResponse>"


def profiles(cam: SimCamera) -> str:
    body = "".join(
        f'<trt:Profiles token="{escape(tok)}" fixed="true"><tt:Name>{escape(tok)}</tt:Name>'
        '<tt:VideoEncoderConfiguration token="VE_1"><tt:Name>VE_1</tt:Name><tt:UseCount>1</tt:UseCount>'
        "<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>640</tt:Width><tt:Height>360</tt:Height>"
        "</tt:Resolution><tt:Quality>4</tt:Quality></tt:VideoEncoderConfiguration></trt:Profiles>"
        for tok in cam.profiles
    )
    return f"<trt:GetProfilesResponse>{body}</trt:GetProfilesResponse>"


def media_uri(op: str, uri: str) -> str:
    return (
        f"<trt:{op}Response><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
        f"<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{op}Response>"
    )


Lookup = Callable[[str], SimCamera | None]


def recorded(cam: SimCamera, lookup: Lookup, recorded_ids: tuple[str, ...]) -> list[SimCamera]:
    """The cameras whose video this recorder holds (an NVR holds several; a camera holds its own)."""
    found = [lookup(cid) for cid in recorded_ids] if recorded_ids else [cam]
    return [c for c in found if c is not None]


def recording_summary(sources: list[SimCamera]) -> str:
    if not sources:
        now = time.time()
        return _summary(now, now, 0)
    ranges = [c.data_range() for c in sources]
    return _summary(min(r[0] for r in ranges), max(r[1] for r in ranges), len(sources))


def _summary(start: float, end: float, n: int) -> str:
    return (
        f"<tse:GetRecordingSummaryResponse><tse:Summary><tt:DataFrom>{iso(start)}</tt:DataFrom>"
        f"<tt:DataUntil>{iso(end)}</tt:DataUntil><tt:NumberRecordings>{n}</tt:NumberRecordings>"
        "</tse:Summary></tse:GetRecordingSummaryResponse>"
    )


def recording_information(src: SimCamera, tag: str = "tt:RecordingInformation") -> str:
    start, end = src.data_range()
    status = "Recording" if src.faults.stalled_s <= 0 else "Stopped"
    return (
        f"<{tag}><tt:RecordingToken>{escape(src.recording_token)}</tt:RecordingToken>"
        f"<tt:Source><tt:SourceId>{escape(src.id)}</tt:SourceId><tt:Name>{escape(src.id)}</tt:Name>"
        "<tt:Location>sim</tt:Location><tt:Description>simulated</tt:Description>"
        f"<tt:Address>urn:edge-sim:{escape(src.id)}</tt:Address></tt:Source>"
        f"<tt:EarliestRecording>{iso(start)}</tt:EarliestRecording><tt:LatestRecording>{iso(end)}</tt:LatestRecording>"
        "<tt:Content>continuous</tt:Content>"
        "<tt:Track><tt:TrackToken>VIDEO001</tt:TrackToken><tt:TrackType>Video</tt:TrackType>"
        f"<tt:Description>video</tt:Description><tt:DataFrom>{iso(start)}</tt:DataFrom><tt:DataTo>{iso(end)}</tt:DataTo>"
        f"</tt:Track><tt:RecordingStatus>{status}</tt:RecordingStatus></{tag}>"
    )


def find_recordings(job: str) -> str:
    return f"<tse:FindRecordingsResponse><tse:SearchToken>{escape(job)}</tse:SearchToken></tse:FindRecordingsResponse>"


def search_results(found: list[SimCamera]) -> str:
    infos = "".join(recording_information(c) for c in found)
    return (
        "<tse:GetRecordingSearchResultsResponse><tse:ResultList><tt:SearchState>Completed</tt:SearchState>"
        f"{infos}</tse:ResultList></tse:GetRecordingSearchResultsResponse>"
    )


def get_recording_information(src: SimCamera) -> str:
    info = recording_information(src, "tse:RecordingInformation")
    return f"<tse:GetRecordingInformationResponse>{info}</tse:GetRecordingInformationResponse>"


def end_search() -> str:
    return "<tse:EndSearchResponse><tse:Endpoint>1970-01-01T00:00:00Z</tse:Endpoint></tse:EndSearchResponse>"


def replay_uri(uri: str) -> str:
    return f"<trp:GetReplayUriResponse><trp:Uri>{escape(uri)}</trp:Uri></trp:GetReplayUriResponse>"
