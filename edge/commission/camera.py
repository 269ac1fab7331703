"""`edge commission camera ID|URL`: every camera check now, each result in Chinese and English with a fix.

The checks themselves are the driver's (`edge.onvif.camera.check_camera_now`); this module only picks
the camera, runs them once, and turns the results into lines a technician can act on.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from edge.commission.lines import FAIL, INFO, PASS, SKIP, WARN, Line
from edge.config import Camera, Checks, Config, read_secret
from edge.config.devices import QualityThresholds
from edge.onvif.camera import check_camera_now
from edge.video import jpeg
from edge.video.errors import GrabError
from edge.video.grab import grab_then
from edge.video.quality import Image

RETENTION_FIX = "在录像机中延长保存天数或增加硬盘 / raise the recorder's retention days or add disk space"

_STATUS = {"pass": PASS, "fail": FAIL, "skip": SKIP}
TUNE = "阈值可在 cameras[].thresholds 中按摄像机调整 / thresholds are tuned per camera in cameras[].thresholds"

QUALITY_FIXES: dict[str, tuple[str, str]] = {
    "black": (
        "画面全黑",
        "检查红外灯/镜头供电、视频线，或摄像机是否误入夜间模式 / black picture: check power to "
        "the IR/lens, the video cable, or a camera in night mode",
    ),
    "overexposed": (
        "画面过曝",
        "降低曝光或开启宽动态，或让镜头避开强光 / over-exposed: lower exposure/enable WDR, "
        "or turn the camera away from the light",
    ),
    "blurred": (
        "画面模糊",
        "重新对焦（或一键聚焦）、清洁护罩、检查是否振动 / blurred: refocus the lens (or run "
        "auto-focus), clean the window, check vibration",
    ),
    "frozen": ("画面冻结", "重启摄像机编码器或重启摄像机 / frozen picture: restart the camera's encoder / reboot it"),
    "covered": (
        "镜头被遮挡",
        "移除遮挡镜头的物体（布、油漆、树枝）/ lens covered: remove what blocks the lens (cloth, paint, branches)",
    ),
    "colour_cast": (
        "色偏",
        "红外滤光片卡住：检查日夜切换，白平衡设为自动 / colour cast: IR-cut filter stuck; check "
        "day/night switching, set white balance auto",
    ),
}


def camera_from(target: str, config: Config | None, username: str, password_file: Path | None) -> Camera:
    """A configured camera by id, or an ad-hoc one for a device service URL."""
    if config is not None:
        for cam in config.cameras:
            if cam.id == target:
                return cam
    if target.startswith(("http://", "https://")):
        return Camera(id="commission", name="调试 commissioning", onvif=target, username=username,
                      password_file=password_file)  # fmt: skip
    raise KeyError(
        f"配置中没有摄像机 {target!r} / camera {target!r} is not in the config: "
        "给出 -c FILE 或设备服务地址 / give -c FILE, or a device service URL"
    )


def _health(res: dict[str, Any]) -> list[Line]:
    h = res["health"]
    state, reasons = h["state"], h.get("reasons") or []
    dev = h.get("device") or {}
    if state == "auth_failed":
        return [Line(FAIL, "ONVIF", "用户名或密码错误", "the camera rejects the username/password",
                     "核对 username 与 password_file，必要时在摄像机网页重置密码 / check username and "
                     "password_file; reset the password in the camera's web page")]  # fmt: skip
    if state == "unreachable":
        return [Line(FAIL, "ONVIF", "设备无应答", f"no answer ({h.get('detail') or 'refused or timed out'})",
                     "检查电源、网线、IP 地址，以及摄像机是否启用 ONVIF / check power, network cable, IP address, "
                     "and that ONVIF is enabled on the camera")]  # fmt: skip
    model = " ".join(v for v in (dev.get("Manufacturer"), dev.get("Model"), dev.get("FirmwareVersion")) if v)
    lines = [Line(PASS, "ONVIF", "设备应答正常", f"answers ({model or 'model unknown'}, {h['duration_s']:.1f} s)")]
    if reasons:
        lines.append(
            Line(
                WARN,
                "ONVIF",
                "部分检查未通过",
                ", ".join(reasons),
                "检查摄像机的 ONVIF 设置与用户权限 / check the camera's ONVIF settings and user rights",
            )
        )
    stream = h.get("stream_uri")
    lines.append(
        Line(PASS, "码流 stream", "已获取码流地址", str(stream))
        if stream
        else Line(
            FAIL,
            "码流 stream",
            "无码流地址",
            "no stream URI from GetStreamUri",
            "在摄像机中启用一个媒体配置（码流）/ enable a media profile on the camera",
        )
    )
    return lines


def _clock(res: dict[str, Any], max_drift: float) -> Line:
    drift, verdict = res["clock"]["drift_s"], res["clock"]["verdict"]
    if drift is None:
        return Line(
            WARN,
            "时钟 clock",
            "无法读取时间",
            "could not read the camera clock",
            "在摄像机中启用 NTP / enable NTP on the camera",
        )
    text = f"drift {drift:+.1f} s (limit {max_drift:.0f} s)"
    if verdict == "pass":
        return Line(PASS, "时钟 clock", f"时间偏差 {drift:+.1f} 秒", text)
    return Line(FAIL, "时钟 clock", f"时间偏差 {drift:+.1f} 秒", text,
                "设置 NTP 服务器 / set the camera's NTP server (the gateway or the school's time server)")  # fmt: skip


def _num(q: dict[str, Any], key: str, digits: int) -> str:
    value = q.get(key)
    return "-" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def measured(q: dict[str, Any], t: QualityThresholds) -> list[Line]:
    """Each measure next to the limits it is judged by, so a technician can tune them per camera."""
    checks = q.get("checks") or {}

    def status(*names: str) -> str:
        results = [checks.get(n) for n in names]
        return FAIL if "fail" in results else _STATUS.get(str(results[0]), SKIP)

    luma, lap = _num(q, "mean_luma", 1), _num(q, "laplacian_var", 1)
    changed, diff = _num(q, "changed_fraction", 4), _num(q, "frozen_diff", 2)
    flat, edges = _num(q, "covered_fraction", 2), _num(q, "edge_density", 4)
    cast, offset = _num(q, "colour_cast", 2), _num(q, "chroma_offset", 1)
    m = "测量 measured"
    return [
        Line(status("black", "overexposed"), m,
             f"平均亮度 {luma}（黑屏 < {t.black_luma:g}，过曝 > {t.overexposed_luma:g}）",
             f"mean luma {luma} (black < {t.black_luma:g}, over-exposed > {t.overexposed_luma:g})"),
        Line(status("blurred"), m, f"清晰度 {lap}（模糊 < {t.blur_laplacian:g}）",
             f"sharpness (Laplacian variance) {lap} (blurred < {t.blur_laplacian:g})"),
        Line(status("frozen"), m, f"变化像素比例 {changed}，平均差 {diff}（冻结：比例 < {t.frozen_changed_fraction:g} "
             f"且平均差 < {t.frozen_diff:g}）", f"changed pixels {changed}, mean difference {diff} (frozen: changed "
             f"< {t.frozen_changed_fraction:g} and difference < {t.frozen_diff:g})"),
        Line(status("covered"), m, f"无纹理比例 {flat}，边缘密度 {edges}（遮挡：比例 ≥ {t.covered_fraction:g} 且边缘 "
             f"< {t.covered_edge_density:g}）", f"featureless {flat}, edge density {edges} (covered: featureless "
             f"≥ {t.covered_fraction:g} and edges < {t.covered_edge_density:g})"),
        Line(status("colour_cast"), m, f"偏色度 {cast}，色度偏移 {offset}（偏色：> {t.colour_cast:g} 且偏移 ≥ "
             f"{t.colour_cast_min_offset:g}）", f"colour cast {cast}, chroma offset {offset} "
             f"(cast: > {t.colour_cast:g} and offset ≥ {t.colour_cast_min_offset:g})"),
        Line(INFO, m, f"分辨率 {q.get('width', '?')}×{q.get('height', '?')}，{q.get('frames', '?')} 帧",
             f"resolution {q.get('width', '?')}x{q.get('height', '?')}, {q.get('frames', '?')} frames", TUNE),
    ]  # fmt: skip


def _quality(res: dict[str, Any], thresholds: QualityThresholds | None = None) -> list[Line]:
    q = res["quality"]
    if q.get("verdict") == "unknown":
        return [Line(FAIL, "图像 quality", "无法取得画面", f"no frame ({q.get('error', '?')})",
                     "检查码流地址、RTSP 端口与账号，用 VLC 打开码流试试 / check the stream URI, RTSP port and "
                     "credentials; open the stream in VLC")]  # fmt: skip
    failures = q.get("failures") or []
    values = measured(q, thresholds or QualityThresholds())
    if not failures:
        return [Line(PASS, "图像 quality", "画面正常", f"picture OK (from {q.get('source', 'stream')})"), *values]
    return [*(Line(FAIL, "图像 quality", QUALITY_FIXES.get(f, (f, ""))[0], f, QUALITY_FIXES.get(f, ("", ""))[1])
              for f in failures), *values]  # fmt: skip


def _retention(res: dict[str, Any]) -> Line:
    r = res.get("retention")
    if r is None:
        return Line(INFO, "录像 retention", "未检查", "not checked (--no-retention)")
    verdict, req = r["verdict"], r.get("required_days")
    kept = r.get("retained_days")
    if verdict == "pass":
        return Line(
            PASS, "录像 retention", f"录像保存 {kept:.0f} 天 ≥ {req} 天", f"{kept:.0f} days kept, {req} required"
        )
    if verdict == "short":
        short = r.get("shortfall_days") or 0
        return Line(FAIL, "录像 retention", f"录像只保存 {kept:.0f} 天，差 {short:.0f} 天",
                    f"{kept:.0f} days kept, {req} required: short by {short:.0f} days",
                    RETENTION_FIX)  # fmt: skip
    if verdict == "stalled":
        return Line(FAIL, "录像 retention", "录像已停止", "recording stopped (newest data too old)",
                    "检查录像机的录像计划、硬盘状态与该摄像机通道 / check the recorder's schedule, disk status "
                    "and the camera's channel")  # fmt: skip
    if verdict == "unverifiable":
        return Line(WARN, "录像 retention", "无法核实（无检索服务）", "cannot verify: no ONVIF search service",
                    "把 `recorder:` 设为录制该摄像机的 NVR（Profile G）/ set `recorder:` to the NVR that "
                    "records this camera (Profile G)")  # fmt: skip
    return Line(FAIL, "录像 retention", "无法查询录像", f"unknown ({r.get('detail', '')})",
                "检查录像机地址与账号 / check the recorder address and credentials")  # fmt: skip


def report_lines(res: dict[str, Any], checks: Checks, thresholds: QualityThresholds | None = None) -> list[Line]:
    lines = _health(res)
    if res["health"]["state"] in ("auth_failed", "unreachable"):
        return lines
    return [*lines, _clock(res, checks.max_clock_drift), *_quality(res, thresholds), _retention(res)]


SNAPSHOT_JPEG_QUALITY = 90  # for judging focus and framing on site, not for the dashboard's tile


def _full_jpeg(frames: list[Image]) -> bytes:
    try:
        return jpeg.encode(frames[-1], SNAPSHOT_JPEG_QUALITY)
    except (ValueError, OSError) as exc:
        raise GrabError("decode_failed", f"cannot encode the frame as JPEG: {exc}") from None


async def full_snapshot(cam: Camera, res: dict[str, Any], checks: Checks) -> bytes | None:
    """One frame at the camera's own resolution, from the source the quality check used.

    The driver keeps only a 320 px thumbnail (the dashboard's tile); a technician judging focus and
    framing needs the real picture. None when no frame could be had (the thumbnail is used then)."""
    health, q = res["health"], res.get("quality") or {}
    use_snapshot = q.get("source") == "snapshot"
    uri = health.get("snapshot_uri") if use_snapshot else (cam.stream_uri or health.get("stream_uri"))
    if not uri or q.get("verdict") == "unknown":
        return None
    password = read_secret(cam.password_file)
    auth = (cam.username, password) if password else None
    try:
        return await grab_then(
            uri, _full_jpeg, 1, 0.0, checks.frame_timeout, auth=auth, snapshot=True if use_snapshot else None
        )
    except GrabError:
        return None


async def commission_camera(
    cam: Camera, checks: Checks, snapshot_dir: Path, with_retention: bool = True
) -> tuple[list[Line], Path | None]:
    res = await check_camera_now(cam, checks, with_retention=with_retention)
    jpeg = await full_snapshot(cam, res, checks) or res.get("snapshot")
    snap = await asyncio.to_thread(save_snapshot, jpeg, snapshot_dir, cam.id)
    return report_lines(res, checks, cam.thresholds), snap


def save_snapshot(jpeg: bytes | None, snapshot_dir: Path, cam_id: str) -> Path | None:
    if not jpeg:
        return None
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    path = snapshot_dir / f"{cam_id}-{time.strftime('%Y%m%d-%H%M%S')}.jpg"
    path.write_bytes(jpeg)
    return path
