"""GetReplayUri on a Profile G recorder (ONVIF Replay service, http://www.onvif.org/ver10/replay/wsdl).

Kept to one function on its own so a change of SOAP client touches nothing else: the rest of the
clip fetch (edge.video.clip) only needs the URI.
"""

from __future__ import annotations

from typing import Final

from edge.onvif.session import CallError, OnvifSession

NS_REPLAY: Final = "http://www.onvif.org/ver10/replay/wsdl"
# Replay over RTSP, RTP interleaved in the RTSP connection: the transport every replay server offers.
STREAM_SETUP: Final = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
NO_REPLAY: Final = "no_replay_service"


async def replay_uri(session: OnvifSession, recording_token: str) -> str:
    """The RTSP URI of `recording_token` on `session`'s recorder, or CallError (kind NO_REPLAY when absent)."""
    xaddrs = await session.discover()
    if NS_REPLAY not in xaddrs:
        raise CallError("GetServices", NO_REPLAY, "the recorder offers no replay service")
    replay = await session.service("replay")
    answer = await session.call(
        "GetReplayUri", lambda: replay.GetReplayUri({"StreamSetup": STREAM_SETUP, "RecordingToken": recording_token})
    )
    uri = getattr(answer, "Uri", answer)
    if not isinstance(uri, str) or not uri.startswith(("rtsp://", "rtsps://")):
        raise session.malformed("GetReplayUri", "no rtsp:// Uri")
    return uri
