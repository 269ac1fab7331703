"""Synthetic camera pictures drawn with OpenCV, so every quality mode is a real picture, not a flag.

A scene is a seeded street-like view (sky, buildings with windows, paved ground, a tree) with a
moving figure and per-frame sensor noise. The faulty modes are made the way the fault happens in a
real camera: the lens blur is applied before the sensor noise, a frozen encoder repeats one frame
bit for bit, a covered lens is a dim, nearly flat field with a slight light-leak gradient.
"""

from __future__ import annotations

import functools
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]

MODES: Final = ("normal", "static", "black", "overexposed", "white", "blurred", "frozen", "covered", "colour_cast")

# Read-noise of a decent CCTV sensor in daylight after in-camera processing, in grey levels.
DEFAULT_NOISE_SIGMA: Final = 2.0
# Frames per second of the simulated sensor: the noise pattern and the moving figure change this often.
SENSOR_FPS: Final = 10.0
# Distinct noise fields kept per size: enough that consecutive frames never share one, small in RAM.
_NOISE_BANK: Final = 8
# Dark-current noise of a sensor with the lens capped or in darkness, in grey levels.
_DARK_NOISE_SIGMA: Final = 1.0
# A colour cast as a stuck IR-cut filter gives it in daylight: magenta-red (B, G, R gains).
_CAST_GAINS: Final = (1.05, 0.62, 1.35)


@functools.lru_cache(maxsize=8)
def _noise_bank(height: int, width: int, sigma: float) -> tuple[tuple[Frame, Frame], ...]:
    """Pre-drawn noise fields split in positive and negative parts for saturating cv2.add/subtract."""
    rng = np.random.default_rng(0x5E750)
    bank = []
    for _ in range(_NOISE_BANK):
        n = np.rint(rng.normal(0.0, sigma, (height, width, 3))).clip(-127, 127).astype(np.int16)
        bank.append((n.clip(0, None).astype(np.uint8), (-n).clip(0, None).astype(np.uint8)))
    return tuple(bank)


def _u8(array: object) -> Frame:
    return np.asarray(array, dtype=np.uint8)


def _add_noise(img: Frame, index: int, sigma: float) -> Frame:
    if sigma <= 0:
        return img
    pos, neg = _noise_bank(img.shape[0], img.shape[1], sigma)[index % _NOISE_BANK]
    return _u8(cv2.subtract(cv2.add(img, pos), neg))


