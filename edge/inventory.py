"""The site's device inventory as configured: what the registry table and the API list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from edge.config import Config
from edge.relay.links import WEBHOOK_DEVICE_ID, receiver_device_id


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
            devices.append({"id": receiver_device_id(i), "type": "receiver", "name": role, "location": url})
        if config.police.webhook:
            hook = urlsplit(config.police.webhook.url)  # host only: a URL's path or query may carry a token
            devices.append(
                {
                    "id": WEBHOOK_DEVICE_ID,
                    "type": "receiver",
                    "name": "报警平台 webhook",
                    "location": f"{hook.scheme}://{hook.netloc}",
                }
            )
    if config.gb28181:
        devices.append(
            {
                "id": "police-gb28181",
                "type": "receiver",
                "name": "公安视频监控联网平台 GB/T 28181",
                "location": config.gb28181.server,
            }
        )
    return devices
