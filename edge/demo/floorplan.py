"""The demo school's floor plans, drawn as PNGs without an image library: walls as lines on a grid."""

from __future__ import annotations

import struct
import zlib

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels

BG, WALL, ROOM, PATH = (244, 241, 232), (70, 70, 80), (225, 232, 240), (214, 204, 180)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def draw(width: int, height: int, rooms: list[Rect], paths: list[Rect], wall: int = 4) -> bytes:
    """A PNG: background, paths (roads, corridors), rooms with walls."""
    px = [bytearray(bytes(BG) * width) for _ in range(height)]

    def fill(r: Rect, colour: tuple[int, int, int]) -> None:
        x0, y0, x1, y1 = max(0, r[0]), max(0, r[1]), min(width, r[2]), min(height, r[3])
        for y in range(y0, y1):
            px[y][x0 * 3 : x1 * 3] = bytes(colour) * (x1 - x0)

    for p in paths:
        fill(p, PATH)
    for x0, y0, x1, y1 in rooms:
        fill((x0, y0, x1, y1), ROOM)
        for edge in (
            (x0, y0, x1, y0 + wall),
            (x0, y1 - wall, x1, y1),
            (x0, y0, x0 + wall, y1),
            (x1 - wall, y0, x1, y1),
        ):
            fill(edge, WALL)
    raw = b"".join(b"\x00" + bytes(row) for row in px)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")
    )


def campus() -> bytes:
    """The whole site: gates south and north, guard room, teaching block, lab, dorms, canteen, library."""
    rooms = [(360, 40, 440, 90), (80, 120, 360, 260), (460, 120, 700, 260), (80, 330, 300, 470),
             (330, 330, 520, 470), (560, 330, 760, 470), (360, 520, 440, 580)]  # fmt: skip
    paths = [(380, 0, 420, 600), (0, 280, 800, 310)]
    return draw(800, 600, rooms, paths)


def teaching_block() -> bytes:
    """One floor of the teaching block: classrooms either side of a corridor."""
    rooms = [(40 + i * 120, 40, 150 + i * 120, 200) for i in range(6)]
    rooms += [(40 + i * 120, 280, 150 + i * 120, 440) for i in range(6)]
    return draw(800, 480, rooms, [(40, 210, 760, 270)])
