"""The site's device inventory as configured: what the registry table and the API list."""

from __future__ import annotations

from typing import Any

from edge.config import Config
from edge.config.police import receiver_id

__all__ = ["config_devices", "receiver_id"]


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
