"""A site with cameras for the fault suite: the ONVIF simulator and the video server in the test's loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.sim.onvif.server import OnvifSimulator
from edge.sim.video_server import VideoServer
from tests.faults.site import Site, SiteSpec
from tests.faults.video_process import VideoProcess
from tests.onvif.helpers import PASSWORD, USER, add


class CameraPeers:
    def __init__(
        self, tmp: Path, ids: list[str], faults: dict[str, dict[str, Any]] | None = None, own_process: bool = False
    ) -> None:
        self.ids = ids
        self.faults = faults or {}
        # own_process: for tests that time the alarm path while the cameras misbehave (video_process.py).
        self.video: VideoServer | VideoProcess = VideoProcess(ids) if own_process else VideoServer(fps=5.0)
        self.sim: OnvifSimulator | None = None
        self.password_file = tmp / "cam.pass"

    async def start(self) -> CameraPeers:
        await self.video.start()
        self.sim = OnvifSimulator(video_base=f"http://127.0.0.1:{self.video.port}", on_video_mode=self.video.set_mode)
        self.password_file.write_text(PASSWORD + "\n")
        for cid in self.ids:
            if isinstance(self.video, VideoServer):
                self.video.add_camera(cid)
            await add(self.sim, cid, **self.faults.get(cid, {}))
        return self

    async def stop(self) -> None:
        if self.sim is not None:
            await self.sim.close()
        await self.video.stop()

    def cameras(self) -> list[dict[str, Any]]:
        assert self.sim is not None
        return [
            {"id": c, "name": c, "onvif": self.sim.url(c), "username": USER, "password_file": str(self.password_file)}
            for c in self.ids
        ]


def camera_spec(peers: CameraPeers, **checks: Any) -> SiteSpec:
    fast = {"startup_delay": 0.1, "camera_interval": 1, "quality_interval": 3, "call_timeout": 2, "frame_timeout": 3}
    extra = {"cameras": peers.cameras(), "checks": {**fast, "worker_heartbeat_timeout": 5, **checks}}
    return SiteSpec(mqtt_buttons=2, serial_buttons=0, extra=extra)


async def worker_status(site: Site) -> dict[str, Any]:
    status = await site.api("/status")
    return dict(status["providers"]["cameras"])


def mapped_libraries(pid: int) -> set[str]:
    """File names of the shared objects mapped into `pid`."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {line.split()[-1].rsplit("/", 1)[-1] for line in maps.splitlines() if ".so" in line}
