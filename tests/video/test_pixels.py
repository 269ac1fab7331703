"""edge/video/pixels.py and jpeg.py against OpenCV itself: the worker's numpy measures give OpenCV's numbers.

Bit for bit where OpenCV computes in integers (grey, 3x3 Gaussian, Laplacian, Canny, whole-factor area
resize, JPEG decode); within one level per pixel where it uses floats or tables (Lab, other resizes).
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge.sim.video import MODES, SyntheticScene, encode_jpeg
from edge.video import jpeg, pixels
from edge.video.pixels import Image

RNG = np.random.default_rng(7)
PICTURES: list[Image] = [SyntheticScene(mode, seed).frame(3.0) for mode in MODES for seed in (1, 2)]
PICTURES += [RNG.integers(0, 256, (37, 53, 3), dtype=np.uint8), RNG.integers(0, 256, (360, 640, 3), dtype=np.uint8)]
PICTURES += [cast(Image, cv2.resize(PICTURES[0], (1000, 563), interpolation=cv2.INTER_CUBIC))]
IDS = [f"{m}-{s}" for m in MODES for s in (1, 2)] + ["noise-small", "noise", "odd-size"]
small_bgr = arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24), st.just(3)))


def _grey(img: Image) -> Image:
    return cast(Image, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))


@pytest.mark.parametrize("img", PICTURES, ids=IDS)
def test_integer_measures_are_bit_exact(img: Image) -> None:
    g = _grey(img)
    assert np.array_equal(pixels.grey(img), g)
    smooth = cast(Image, cv2.GaussianBlur(g, (3, 3), 0))
    assert np.array_equal(pixels.gaussian3(g), smooth)
    assert np.array_equal(pixels.laplacian(smooth), cv2.Laplacian(smooth, cv2.CV_16S))
    assert np.array_equal(pixels.canny(g, 50, 150), cv2.Canny(g, 50, 150) > 0)


@pytest.mark.parametrize("img", PICTURES, ids=IDS)
def test_lab_within_one_level(img: Image) -> None:
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.int32)
    a, b = pixels.lab_ab(img)
    assert np.abs(a - lab[:, :, 1]).max() <= 1
    assert np.abs(b - lab[:, :, 2]).max() <= 1
    assert abs(float(a.std()) - float(lab[:, :, 1].std())) < 0.01


@pytest.mark.parametrize("img", PICTURES, ids=IDS)
@pytest.mark.parametrize("factor", [(1, 2), (1, 3), (2, 5), (1, 40)], ids=["half", "third", "two-fifths", "grid"])
def test_area_resize(img: Image, factor: tuple[int, int]) -> None:
    h, w = img.shape[:2]
    size = (max(1, w * factor[0] // factor[1]), max(1, h * factor[0] // factor[1]))
    ref = cv2.resize(img, size, interpolation=cv2.INTER_AREA).astype(np.int32)
    assert np.abs(pixels.resize_area(img, *size).astype(np.int32) - ref).max() <= 1
    g = _grey(img).astype(np.float32)
    ref_f = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
    assert np.abs(pixels.resize_area_float(g, *size) - ref_f).max() < 1e-3


def test_whole_factor_resize_is_bit_exact() -> None:
    for f in (2, 3, 4, 6):
        img = RNG.integers(0, 256, (36 * f, 64 * f, 3), dtype=np.uint8)
        ref = cv2.resize(img, (64, 36), interpolation=cv2.INTER_AREA)
        assert np.array_equal(pixels.resize_area(img, 64, 36), ref), f


@settings(max_examples=150, deadline=None)
@given(small_bgr)
def test_small_random_pictures(img: Image) -> None:
    g = _grey(img)
    assert np.array_equal(pixels.grey(img), g)
    if min(g.shape) >= 2:  # OpenCV's reflect-101 border needs two pixels a side
        assert np.array_equal(pixels.gaussian3(g), cv2.GaussianBlur(g, (3, 3), 0))
    assert np.array_equal(pixels.canny(g, 50, 150), cv2.Canny(g, 50, 150) > 0)


@pytest.mark.parametrize("quality", [70, 80, 95])
@pytest.mark.parametrize("mode", ["normal", "colour_cast", "covered"])
def test_jpeg_decode_is_opencvs(mode: str, quality: int) -> None:
    data = encode_jpeg(SyntheticScene(mode, 1).frame(0.0), quality)
    ref = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert ref is not None
    assert np.array_equal(jpeg.decode(data), ref)


def test_jpeg_grey_and_png_and_limits() -> None:
    grey = _grey(SyntheticScene("normal", 1).frame(0.0))
    ok, buf = cv2.imencode(".jpg", grey)
    assert ok
    ref = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert ref is not None
    assert np.array_equal(jpeg.decode(buf.tobytes()), ref)
    ok, png = cv2.imencode(".png", PICTURES[0])
    assert ok
    assert np.array_equal(jpeg.decode(png.tobytes()), PICTURES[0])
    # A header claiming 8000 x 8000 pixels (over 8K UHD) is refused before anything is decoded.
    header = bytearray(encode_jpeg(np.zeros((16, 16, 3), np.uint8)))
    sof = header.index(b"\xff\xc0")
    header[sof + 5 : sof + 9] = (8000).to_bytes(2, "big") * 2
    with pytest.raises(jpeg.DecodeError, match="8000x8000"):
        jpeg.decode(bytes(header))


def test_jpeg_encode_round_trip() -> None:
    img = SyntheticScene("normal", 1).frame(0.0)
    data = jpeg.encode(img, 90)
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert back is not None and back.shape == img.shape
    assert np.abs(back.astype(np.int32) - img).mean() < 3  # colours kept: BGR went in as BGR
