"""Image-quality diagnosis of camera frames: pure functions over BGR uint8 arrays.

Measures, per DESIGN.md section 1 ("black, over-exposed, blurred, frozen and covered frames detected"):
- mean luma (black / overexposed),
- variance of the Laplacian of the lightly denoised grey image (sharpness: blurred or defocused),
- between frames taken seconds apart, over unclipped pixels only: the share of pixels that changed
  by more than codec rounding, and the mean absolute difference (frozen: below the temporal noise
  floor every live sensor has; an OSD clock ticking over a frozen picture stays under the share),
- Canny edge density and the share of featureless cells in a 16x9 grid (covered or occluded lens),
- the Lab chroma offset relative to the chroma spread (colour cast).

Every measure runs at an analysis width of at most 640 px so one set of thresholds fits 360p to 4K.
A check that cannot be judged on a picture (sharpness of a black frame, frozen with one frame) is
"skip", never a silent pass.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from edge.config.devices import QualityThresholds
from edge.video import jpeg, pixels
from edge.video.pixels import Image

__all__ = ["Image", "QualityError", "QualityResult", "assess", "thumbnail"]

# Canonical order of checks and failure names (DESIGN.md section 6: quality failures).
CHECKS: Final = ("black", "overexposed", "blurred", "frozen", "covered", "colour_cast")
PASS, FAIL, SKIP = "pass", "fail", "skip"

# Pictures are judged at this width at most: the sharpness a viewer sees on a typical monitor tile,
# and it keeps one assessment of a 4K frame to a few milliseconds.
ANALYSIS_WIDTH: Final = 640
# Below this many pixels a side there is no picture to judge (and the 3x3 filters have no interior).
MIN_SIDE: Final = 8
# The covered check looks at a 16x9 grid: cells of 40 px at 640x360, large enough to hold texture.
GRID: Final = (16, 9)
# Pixels this close to 0 or 255 are clipped: sensor noise is invisible there, so the frozen check
# ignores them (a black or washed-out live picture would otherwise look frozen).
CLIP_MARGIN: Final = 8
# The frozen check needs at least this share of unclipped pixels to see the sensor's noise.
MIN_UNCLIPPED: Final = 0.05
# cv2.Canny's thresholds the edge density was calibrated with.
CANNY_LOW, CANNY_HIGH = 50, 150
# Decoders and colour conversions differ by up to one grey level on identical input (an H.264 I-frame
# against the P-frames of the same frozen picture); only larger changes count as the picture changing.
CODEC_ROUNDING: Final = 1


def as_image(array: object) -> Image:
    """Narrow an array known to hold uint8 pixels to the Image type; no copy."""
    return np.asarray(array, dtype=np.uint8)


class QualityError(ValueError):
    """The input is not something a picture can be judged from; `reason` names why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class QualityResult:
    mean_luma: float
    laplacian_var: float
    frozen_diff: float | None  # None when fewer than two frames or too few unclipped pixels
    changed_fraction: float | None  # share of unclipped pixels changed by more than codec rounding
    edge_density: float
    covered_fraction: float
    colour_cast: float
    chroma_offset: float
    width: int
    height: int
    frames: int
    checks: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    verdict: str = PASS

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: stored with the camera.quality event and shown on the dashboard."""
        return {
            "verdict": self.verdict,
            "failures": list(self.failures),
            "checks": dict(self.checks),
            "mean_luma": round(self.mean_luma, 2),
            "laplacian_var": round(self.laplacian_var, 2),
            "frozen_diff": None if self.frozen_diff is None else round(self.frozen_diff, 3),
            "changed_fraction": None if self.changed_fraction is None else round(self.changed_fraction, 4),
            "edge_density": round(self.edge_density, 4),
            "covered_fraction": round(self.covered_fraction, 3),
            "colour_cast": round(self.colour_cast, 3),
            "chroma_offset": round(self.chroma_offset, 2),
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
        }


def _validate(frame: object) -> Image:
    if not isinstance(frame, np.ndarray):
        raise QualityError("not_an_image", type(frame).__name__)
    if frame.dtype != np.uint8:
        raise QualityError("dtype", str(frame.dtype))
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise QualityError("shape", str(frame.shape))
    if min(frame.shape[:2]) < MIN_SIDE:
        raise QualityError("too_small", f"{frame.shape[1]}x{frame.shape[0]}")
    return np.ascontiguousarray(frame)


def _to_bgr(frame: Image) -> Image:
    out = pixels.to_bgr(frame)
    h, w = out.shape[:2]
    if w > ANALYSIS_WIDTH:
        out = pixels.resize_area(out, ANALYSIS_WIDTH, max(MIN_SIDE, round(h * ANALYSIS_WIDTH / w)))
    return out


def sharpness(grey: Image) -> float:
    """Variance of the Laplacian after a 3x3 Gaussian, which removes most sensor noise but no edges."""
    return float(pixels.laplacian(pixels.gaussian3(grey)).var(dtype=np.float64))


def featureless_fraction(grey: Image, block_std: float) -> float:
    """Share of grid cells whose grey standard deviation is below block_std (a flat, empty cell)."""
    h, w = grey.shape
    cols, rows = min(GRID[0], w), min(GRID[1], h)
    g = grey.astype(np.float32)
    mean = pixels.resize_area_float(g, cols, rows)
    mean_sq = pixels.resize_area_float(g * g, cols, rows)
    std = np.sqrt(np.clip(mean_sq - mean * mean, 0.0, None))
    return float((std < block_std).mean())


def colour_cast(bgr: Image) -> tuple[float, float]:
    """(ratio, offset): Lab chroma offset D against spread M, ratio D / (D + M + 2), in [0, 1).

    A natural scene's colours spread around grey (small D, large M); a cast shifts them all one way.
    The +2 Lab units keep a flat grey picture (D and M both ~0) from reading as a cast.
    """
    a, b = pixels.lab_ab(bgr)
    da, db = float(a.mean(dtype=np.float64)) - 128.0, float(b.mean(dtype=np.float64)) - 128.0
    offset = math.hypot(da, db)
    spread = math.hypot(float(a.std(dtype=np.float64)), float(b.std(dtype=np.float64)))
    return offset / (offset + spread + 2.0), offset


def _same_size(img: Image, width: int, height: int) -> Image:
    """img at width x height: area-averaged when smaller, nearest pixels otherwise (two frames of one
    check differ in size only when the camera changed its resolution between them)."""
    h, w = img.shape[:2]
    if width <= w and height <= h:
        return pixels.resize_area(img, width, height)
    rows = np.arange(height) * h // height
    cols = np.arange(width) * w // width
    picked: Image = img[rows[:, None], cols[None, :]]
    return picked


def frame_difference(a: Image, b: Image) -> tuple[float, float] | None:
    """(mean abs grey difference, share of pixels changed by more than codec rounding) over pixels
    unclipped in both frames; None if too few remain to see sensor noise."""
    if a.shape != b.shape:
        b = _same_size(b, a.shape[1], a.shape[0])
    lo, hi = CLIP_MARGIN, 255 - CLIP_MARGIN
    mask = (a > lo) & (a < hi) & (b > lo) & (b < hi)
    n = int(mask.sum())
    if n < MIN_UNCLIPPED * mask.size:
        return None
    diff = np.abs(a[mask].astype(np.int16) - b[mask])
    return float(diff.mean()), float(np.count_nonzero(diff > CODEC_ROUNDING)) / n


def assess(frames: list[Image], thresholds: QualityThresholds | None = None) -> QualityResult:
    """Judge a camera from one or more frames (BGR, BGRA or grey uint8) taken seconds apart."""
    t = thresholds if thresholds is not None else QualityThresholds()
    if not frames:
        raise QualityError("no_frames")
    bgrs = [_to_bgr(_validate(f)) for f in frames]
    greys = [pixels.grey(b) for b in bgrs]
    first, grey = bgrs[0], greys[0]
    luma = float(grey.mean())
    lap = sharpness(grey)
    edges = float(np.count_nonzero(pixels.canny(grey, CANNY_LOW, CANNY_HIGH))) / grey.size
    flat = featureless_fraction(grey, t.covered_block_std)
    cast, offset = colour_cast(first)
    diffs = [d for d in (frame_difference(a, b) for a, b in itertools.pairwise(greys)) if d is not None]
    # The most-changed pair decides: a live camera shows its noise (or motion) in every pair.
    frozen_diff = max(d[0] for d in diffs) if diffs else None
    changed = max(d[1] for d in diffs) if diffs else None

    checks: dict[str, str] = {}
    checks["black"] = FAIL if luma < t.black_luma else PASS
    checks["overexposed"] = FAIL if luma > t.overexposed_luma else PASS
    exposure_bad = FAIL in (checks["black"], checks["overexposed"])
    covered = flat >= t.covered_fraction and edges < t.covered_edge_density
    checks["covered"] = SKIP if exposure_bad else (FAIL if covered else PASS)
    hidden = exposure_bad or covered  # no scene to judge sharpness or colour on
    checks["blurred"] = SKIP if hidden else (FAIL if lap < t.blur_laplacian else PASS)
    is_cast = cast > t.colour_cast and offset >= t.colour_cast_min_offset
    checks["colour_cast"] = SKIP if hidden else (FAIL if is_cast else PASS)
    if frozen_diff is None or changed is None:
        checks["frozen"] = SKIP
    else:
        frozen = changed < t.frozen_changed_fraction and frozen_diff < t.frozen_diff
        checks["frozen"] = FAIL if frozen else PASS
    checks = {name: checks[name] for name in CHECKS}
    failures = [name for name in CHECKS if checks[name] == FAIL]
    h, w = frames[0].shape[:2]
    return QualityResult(
        mean_luma=luma,
        laplacian_var=lap,
        frozen_diff=frozen_diff,
        changed_fraction=changed,
        edge_density=edges,
        covered_fraction=flat,
        colour_cast=cast,
        chroma_offset=offset,
        width=int(w),
        height=int(h),
        frames=len(frames),
        checks=checks,
        failures=failures,
        verdict=FAIL if failures else PASS,
    )


# Operator thumbnails: small enough to store one per camera per check for months, readable on a tile.
THUMB_QUALITY: Final = 70


def thumbnail(frame: Image, width: int = 320) -> bytes:
    """A small JPEG of the frame for the dashboard, keeping its aspect ratio."""
    img = _validate(frame)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    h, w = img.shape[:2]
    if w > width:
        img = pixels.resize_area(img, width, max(1, round(h * width / w)))
    return jpeg.encode(img, THUMB_QUALITY)
