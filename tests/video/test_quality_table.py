"""Quality verdicts on real synthetic pictures, raw and after a camera's JPEG encoding."""

from __future__ import annotations

import json
from typing import cast

import cv2
import numpy as np
import pytest

from edge.config.devices import QualityThresholds
from edge.sim.video import SyntheticScene, encode_jpeg
from edge.video.quality import CHECKS, Image, QualityError, assess, thumbnail
from edge.video.snapshot import decode_jpeg

# (mode, scene kwargs, expected failures). Frames are taken 2 s apart, as the driver does.
TABLE: list[tuple[str, dict[str, float], list[str]]] = [
    ("normal", {}, []),
    ("static", {}, []),  # healthy but motionless: sensor noise alone must keep it from being "frozen"
    ("static", {"noise_sigma": 0.7}, []),  # a very clean sensor
    ("static", {"noise_sigma": 5.0}, []),  # a noisy one: noise must not read as sharpness problems
    ("black", {}, ["black"]),
    ("overexposed", {}, ["overexposed"]),
    ("white", {}, ["overexposed"]),
    ("blurred", {"blur_kernel": 5}, ["blurred"]),
    ("blurred", {"blur_kernel": 9}, ["blurred"]),
    ("blurred", {"blur_kernel": 15}, ["blurred"]),
    ("blurred", {"blur_kernel": 31}, ["blurred"]),
    ("frozen", {}, ["frozen"]),
    ("frozen", {"osd": True}, ["frozen"]),  # the OSD clock ticks over a frozen picture: still frozen
    ("static", {"osd": True}, []),
    ("covered", {}, ["covered"]),
    ("colour_cast", {}, ["colour_cast"]),
]


def _jpeg_roundtrip(frame: np.ndarray) -> np.ndarray:
    return decode_jpeg(encode_jpeg(frame))  # the worker's decoder


@pytest.mark.parametrize("seed", [1, 2, 7])
@pytest.mark.parametrize("jpeg", [False, True], ids=["raw", "jpeg"])
@pytest.mark.parametrize(("mode", "kwargs", "expected"), TABLE, ids=[f"{m}-{k}" for m, k, _ in TABLE])
def test_verdict_table(mode: str, kwargs: dict[str, float], expected: list[str], seed: int, jpeg: bool) -> None:
    scene = SyntheticScene(mode, seed, **kwargs)  # type: ignore[arg-type]
    frames = [scene.frame(10.0), scene.frame(12.0)]
    if jpeg:
        frames = [_jpeg_roundtrip(f) for f in frames]
    result = assess(frames, QualityThresholds())
    assert result.failures == expected, result.as_dict()
    assert result.verdict == ("fail" if expected else "pass")
    assert set(result.checks) == set(CHECKS)
    assert all(result.checks[name] == "fail" for name in expected)


def test_single_frame_skips_frozen_but_judges_the_rest() -> None:
    result = assess([SyntheticScene("blurred", 3, blur_kernel=15).frame(0.0)])
    assert result.checks["frozen"] == "skip"
    assert result.frozen_diff is None
    assert result.failures == ["blurred"]


def test_black_frame_skips_checks_it_cannot_judge() -> None:
    result = assess([SyntheticScene("black", 3).frame(0.0), SyntheticScene("black", 3).frame(2.0)])
    assert result.checks["blurred"] == result.checks["covered"] == result.checks["colour_cast"] == "skip"
    assert result.checks["frozen"] == "skip"  # clipped at 0: no visible sensor noise to compare
    assert result.failures == ["black"]


def test_thresholds_are_per_camera() -> None:
    frames = [SyntheticScene("normal", 1).frame(0.0), SyntheticScene("normal", 1).frame(2.0)]
    strict = QualityThresholds(blur_laplacian=10_000.0)
    assert assess(frames, strict).failures == ["blurred"]
    assert assess(frames).failures == []


def test_large_and_odd_frames() -> None:
    # cv2's stubs type every result as a generic MatLike; these stay uint8 like their input.
    big = cast(Image, cv2.resize(SyntheticScene("normal", 2).frame(0.0), (1920, 1080), interpolation=cv2.INTER_CUBIC))
    result = assess([big])
    assert (result.width, result.height) == (1920, 1080)
    grey = cast(Image, cv2.cvtColor(SyntheticScene("covered", 2).frame(0.0), cv2.COLOR_BGR2GRAY))
    assert assess([grey]).failures == ["covered"]
    bgra = cast(Image, cv2.cvtColor(SyntheticScene("normal", 2).frame(0.0), cv2.COLOR_BGR2BGRA))
    assert assess([bgra]).verdict == "pass"


def test_as_dict_is_json_ready() -> None:
    d = assess([SyntheticScene("frozen", 1).frame(0.0)] * 2).as_dict()
    assert json.loads(json.dumps(d))["failures"] == ["frozen"]
    assert d["verdict"] == "fail"


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([], "no_frames"),
        ([np.zeros((4, 4, 3), np.uint8)], "too_small"),
        ([np.zeros((20, 20, 3), np.float32)], "dtype"),
        ([np.zeros((20, 20, 2), np.uint8)], "shape"),
        (["not a frame"], "not_an_image"),
    ],
)
def test_typed_errors(frames: list[object], reason: str) -> None:
    with pytest.raises(QualityError) as exc:
        assess(frames)  # type: ignore[arg-type]
    assert exc.value.reason == reason


def test_thumbnail_is_small_jpeg() -> None:
    big = cast(Image, cv2.resize(SyntheticScene("normal", 1).frame(0.0), (1280, 720), interpolation=cv2.INTER_CUBIC))
    data = thumbnail(big)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert data[:2] == b"\xff\xd8"
    assert img is not None and img.shape == (180, 320, 3)
    assert len(data) < 40_000
