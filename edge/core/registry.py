"""Build an `Engine` from the config: site rules, then the defaults, over the configured devices."""

from __future__ import annotations

from edge.config import Config
from edge.patrol.rounds import patrol_device_id
from edge.redact import redact_url
from edge.relay.links import WEBHOOK_DEVICE_ID, receiver_device_id
from edge.rules.defaults import default_rules
from edge.rules.engine import Engine
from edge.rules.match import DeviceInfo


def devices_from_config(config: Config) -> dict[str, DeviceInfo]:
    devices: dict[str, DeviceInfo] = {}
    for bus in config.serial_buses:
        devices[bus.id] = DeviceInfo(id=bus.id, type="bus", name=bus.id, location=bus.port)
    for b in config.buttons:
        coords = b.coordinates or (config.police.coordinates if config.police else None)
        devices[b.id] = DeviceInfo(
            id=b.id,
            type="button",
            name=b.name,
            location=b.location,
            zone=b.zone,
            tags=tuple(b.tags),
            coordinates=(coords.x, coords.y) if coords else None,
            verify_url=b.verify_url,
        )
    for c in config.cameras:
        devices[c.id] = DeviceInfo(id=c.id, type="camera", name=c.name, location=c.location, tags=tuple(c.tags))
    if config.police:
        for i, url in enumerate(config.police.receivers):
            role = "主接收机" if i == 0 else "备用接收机"
            rid = receiver_device_id(i)  # the id the relay's relay.link events carry
            devices[rid] = DeviceInfo(id=rid, type="receiver", name=f"{role} {url}", location=url)
        if config.police.webhook:
            url = redact_url(config.police.webhook.url)  # the query may carry a token
            devices[WEBHOOK_DEVICE_ID] = DeviceInfo(WEBHOOK_DEVICE_ID, "receiver", f"报警平台接口 {url}", url)
    if config.patrol:
        for plan in config.patrol.plans:
            pid = patrol_device_id(plan.id)  # the id edge.patrol.watch's patrol.round events carry
            devices[pid] = DeviceInfo(id=pid, type="patrol", name=plan.name or plan.id, location="巡查")
    return devices


def engine_from_config(config: Config) -> Engine:
    return Engine(
        rules=[*config.rules, *default_rules()],
        devices=devices_from_config(config),
        alarms=config.alarms,
        device_states=config.device_states,
        timezone=config.site.timezone,
    )
