"""Shared pieces for the GB/T 28181 tests: a device config pointed at a simulator."""

from __future__ import annotations

import asyncio
import threading
import time

from edge.config.gb28181 import Gb28181
from edge.gb28181.channels import Channel
from edge.sim.gb28181_platform import PlatformSim

DEVICE_ID = "34020000001180000001"
# The `gb28181:` section of a real daemon's config (a format string: {server}, {device}, {dir}); each
# test appends its keepalive settings.
GB_SECTION = """\
gb28181:
  server_id: "34020000002000000001"
  server: "{server}"
  device_id: "{device}"
  password_file: {dir}/gb.pass
  local_port: 0
  expires: 60
"""
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


class SimThread:
    """The simulator on its own event loop in a thread, for tests that drive a daemon subprocess."""

    def __init__(self, transport: str = "udp", port: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.sim = PlatformSim(transport=transport)
        self.port = port
        self.start()

    def call(self, coro: object, timeout: float = 10.0) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def start(self) -> None:
        self.call(self.sim.start("127.0.0.1", self.port))
        self.port = self.sim.port

    def stop(self) -> None:
        self.call(self.sim.stop())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def wait(self, predicate: object, timeout: float = 20.0) -> None:
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met in {timeout} s")
            time.sleep(0.05)
