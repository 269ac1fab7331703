"""Debian's chromium for browser tests (never a downloaded browser): one place for its path and flags."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from playwright.async_api import Browser as AsyncBrowser
from playwright.async_api import async_playwright
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# The closed network refuses chromium's background connections; these keep it from trying.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AUTOPLAY = "--autoplay-policy=no-user-gesture-required"


def executable() -> str:
    assert CHROMIUM.exists(), "Debian's chromium is a test dependency (apt-get install chromium)"
    return str(CHROMIUM)


@contextmanager
def chromium(*extra: str) -> Iterator[Browser]:
    """A headless chromium (sound may autoplay unless `extra` says otherwise)."""
    args = [*ARGS, *(extra or (AUTOPLAY,))]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable(), args=args)
        try:
            yield b
        finally:
            b.close()


@asynccontextmanager
async def async_chromium(*extra: str) -> AsyncIterator[AsyncBrowser]:
    """The same browser for tests that drive it from asyncio beside the daemon's peers."""
    args = [*ARGS, *(extra or (AUTOPLAY,))]
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable(), args=args)
        try:
            yield b
        finally:
            await b.close()
