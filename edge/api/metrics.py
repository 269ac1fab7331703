"""GET /metrics: Prometheus text: the default registry (drivers, relays, checks) + the store's figures."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import REGISTRY

from edge.api import auth
from edge.api.deps import get_state
from edge.api.state import AppState
from edge.api.tokens import Principal, Role
from edge.metrics_text import CONTENT_TYPE, exposition

router = APIRouter(tags=["metrics"])


_scrape_or_viewer = auth.require(Role.VIEWER, allow_scrape=True)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(_scrape_or_viewer),  # noqa: B008
) -> Response:
    return Response(exposition([REGISTRY, state.metrics_registry]), media_type=CONTENT_TYPE)
