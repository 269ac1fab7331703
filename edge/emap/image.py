"""Floor-plan images: PNG or JPEG only (no SVG: it can carry script), size read from the header."""

from __future__ import annotations

import struct

MAX_IMAGE_BYTES = 5_000_000
MAX_SIDE = 10_000


class ImageError(ValueError):
    """Not an image we serve; the message says why."""


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageError("PNG without an IHDR header / PNG 文件损坏")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise ImageError("JPEG with a broken marker / JPEG 文件损坏")
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame: the size
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    raise ImageError("JPEG without a frame header / JPEG 文件损坏")


def inspect_image(data: bytes) -> tuple[str, int, int]:
    """(content type, width, height) of a PNG or JPEG floor plan."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"larger than {MAX_IMAGE_BYTES // 1_000_000} MB / 图片过大")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind, (w, h) = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8"):
        kind, (w, h) = "image/jpeg", _jpeg_size(data)
    else:
        raise ImageError("only PNG or JPEG floor plans / 平面图须为 PNG 或 JPEG")
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ImageError(f"{w}×{h} pixels is not a plausible floor plan / 图片尺寸无效")
    return kind, w, h
