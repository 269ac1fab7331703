"""Heap trimming after the last decode: real on glibc, a no-op elsewhere, and the limiter calls it."""

from __future__ import annotations

import platform

import pytest

from edge.video import heap
from edge.video.limiter import DecodeLimiter


def test_trim_works_where_glibc_is() -> None:
    assert heap.trim() is (platform.libc_ver()[0] == "glibc")


async def test_limiter_trims_when_the_last_decode_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counting() -> bool:
        calls.append(1)
        return True

    monkeypatch.setattr(heap, "trim", counting)
    limiter = DecodeLimiter(2)
    assert await limiter.run(lambda: 7) == 7
    assert calls == [1]
