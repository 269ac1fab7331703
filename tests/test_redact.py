"""The one redaction helper: URLs, free text, config/diagnostics trees and log records (pure)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.redact import (
    MASK,
    RedactFilter,
    install_log_redaction,
    is_secret_name,
    mask,
    redact_data,
    redact_optional_url,
    redact_text,
    redact_url,
)

URLS = [
    ("rtsp://admin:secret@10.0.0.1/ch1", "rtsp://admin:***@10.0.0.1/ch1"),
    ("rtsp://admin:p%40ss@10.0.0.1:554/x", "rtsp://admin:***@10.0.0.1:554/x"),
    ("rtsp://admin:p@ss@[fe80::1]:554/x", "rtsp://admin:***@[fe80::1]:554/x"),
    ("https://0123456789abcdef@hooks.example/x", "https://***@hooks.example/x"),
    ("http://cam/cgi-bin/snapshot.cgi?user=admin&pwd=hunter2", "http://cam/cgi-bin/snapshot.cgi?user=admin&pwd=***"),
    ("https://p.example/hook?token=SECRET&site=1", "https://p.example/hook?token=***&site=1"),
    (
        "https://p.example/h?Password=a&key=b&sig=c&api_key=d",
        "https://p.example/h?Password=***&key=***&sig=***&api_key=***",
    ),
    ("https://p.example/h?access-token=a&monkey=b", "https://p.example/h?access-token=***&monkey=b"),
    ("http://10.0.0.1/onvif/device_service", "http://10.0.0.1/onvif/device_service"),
    ("http://cam/x.jpg?verdict=pass", "http://cam/x.jpg?verdict=pass"),
]


@pytest.mark.parametrize(("url", "expected"), URLS)
def test_redact_url_table(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(expected) == expected  # idempotent
    assert redact_text(f"GET {url} 200") == f"GET {expected} 200"  # the same inside text


def test_optional() -> None:
    assert redact_optional_url(None) is None
    assert redact_optional_url("") == ""
    assert mask("x") == MASK and mask(None) == ""


TEXT = [
    ('HTTP Request: POST http://127.0.0.1:9/hook?token=SECRET "HTTP/1.1 200 OK"', "SECRET"),
    ("headers={'Authorization': 'Bearer abcdefghijklmnopqrstu'}", "abcdefghijklmnopqrstu"),
    ("Authorization: Basic YWRtaW46aHVudGVyMg==", "YWRtaW46aHVudGVyMg=="),
    ('<wsse:Password Type="...#PasswordDigest">c2VjcmV0ZGlnZXN0</wsse:Password>', "c2VjcmV0ZGlnZXN0"),
    ("<wsse:Nonce>bm9uY2Vub25jZQ==</wsse:Nonce>", "bm9uY2Vub25jZQ=="),
    ("token edge_0123456789ab_ThisIsTheSecretPartOfIt rejected", "ThisIsTheSecretPartOfIt"),
    ("opening rtsp://admin:hunter2@cam:554/x failed", "hunter2"),
    ("form body user=admin&password=hunter2&x=1", "hunter2"),
    ("""config {'mqtt': {'password': 'hunter2', 'username': 'u'}}""", "hunter2"),
    ('{"api_key": "hunter2", "x": 1}', "hunter2"),
]


@pytest.mark.parametrize(("text", "secret"), TEXT)
def test_redact_text_hides(text: str, secret: str) -> None:
    out = redact_text(text)
    assert secret not in out and MASK in out


def test_redact_text_keeps_ordinary_lines() -> None:
    for line in (
        "relay: delivered seq=12 to dc09://10.0.0.9:12000",
        "camera cam-gate verdict=pass drift 0.4 s",
        '<trt:Profiles token="Profile_1" fixed="true">',  # ONVIF tokens are identifiers
        "token= (empty)",
        "",
    ):
        assert redact_text(line) == line


@given(st.text(max_size=200))
def test_redact_never_raises_and_hides_passwords(text: str) -> None:
    assert isinstance(redact_url(text), str) and isinstance(redact_text(text), str)
    host = "".join(c for c in text if c.isalnum())[:20] or "cam"
    assert "hunter2" not in redact_url(f"rtsp://admin:hunter2@{host}:554/x")
    assert "hunter2" not in redact_text(f"{text} http://{host}/x?pwd=hunter2 {text}")


def test_secret_names() -> None:
    assert all(map(is_secret_name, ["password", "token", "api_key", "X-Auth-Token", "secret", "pwd", "sig"]))
    assert not any(map(is_secret_name, ["password_file", "secret_file", "username", "kid", "token_count", "keys_x"]))


def test_redact_data_tree() -> None:
    doc: dict[str, Any] = {
        "mqtt": {"url": "mqtts://u:pw1@broker:8883", "username": "u", "password": "pw2", "password_file": "/etc/p"},
        "police": {"webhook": {"url": "https://p/h?token=tk3", "secret_file": "/etc/s"}, "key": "k4"},
        "cameras": [{"stream_uri": "rtsp://a:pw5@c/x", "tls": True, "password": None}],
    }
    out = redact_data(doc)
    flat = repr(out)
    for secret in ("pw1", "pw2", "tk3", "k4", "pw5"):
        assert secret not in flat
    assert out["mqtt"]["password_file"] == "/etc/p" and out["mqtt"]["username"] == "u"
    assert out["cameras"][0]["password"] is None and out["cameras"][0]["tls"] is True
    assert doc["mqtt"]["password"] == "pw2"  # a copy: the input is untouched


@pytest.fixture
def isolated_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("tests.redact.isolated")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_filter_redacts_args_and_tracebacks(isolated_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = isolated_logger
    logger.info("HTTP Request: %s %s", "POST", "http://x/h?token=SECRET1")
    try:
        raise ValueError("could not open rtsp://admin:SECRET2@cam/x")
    except ValueError:
        logger.exception("grab failed for %s", "http://cam/s.jpg?pwd=SECRET3")
    text = stream.getvalue()
    assert "token=***" in text and "rtsp://admin:***@cam/x" in text and "pwd=***" in text
    assert "SECRET" not in text


def test_install_covers_loggers_and_handlers_added_later() -> None:
    undo = install_log_redaction()
    install_log_redaction()()  # idempotent: the second install changes nothing, nor does its undo
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # no filter of its own: added after install, like uvicorn's
    logger = logging.getLogger("httpx.tests-redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("send %s", "https://p/h?token=SECRET4&x=1")
    finally:
        logger.removeHandler(handler)
        undo()
    assert logging.getLogRecordFactory() is logging.LogRecord
    assert "SECRET4" not in stream.getvalue() and "token=***&x=1" in stream.getvalue()


def test_config_errors_do_not_print_the_secrets_they_quote() -> None:
    from edge.config import ConfigError, parse_config  # noqa: PLC0415 - this test only

    text = "site: {id: s1}\nstorage: {path: /tmp/x.db}\npolice: {account: '1234', receivers: ['http://u:hunter2@h:1/?token=tk9']}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "bad.yaml")
    shown = "\n".join(map(str, err.value.issues))
    assert "receivers" in shown and "hunter2" not in shown and "tk9" not in shown
