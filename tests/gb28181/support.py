"""Shared pieces for the GB/T 28181 tests: a device config pointed at a simulator."""

from __future__ import annotations

from edge.config.gb28181 import Gb28181
from edge.gb28181.channels import Channel
from edge.sim.gb28181_platform import PlatformSim

DEVICE_ID = "34020000001180000001"
CAM = Channel("34020000001320000001", "cam-gate", "camera", "南门枪机", "南门")
BUTTONS = [
    Channel(f"3402000000134000000{i}", f"btn-{i}", "button", f"按钮{i}", f"位置{i}", CAM.gb_id, CAM.name)
    for i in range(1, 7)
]


def gb_config(sim: PlatformSim, **kw: object) -> Gb28181:
    values: dict[str, object] = {
        "server_id": sim.server_id,
        "server": sim.url,
        "device_id": DEVICE_ID,
        "local_port": 0,
        "expires": 60,
        "keepalive_interval": 0.3,
        "keepalive_timeout_count": 3,
    }
    values.update(kw)
    return Gb28181.model_validate(values)