def _background(width: int, height: int, seed: int) -> Frame:
    """A static street view; everything derives from the seed so runs are repeatable."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.uint8)
    horizon = int(height * 0.42)
    # Sky: a vertical gradient, pale blue.
    ramp = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None]
    sky = np.stack([200 - 30 * ramp, 170 - 20 * ramp, 140 - 10 * ramp], axis=-1)
    img[:horizon] = np.broadcast_to(sky, (horizon, width, 3)).astype(np.uint8)
    # Ground: paving texture (low-pass random field) with joints.
    tex = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
    tex = np.asarray(cv2.resize(tex, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)[horizon:]
    ground = (110 + 14 * tex).clip(0, 255)
    img[horizon:] = np.stack([ground * 0.95, ground, ground * 1.05], axis=-1).clip(0, 255).astype(np.uint8)
    for y in range(horizon, height, 18):
        cv2.line(img, (0, y), (width, y), (80, 84, 88), 1)
    for x in range(0, width, 36):
        cv2.line(img, (x, horizon), (x + (x - width // 2) // 2, height), (80, 84, 88), 1)
    # Buildings with window grids.
    x = 0
    while x < width:
        w = int(rng.integers(width // 10, width // 4))
        top = int(rng.integers(height // 10, horizon - 10))
        colour = tuple(int(c) for c in rng.integers(70, 200, 3))
        cv2.rectangle(img, (x, top), (x + w, horizon), colour, -1)
        for wy in range(top + 8, horizon - 10, 16):
            for wx in range(x + 6, x + w - 10, 14):
                lit = int(rng.integers(0, 2))
                cv2.rectangle(img, (wx, wy), (wx + 7, wy + 9), (40, 60, 90) if lit else (30, 30, 35), -1)
        x += w + int(rng.integers(2, 20))
    # A tree and a sign so there are curves and fine text-like detail.
    cx = int(rng.integers(width // 5, 4 * width // 5))
    cv2.rectangle(img, (cx - 4, horizon - 20), (cx + 4, horizon + 40), (40, 60, 80), -1)
    for _ in range(40):
        dx, dy = rng.integers(-30, 30, 2)
        cv2.circle(img, (cx + int(dx), horizon - 30 + int(dy)), 9, (30, int(rng.integers(90, 150)), 40), -1)
    cv2.putText(img, "NO.1 SCHOOL", (width // 20, height - 16), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (250, 250, 250), 2)
    return img


class SyntheticScene:
    """One simulated camera's picture in a given quality mode.

    `frame(t)` is deterministic for (mode, seed, t): the tests can reason about exact frames.
    """

    def __init__(
        self,
        mode: str = "normal",
        seed: int = 1,
        width: int = 640,
        height: int = 360,
        *,
        blur_kernel: int = 15,
        noise_sigma: float = DEFAULT_NOISE_SIGMA,
        osd: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown video mode {mode!r}; one of {', '.join(MODES)}")
        if blur_kernel < 1 or blur_kernel % 2 == 0:
            raise ValueError("blur_kernel must be a positive odd number")
        self.mode = mode
        self.seed = seed
        self.width = width
        self.height = height
        self.blur_kernel = blur_kernel
        self.noise_sigma = noise_sigma
        self.osd = osd
        self._bg = _background(width, height, seed)
        # Draw the noise fields now, in the constructing thread: lru_cache does not lock, and 100
        # server threads drawing the same bank on their first frame would each pay for it.
        warm_sigma = _DARK_NOISE_SIGMA if mode == "black" else noise_sigma
        if warm_sigma > 0:
            _noise_bank(height, width, warm_sigma)

    def _scene(self, t: float, moving: bool) -> Frame:
        img = self._bg.copy()
        if moving:  # a person walking across the frame and back
            span = self.width + 60
            x = int((t * 60.0 + self.seed * 37) % (2 * span))
            x = (x if x < span else 2 * span - x) - 30
            base = int(self.height * 0.9)
            cv2.rectangle(img, (x, base - 70), (x + 24, base), (60, 40, 160), -1)
            cv2.circle(img, (x + 12, base - 82), 11, (120, 150, 200), -1)
        return img

    def frame(self, t: float) -> Frame:
        """The picture the camera delivers at time t (seconds), with its OSD clock if enabled.

        The OSD is drawn by the encoder after the sensor, so it keeps ticking over a frozen picture.
        """
        img = self._sensor(t)
        if self.osd:
            secs = int(t)
            stamp = f"2026-11-22 {8 + secs // 3600 % 12:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
            cv2.putText(img, stamp, (self.width - 250, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1)
        return img

    def _sensor(self, t: float) -> Frame:
        index = int(t * SENSOR_FPS)
        sigma = self.noise_sigma
        mode = self.mode
        if mode == "frozen":  # the pipeline repeats one buffer: same pixels, same noise, forever
            return _add_noise(self._scene(0.0, True), 0, sigma)
        if mode == "black":
            return _add_noise((self._bg * 0.03).astype(np.uint8), index, _DARK_NOISE_SIGMA)
        if mode in ("overexposed", "white"):
            washed = _u8(cv2.addWeighted(self._scene(t, True), 0.15, self._bg, 0.0, 232.0))
            return _add_noise(washed, index, sigma)
        if mode == "covered":
            return _add_noise(self._covered(), index, sigma)
        img = self._scene(t, moving=mode != "static")
        if mode == "blurred":  # defocus happens in the optics, before the sensor adds its noise
            img = _u8(cv2.GaussianBlur(img, (self.blur_kernel, self.blur_kernel), 0))
        elif mode == "colour_cast":
            img = (img * np.array(_CAST_GAINS, np.float32)).clip(0, 255).astype(np.uint8)
        return _add_noise(img, index, sigma)

    def _covered(self) -> Frame:
        """A hand or bag over the lens: dim, nearly flat, a little warm light leaking at one side."""
        xs = np.linspace(0.0, 1.0, self.width, dtype=np.float32)[None, :]
        ys = np.linspace(0.0, 1.0, self.height, dtype=np.float32)[:, None]
        level = 32.0 + 16.0 * (0.6 * xs + 0.4 * ys)
        return np.stack([level * 0.85, level * 0.95, level * 1.1], axis=-1).clip(0, 255).astype(np.uint8)


def encode_jpeg(frame: Frame, quality: int = 80) -> bytes:
    """JPEG bytes as a camera's snapshot endpoint would send them (quality 80: typical IPC default)."""
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())
