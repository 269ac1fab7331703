"""The site's device inventory as configured: what the registry table and the API list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from edge.config import Config


def receiver_id(url: str) -> str:
    """Stable device id for a police receiver, e.g. dc09://10.0.0.1:12000 -> receiver-10.0.0.1-12000."""
    parts = urlsplit(url)
    return f"receiver-{parts.hostname}-{parts.port}"


def config_devices(config: Config) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = []
    for bus in config.serial_buses:
        devices.append({"id": bus.id, "type": "bus", "name": bus.id, "location": bus.port})
    for b in config.buttons:
        devices.append(
            {"id": b.id, "type": "button", "name": b.name, "location": b.location, "zone": b.zone, "tags": b.tags}
        )
    for c in config.cameras:
        devices.append({"id": c.id, "type": "camera", "name": c.name, "location": c.location, "tags": c.tags})
    if config.police:
        for i, url in enumerate(config.police.receivers):
            role = "主接收机 primary" if i == 0 else "备用接收机 backup"
            devices.append({"id": receiver_id(url), "type": "receiver", "name": role, "location": url})
    return devices
