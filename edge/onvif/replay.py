"""GetReplayUri on a Profile G recorder (ONVIF Replay service, http://www.onvif.org/ver10/replay/wsdl).

The rest of the clip fetch (edge.video.clip) only needs the URI; the SOAP operation itself is the
typed `ops.get_replay_uri`.
"""

from __future__ import annotations

from typing import Final

from edge.onvif import ops
from edge.onvif.session import NS_REPLAY, CallError, OnvifSession

NO_REPLAY: Final = "no_replay_service"


async def replay_uri(session: OnvifSession, recording_token: str) -> str:
    """The RTSP URI of `recording_token` on `session`'s recorder, or CallError (kind NO_REPLAY when absent)."""
    xaddrs = await session.discover()
    if NS_REPLAY not in xaddrs:
        raise CallError("GetServices", NO_REPLAY, "the recorder offers no replay service")
    uri = await ops.get_replay_uri(session, recording_token)
    if not uri.startswith(("rtsp://", "rtsps://")):
        raise session.malformed("GetReplayUri", "no rtsp:// Uri")
    return uri
