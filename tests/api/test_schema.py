"""schemathesis against our OpenAPI schema, in-process over ASGI, with an admin token: no 5xx, responses match."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from edge.api.app import create_app
from edge.api.ratelimit import FailureLimiter
from tests.api.site import Site

# Bounded so the whole run stays well under a minute; every operation still gets varied inputs.
MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]


def test_every_operation_conforms(site: Site) -> None:
    # generated requests carry odd headers; failures must not lock the admin token out
    site.state.auth_limiter = FailureLimiter(limit=10**9)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(site.state))
    headers = {"Authorization": f"Bearer {site.tokens['admin']}"}
    tested = []
    for result in schema.get_all_operations():
        # schemathesis yields Ok | Err; Err has no .ok(), so an unloadable operation fails the test here.
        operation = result.ok()  # type: ignore[union-attr]
        if operation.path == "/api/v1/stream":
            continue  # an endless response; test_sse covers it against a real server

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()  # a failure names the operation in its curl reproduction
        tested.append(operation.path)
    assert len(tested) >= 13
