"""JPEG to BGR frames and back, with Pillow's libjpeg-turbo (the camera worker loads no OpenCV).

Decoding gives the same pixels as cv2.imdecode(..., IMREAD_COLOR) (same library, same IDCT and
upsampling) and is bounded: the header's size is checked before a pixel is decoded, and a picture
larger than MAX_PIXELS is refused rather than given the memory.
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
from PIL import Image as Pil
from PIL import UnidentifiedImageError

from edge.video.pixels import Image

# 8K UHD (7680 x 4320) is the largest camera picture there is; 24 bytes a pixel would follow it in RAM.
MAX_PIXELS: Final = 7680 * 4320
# Snapshots and MJPEG parts are JPEG; a few vendors' snapshot CGIs answer PNG.
FORMATS: Final = ("JPEG", "PNG")


class DecodeError(ValueError):
    """The bytes are not a picture we decode (garbage, truncated, another format, too large)."""


def decode(data: bytes) -> Image:
    """Bytes to a BGR uint8 frame (grey and CMYK pictures are converted), or DecodeError."""
    try:
        with Pil.open(io.BytesIO(data), formats=FORMATS) as im:
            w, h = im.size  # from the header: nothing is decoded yet
            if w < 1 or h < 1 or w * h > MAX_PIXELS:
                raise DecodeError(f"{w}x{h} pixels")
            rgb = im if im.mode == "RGB" else im.convert("RGB")  # grey, CMYK, palette PNG
            raw = rgb.tobytes("raw", "BGR")
    except DecodeError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Pil.DecompressionBombError) as exc:
        # Pillow tells a truncated or corrupt stream by OSError/SyntaxError/ValueError, a header over its
        # own bomb limit by DecompressionBombError; none of them is more than "not a picture" here.
        raise DecodeError(f"{type(exc).__name__}: {str(exc)[:120]}") from None
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)


def encode(frame: Image, quality: int) -> bytes:
    """A BGR (or grey) uint8 frame as a baseline JPEG at `quality`, 4:2:0 like cv2.imencode."""
    if frame.ndim == 2:
        im = Pil.fromarray(np.ascontiguousarray(frame), "L")
    else:
        im = Pil.frombuffer(
            "RGB", (frame.shape[1], frame.shape[0]), np.ascontiguousarray(frame[:, :, :3]), "raw", "BGR"
        )
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()
