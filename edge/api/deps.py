"""Request-scoped dependencies shared by the routers."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from edge.api.state import AppState


def get_state(request: Request) -> AppState:
    return cast(AppState, request.app.state.edge)
