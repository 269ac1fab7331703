"""`edge commission camera` against simulated ONVIF cameras with real synthetic video behind them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import main
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import Faults, SimCamera
from edge.sim.video_server import VideoServer

PASSWORD = "s3cret-cam"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[OnvifSimulator, Path]]:
    video = VideoServer("127.0.0.1", 0)
    for cid, mode in (("cam-gate", "normal"), ("cam-hall", "blurred"), ("cam-yard", "normal"), ("cam-blur", "blurred")):
        video.add_camera(cid, mode)
    await video.start()
    sim = OnvifSimulator("127.0.0.1", f"http://127.0.0.1:{video.port}")
    # A key area recorded 62 days (90 required) whose clock is 40 s fast.
    await sim.add(SimCamera("cam-gate", password=PASSWORD, faults=Faults(retention_days=62, clock_offset_s=40)))
    await sim.add(SimCamera("cam-hall", password=PASSWORD, faults=Faults(wrong_password=True)))
    await sim.add(SimCamera("cam-yard", password=PASSWORD, faults=Faults(retention_days=45)))
    await sim.add(SimCamera("cam-blur", password=PASSWORD, faults=Faults(retention_days=45)))
    pw = tmp_path / "cam.pass"
    pw.write_text(PASSWORD)
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        f"site: {{id: s1}}\nstorage: {{path: {tmp_path}/edge.db}}\napi: {{}}\ncameras:\n"
        f"  - {{id: cam-gate, name: 南门, onvif: '{sim.url('cam-gate')}', password_file: {pw}, key_area: true}}\n"
        f"  - {{id: cam-hall, name: 大厅, onvif: '{sim.url('cam-hall')}', password_file: {pw}}}\n"
        f"  - {{id: cam-blur, name: 操场, onvif: '{sim.url('cam-blur')}', password_file: {pw}, "
        "thresholds: {blur_laplacian: 55}}\n"
        "checks: {call_timeout: 2, frame_timeout: 4}\n"
    )
    yield sim, cfg
    await sim.close()
    await video.stop()


async def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = await asyncio.to_thread(main, argv)
    return rc, capsys.readouterr().out


async def test_short_retention_and_clock_drift_with_fixes(
    site: tuple[OnvifSimulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, cfg = site
    snaps = tmp_path / "snaps"
    rc, out = await _run(["commission", "camera", "cam-gate", "-c", str(cfg), "--snapshot-dir", str(snaps)], capsys)
    assert rc == 1
    assert "[通过 PASS] ONVIF" in out and "EdgeSim SIM-IPC-1" in out
    assert "[失败 FAIL] 时钟 clock" in out and "NTP" in out
    assert "[通过 PASS] 图像 quality" in out
    assert "差 28 天" in out and "short by 28 days" in out and "recorder's retention days" in out
    jpgs = list(snaps.glob("cam-gate-*.jpg"))
    assert len(jpgs) == 1 and jpgs[0].read_bytes()[:2] == b"\xff\xd8"
    assert f"快照 snapshot: {jpgs[0]}" in out
    # At the camera's resolution (the simulator streams 640x360), not the dashboard's 320 px thumbnail.
    picture = cv2.imdecode(np.frombuffer(jpgs[0].read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[:2] == (360, 640)


async def test_wrong_password(
    site: tuple[OnvifSimulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, cfg = site
    rc, out = await _run(["commission", "camera", "cam-hall", "-c", str(cfg), "--snapshot-dir", str(tmp_path)], capsys)
    assert rc == 1
    assert "用户名或密码错误" in out and "rejects the username/password" in out and "password_file" in out
    assert "快照 snapshot: 无 none" in out
    assert "时钟" not in out  # nothing after a refused login is worth reporting


async def test_url_target_that_passes(
    site: tuple[OnvifSimulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, _ = site
    pw = tmp_path / "cam.pass"
    argv = ["commission", "camera", sim.url("cam-yard"), "--password-file", str(pw), "--snapshot-dir", str(tmp_path)]
    rc, out = await _run(argv, capsys)
    assert rc == 0, out
    verdicts = [ln for ln in out.splitlines() if "[通过 PASS]" in ln and "测量 measured" not in ln]
    assert len(verdicts) == 5  # ONVIF, stream, clock, quality, retention (45 of 30 days)
    assert "[通过 PASS] 测量 measured: 平均亮度" in out and "(black < 20, over-exposed > 235)" in out


async def test_unknown_camera_is_a_clear_error(
    site: tuple[OnvifSimulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, cfg = site
    rc = await asyncio.to_thread(main, ["commission", "camera", "cam-nope", "-c", str(cfg)])
    assert rc == 1 and "not in the config" in capsys.readouterr().err


async def test_measured_quality_values_next_to_the_camera_thresholds(
    site: tuple[OnvifSimulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """#14: the technician sees each measure against the (per-camera) limit, to tune it."""
    _, cfg = site
    argv = ["commission", "camera", "cam-blur", "-c", str(cfg), "--snapshot-dir", str(tmp_path), "--no-retention"]
    rc, out = await _run(argv, capsys)
    assert rc == 1
    assert "[失败 FAIL] 图像 quality: 画面模糊 / blurred" in out
    line = next(ln for ln in out.splitlines() if "测量 measured: 清晰度" in ln)
    assert line.lstrip().startswith("[失败 FAIL]") and "(blurred < 55)" in line and "（模糊 < 55）" in line
    value = float(line.split("清晰度 ")[1].split("（")[0])
    assert value < 55
    assert "分辨率" in out and "resolution 640x360" in out and "cameras[].thresholds" in out
