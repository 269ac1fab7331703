"""The gateway's GB/T 28181 channels, from the config: cameras (type 132) and buttons (type 134)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.config import Config


@dataclass(frozen=True, slots=True)
class Channel:
    gb_id: str
    device_id: str  # the edge device id (cam-gate, gate-south)
    kind: str  # "camera" or "button"
    name: str
    location: str
    camera_gb_id: str | None = None  # a button's linked camera channel
    camera_name: str | None = None
    stream_uri: str | None = None  # a camera's RTSP URI for live view (config stream_uri; else ONVIF's)
    username: str | None = None  # the camera's RTSP credentials
    password_file: Path | None = None


def channels(config: Config) -> list[Channel]:
    cams = {c.id: c for c in config.cameras}
    out = [
        Channel(
            c.gb28181_id,
            c.id,
            "camera",
            c.name,
            c.location,
            stream_uri=c.stream_uri,
            username=c.username,
            password_file=c.password_file,
        )
        for c in config.cameras
        if c.gb28181_id
    ]
    for b in config.buttons:
        if not b.gb28181_id:
            continue
        cam = cams.get(b.camera) if b.camera else None
        out.append(
            Channel(
                b.gb28181_id,
                b.id,
                "button",
                b.name,
                b.location,
                camera_gb_id=cam.gb28181_id if cam else None,
                camera_name=cam.name if cam else None,
            )
        )
    return out
