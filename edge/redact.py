"""The one place secrets are taken out of what the process shows: URLs, config dumps, diagnostics, logs.

A secret reaches text in three ways: a URL's userinfo (``rtsp://admin:pw@cam``), a query parameter
(``?token=…``, vendor CGI ``?pwd=…``) and a mapping key (``{"password": …}``). `redact_url`,
`redact_text` and `redact_data` replace each with ``***``, keeping everything else (host, path,
parameter names, the user name) because that is what an operator needs to find the fault.
`install_log_redaction` applies `redact_text` to every log record of every logger, ours and
third-party (httpx logs each request URL at INFO, SOAP clients dump envelopes at DEBUG).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# Parameter and key names that carry a secret, matched whole or as the last part of a compound name
# (api_key, access-token, x_auth_sig). "key" alone is included: vendors use ?key= for API keys.
_SENSITIVE_WORDS = (
    "token|tokens|pwd|passwd|password|passwords|pass|passphrase|secret|secrets|key|apikey|sig|signature"
    "|auth|authorization|credential|credentials|session|sessionid|cookie"
)
_NAME = rf"(?:[a-z0-9]+[_-])*(?:{_SENSITIVE_WORDS})"
_NAME_RE = re.compile(rf"(?i){_NAME}")
# Keys naming where a secret lives rather than the secret itself: their values stay visible.
_REFERENCE_SUFFIXES = ("_file", "_path", "_dir", "_files", "_id", "_name")

# name=value anywhere in text (a query string, a form body, a "k=v" log line). The value ends at the
# next separator a URL or a log line would use. A quoted value is left alone: in XML (ONVIF's
# token="Profile_1") it is an identifier; quoted secrets come as "key": "value" (below).
_PAIR_RE = re.compile(rf"(?i)(?<![a-z0-9_-])({_NAME})=([^&\s\"'<>;,)\]}}]+)")
# "password": "…" / 'token': '…' as a JSON or Python repr of a config or diagnostics dict shows it.
_QUOTED_RE = re.compile(rf"(?i)([\"'])({_NAME})\1(\s*:\s*)([\"'])(?:(?!\4).)*\4")
# scheme://userinfo@ in text; the userinfo may hold any character but "/", whitespace and "@"
# ends at the last "@" before the host (passwords may contain "@").
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s?#\"'<>]*)@(?=[^\s@/?#\"'<>]+)")
# HTTP credentials and ONVIF's WS-Security password element, as a SOAP or header dump shows them.
_HEADER_RE = re.compile(r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie)(\s*[:=]\s*['\"]?)([^'\"\r\n]+)")
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic|digest)\s+[a-z0-9._~+/=-]{8,}")
_WSSE_RE = re.compile(r"(?is)(<(?:\w+:)?(?:password|nonce)\b[^>]*>)(.*?)(</(?:\w+:)?(?:password|nonce)>)")
# Our own API tokens: edge_<kid>_<secret>; the key id is public and kept, the secret is not.
_EDGE_TOKEN_RE = re.compile(r"\b(edge_[0-9a-f]{6,32}_)[A-Za-z0-9_-]{8,}")


def is_secret_name(name: str) -> bool:
    """True for a key or parameter whose value is a secret (``password``, ``api_key``), not a reference to one."""
    low = name.lower()
    return not low.endswith(_REFERENCE_SUFFIXES) and _NAME_RE.fullmatch(low) is not None


def _mask_userinfo(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    # A lone userinfo may be a token (https://TOKEN@host), so only a "user:" prefix is kept.
    return f"{user}:{MASK}" if colon else MASK


def redact_url(url: str) -> str:
    """`url` with its password and secret query parameters replaced by ``***``; anything else unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        netloc = f"{_mask_userinfo(userinfo)}@{hostport}"
    query = _PAIR_RE.sub(rf"\1={MASK}", parts.query)
    fragment = _PAIR_RE.sub(rf"\1={MASK}", parts.fragment)
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_optional_url(url: str | None) -> str | None:
    return redact_url(url) if url else url


def redact_text(text: str) -> str:
    """Free text (a log line, an exception, a SOAP dump) with every secret the patterns above know masked."""
    if not text:
        return text
    out = _USERINFO_RE.sub(lambda m: f"{m.group(1)}{_mask_userinfo(m.group(2))}@", text)
    out = _PAIR_RE.sub(rf"\1={MASK}", out)
    out = _QUOTED_RE.sub(rf"\1\2\1\3\4{MASK}\4", out)
    out = _HEADER_RE.sub(rf"\1\2{MASK}", out)
    out = _BEARER_RE.sub(rf"\1 {MASK}", out)
    out = _WSSE_RE.sub(rf"\1{MASK}\3", out)
    return _EDGE_TOKEN_RE.sub(rf"\1{MASK}", out)


def redact_data(value: Any) -> Any:
    """A copy of a config dump or diagnostics tree: secret-named keys masked, every string redacted as text."""
    if isinstance(value, Mapping):
        return {
            k: (MASK if value[k] not in (None, "") else value[k])
            if isinstance(k, str) and is_secret_name(k) and not isinstance(value[k], (Mapping, list, tuple, bool))
            else redact_data(value[k])
            for k in value
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


def mask(value: object) -> str:
    """What a diagnostics dump shows for a secret that is set: ``***`` (or "" when there is none)."""
    return MASK if value else ""


# --- logging -------------------------------------------------------------------------------------
_DONE = "_edge_redacted"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Format the record's message now and redact it (and its traceback), once."""
    if getattr(record, _DONE, False):
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a bad format string: keep the raw parts, redacted
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact_text(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    setattr(record, _DONE, True)
    return record


class RedactFilter(logging.Filter):
    """A handler filter: every record the handler writes is redacted, whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed: list[Callable[..., logging.LogRecord]] = []


def install_log_redaction() -> Callable[[], None]:
    """Redact every log record from now on: at creation (all loggers, all handlers, also ones added later,
    e.g. by uvicorn or a test harness) and by a filter on the root handlers present now. Idempotent.

    Returns what undoes it, for tests that must leave logging as they found it."""
    added: list[tuple[logging.Handler, RedactFilter]] = []
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            added.append((handler, RedactFilter()))
            handler.addFilter(added[-1][1])
    if _installed:
        return lambda: None
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    def uninstall() -> None:
        for handler, flt in added:
            handler.removeFilter(flt)
        if _installed and logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(_installed.pop())

    _installed.append(previous)
    logging.setLogRecordFactory(factory)
    return uninstall
