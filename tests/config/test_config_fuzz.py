"""The config loader never crashes: any text gives a Config or a ConfigError with located issues."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import Config, ConfigError, parse_config

VALID = "site: {id: s}\nstorage: {path: /tmp/x.db}\napi: {}\n"

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), st.text(max_size=12)
)
keys = st.sampled_from(
    [
        "site",
        "storage",
        "api",
        "mqtt",
        "serial_buses",
        "buttons",
        "cameras",
        "police",
        "checks",
        "rules",
        "id",
        "name",
        "zone",
        "transport",
        "bus",
        "unit",
        "input",
        "type",
        "address",
        "port",
        "url",
        "account",
        "receivers",
        "x",
    ]
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


def _check(text: str) -> None:
    try:
        result = parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.file == "fuzz.yaml" and issue.line >= 0 and issue.message
    else:
        assert isinstance(result, Config)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    _check(text)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, trees, max_size=6))
def test_arbitrary_structures(doc: dict[str, Any]) -> None:
    _check(json.dumps(doc, ensure_ascii=False))  # JSON is YAML


@settings(max_examples=100, deadline=None)
@given(keys, trees)
def test_valid_base_plus_arbitrary_section(key: str, value: Any) -> None:
    _check(VALID + f"{key}: {json.dumps(value, ensure_ascii=False)}\n")
