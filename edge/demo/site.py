"""Every simulator of the demo school, started and stopped together (in the demo's own event loop).

Serial lines are socat pairs (or Python ptys), the Modbus modules and ONVIF cameras are in-process
asyncio servers, the MQTT buttons are paho clients, the broker is a child process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from paho.mqtt import publish

from edge.demo.broker import Broker
from edge.demo.plan import (
    BUSES,
    CAMERA_PASSWORD,
    CAMERA_USER,
    CAMERAS,
    GB_CAMERAS,
    MQTT_BUTTONS,
    NVR_ID,
    RECORDED_CAMERA,
)
from edge.demo.police_page import PolicePage
from edge.demo.police_video import PoliceVideo
from edge.demo.procs import SocatLine
from edge.sim.modbus import ModbusSim
from edge.sim.mqtt_buttons import SimMqttButton
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import Faults, SimCamera
from edge.sim.pty_pair import PtyPair
from edge.sim.receiver import DemoReceiver, Report
from edge.sim.receiver_page import ReceiverPage
from edge.sim.recorder.nvr import SimRecorder
from edge.sim.video_server import VideoServer
from edge.sim.wsd import WSD_PORT, CameraMeta, WsdResponder

log = logging.getLogger(__name__)

# The MQTT buttons' heartbeat period: a third of their 30 s heartbeat_timeout, so one lost beat is harmless.
HEARTBEAT_S = 10.0


class DemoSite:
    def __init__(
        self,
        state: Path,
        key: bytes | None,
        on_report: Callable[[Report], None] | None = None,
        gb_password: str | None = None,
    ) -> None:
        """`gb_password` brings up the police video platform (GB/T 28181) the gateway registers with."""
        self.state = state
        self.lines: dict[str, SocatLine | PtyPair] = {}
        self.bus_ports: dict[str, Path] = {}  # bus id -> the end the daemon opens
        self.modbus: dict[str, ModbusSim] = {}
        self.broker = Broker(state)
        self.mqtt: dict[str, SimMqttButton] = {}
        # The video server's port is only known at start; the ONVIF simulator is made then.
        self.video = VideoServer("127.0.0.1", 0)
        self.onvif = OnvifSimulator("127.0.0.1")
        self.wsd = WsdResponder(self.onvif, {c.id: CameraMeta(c.name, c.location) for c in CAMERAS})
        self.receiver = DemoReceiver(key=key, log_path=state / "received.jsonl", on_report=on_report)
        self.page = ReceiverPage(self.receiver)
        self.recorder = SimRecorder("127.0.0.1")
        self.police = PoliceVideo(gb_password, list(GB_CAMERAS)) if gb_password is not None else None
        self.police_page = PolicePage(self.police) if self.police is not None else None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        socat = shutil.which("socat")
        for bus, units in BUSES.items():
            sim_end, edge_end = self.state / f"{bus}-sim", self.state / f"{bus}-edge"
            if socat:
                self.lines[bus] = SocatLine(socat, sim_end, edge_end)
            else:
                self.lines[bus] = PtyPair(sim_end, edge_end).start()
            sim = ModbusSim()
            await sim.start(sim_end, units)
            self.modbus[bus], self.bus_ports[bus] = sim, edge_end
        self.broker.start()
        for m in MQTT_BUTTONS:
            button = SimMqttButton(self.broker.url, "edge", m.id)
            await asyncio.to_thread(button.power_on)
            self.mqtt[m.id] = button
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="demo:heartbeats"))
        for c in CAMERAS:
            self.video.add_camera(c.id, c.faults.get("video_mode", "normal"))
        await self.video.start()
        await self.recorder.start()
        self.onvif = OnvifSimulator(
            "127.0.0.1",
            f"http://127.0.0.1:{self.video.port}",
            on_video_mode=self.video.set_mode,
            replay=self.recorder.replay_url,
        )
        self.wsd.sim = self.onvif
        for c in CAMERAS:
            faults = Faults()
            faults.update(c.faults)
            await self.onvif.add(SimCamera(c.id, CAMERA_USER, CAMERA_PASSWORD, faults=faults))
        # The NVR records the camera's live MJPEG as H.264, as an NVR does for an MJPEG camera.
        nvr = SimCamera(NVR_ID, CAMERA_USER, CAMERA_PASSWORD, manufacturer="EdgeSim", model="SIM-NVR-8")
        await self.onvif.add(nvr, records=(RECORDED_CAMERA,))
        self.recorder.record(f"REC-{RECORDED_CAMERA}", f"http://127.0.0.1:{self.video.port}/mjpeg/{RECORDED_CAMERA}")
        try:
            await self.wsd.start("127.0.0.1", WSD_PORT)
        except OSError:  # 3702 taken (another demo, a real WS-Discovery daemon): any port answers unicast probes
            await self.wsd.start("127.0.0.1", 0)
        await self.receiver.start()
        await self.page.start()
        if self.police is not None and self.police_page is not None:
            await self.police.start()
            await self.police_page.start()

    async def patrol_checkin(self, tag: str, guard: str) -> None:
        """One touch of the demo's patrol reader (`edge/patrol/demo-reader/checkin`)."""
        body = json.dumps({"tag": tag, "ts": time.time(), "guard": guard}, ensure_ascii=False)
        topic = "edge/patrol/demo-reader/checkin"
        await asyncio.to_thread(publish.single, topic, body, qos=1, hostname="127.0.0.1", port=self.broker.port)

    def recorder_url(self) -> str:
        return self.onvif.url(NVR_ID)

    def camera_urls(self) -> dict[str, str]:
        return {c.id: self.onvif.url(c.id) for c in CAMERAS}

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for b in self.mqtt.values():
                try:
                    await asyncio.to_thread(b.heartbeat)
                except (RuntimeError, OSError, ValueError) as exc:
                    log.warning("simulated button %s: heartbeat failed: %s", b.id, exc)

    async def stop(self) -> None:
        """Everything stops, even when a part fails to: each step is tried on its own."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        steps: list[tuple[str, Callable[[], object]]] = [("page", self.page.stop), ("receiver", self.receiver.stop)]
        if self.police is not None and self.police_page is not None:
            steps += [("police-page", self.police_page.stop), ("police-video", self.police.stop)]
        steps += [("wsd", self.wsd.stop)]
        steps += [("onvif", self.onvif.close), ("recorder", self.recorder.close), ("video", self.video.stop)]
        steps += [(f"mqtt:{k}", b.close) for k, b in self.mqtt.items()]
        steps += [("broker", self.broker.stop)]
        steps += [(f"modbus:{k}", s.stop) for k, s in self.modbus.items()]
        steps += [(f"line:{k}", line.stop) for k, line in self.lines.items()]
        for name, step in steps:
            try:
                result = step()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # cleanup goes on; the failure is logged with its traceback
                log.exception("demo: stopping %s failed", name)
