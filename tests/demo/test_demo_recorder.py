"""`edge demo`'s NVR: the config it writes gives the south gate's camera a recorder, and that
recorder (the demo's own simulators) records the camera and replays the seconds before a press."""

from __future__ import annotations

import time
from pathlib import Path

from edge.config import Config
from edge.demo.plan import CAMERA_PASSWORD, NVR_ID, RECORDED_CAMERA, SERIAL_BUTTONS, build_config
from edge.demo.site import DemoSite
from edge.video import clip
from edge.video.mp4 import inspect


async def test_the_demo_nvr_replays_the_south_gate(tmp_path: Path) -> None:
    site = DemoSite(tmp_path, key=None)
    await site.start()
    try:
        (tmp_path / "camera.pass").write_text(CAMERA_PASSWORD)
        doc = build_config(
            {"site": {"id": "demo", "name": "演示学校"}}, tmp_path, 8080, site.bus_ports, site.broker.url,
            site.camera_urls(), site.receiver.url, tmp_path / "dc09.key", recorder_url=site.recorder_url(),
        )  # fmt: skip
        config = Config.model_validate(doc)
        (cam,) = [c for c in config.cameras if c.recorder is not None]
        assert cam.id == RECORDED_CAMERA and cam.recorder is not None and cam.recorder.onvif == site.onvif.url(NVR_ID)
        assert any(b.camera == RECORDED_CAMERA for b in config.buttons if b.id == SERIAL_BUTTONS[0].id)

        await site.recorder.wait_recorded(f"REC-{RECORDED_CAMERA}", 6, within=40)
        now = time.time()
        got = await clip.fetch(cam, now - 8, now - 3, deadline_s=20, max_bytes=8 << 20)
        info = inspect(got.mp4)
        assert info.codec == "avc1" and 4 <= info.duration_s <= 7, info  # the demo's 5 fps camera, at its pace
    finally:
        await site.stop()
