from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from edge.api.app import create_app
from tests.api.live import LiveServer
from tests.api.site import Site, build_site, copy_site
from tests.browser import chromium


@pytest.fixture(scope="session")
def site_template(tmp_path_factory: pytest.TempPathFactory) -> Site:
    s = build_site(tmp_path_factory.mktemp("template"))
    s.db.close()  # checkpoints the WAL into the file, so a plain copy is complete
    return s


@pytest.fixture
def site(site_template: Site, tmp_path: Path) -> Iterator[Site]:
    s = copy_site(site_template, tmp_path)
    yield s
    if s.state.runtime is not None:
        s.state.runtime.close()
    s.db.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(site.state)) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def live(site: Site) -> Iterator[LiveServer]:
    """The app on a real uvicorn server on loopback, for browsers and streaming clients."""
    with LiveServer(site.state) as server:
        yield server
