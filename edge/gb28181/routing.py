"""Which police reports go to the GB/T 28181 platform, and the camera faults added for it.

Panic and tamper of a button with a `gb28181_id` become alarms on its channel; a button's TROUBLE /
TROUBLE_RESTORE and a camera with an ID going offline / back become device-fault alarms. Test
reports stay off the police video platform (they are technicians' traffic).
"""

from __future__ import annotations

from edge.config import Config
from edge.events import Event, EventKind
from edge.relay.message import PoliceCode, PoliceMessage

TRANSPORT = "gb28181"
RELAYED = (PoliceCode.PANIC, PoliceCode.TAMPER, PoliceCode.TROUBLE, PoliceCode.TROUBLE_RESTORE)


def _ids(config: Config) -> set[str]:
    return {d.id for d in [*config.buttons, *config.cameras] if d.gb28181_id}


def wants(config: Config, msg: PoliceMessage) -> bool:
    return config.gb28181 is not None and msg.code in RELAYED and not msg.test and msg.device_id in _ids(config)


def transports(config: Config, msg: PoliceMessage, base: list[str]) -> list[str]:
    return [*base, TRANSPORT] if wants(config, msg) else base


def camera_fault(config: Config, event: Event) -> PoliceMessage | None:
    """A device-fault report for a camera channel going offline or back (cameras send no DC-09 report)."""
    if config.gb28181 is None or event.kind not in (EventKind.DEVICE_OFFLINE, EventKind.DEVICE_ONLINE) or event.test:
        return None
    cam = next((c for c in config.cameras if c.id == event.device_id and c.gb28181_id), None)
    if cam is None:
        return None
    code = PoliceCode.TROUBLE if event.kind is EventKind.DEVICE_OFFLINE else PoliceCode.TROUBLE_RESTORE
    return PoliceMessage(event.id, cam.id, code, 0, event.ts_ms, location=cam.location)
