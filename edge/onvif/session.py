"""One long-lived onvif-zeep-async client per device, and every call under a timeout with typed failures.

ONVIFCamera and its services are built once per device and reused every round: building them loads
and compiles WSDLs (blocking file I/O, tens of ms of CPU), which must stay off the per-round path.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from lxml.etree import XMLSyntaxError as LxmlSyntaxError  # type: ignore[import-untyped]
from onvif import ONVIFCamera
from onvif.client import AsyncTransportProtocolErrorHandler
from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError
from zeep.exceptions import Fault, TransportError, XMLParseError, XMLSyntaxError

from edge.metrics import bad_input

log = logging.getLogger(__name__)

NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
NS_SEARCH = "http://www.onvif.org/ver10/search/wsdl"
STANDARD_DEVICE_PATH = "/onvif/device_service"

# Failure kinds a call can end in. auth_failed and unreachable decide the camera state.
AUTH_FAILED = "auth_failed"
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
MALFORMED = "malformed_response"
FAULT = "fault"
ERROR = "error"

# The largest ONVIF reply we read: a GetProfiles of a 32-channel NVR is ~200 kB; 50 MB is an attack.
MAX_REPLY_BYTES = 2 * 1024 * 1024


# onvif-zeep-async caches each parsed WSDL per process but does not lock the first load: 128 cameras
# starting together would each parse the same WSDLs (seconds of CPU, ~100 MB). The first build of each
# service kind therefore runs alone; after that the cache serves everyone.
_WARMED: set[str] = set()
_WARM_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _warm_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _WARM_LOCKS.get(loop)
    if lock is None:
        lock = _WARM_LOCKS[loop] = asyncio.Lock()
    return lock


class CallError(Exception):
    """An ONVIF call that did not give a usable answer; `kind` is one of the failure kinds above."""

    def __init__(self, op: str, kind: str, detail: str = "") -> None:
        super().__init__(f"{op}: {kind} {detail}".strip())
        self.op = op
        self.kind = kind
        self.detail = detail

    @property
    def no_contact(self) -> bool:
        return self.kind in (UNREACHABLE, TIMEOUT)


def _is_auth_fault(exc: Fault) -> bool:
    names = [str(getattr(s, "localname", s)) for s in (exc.subcodes or [])]
    text = f"{exc.code} {exc.message} {' '.join(names)}".lower()
    return "notauthorized" in text or "not authorized" in text or "unauthorized" in text


def classify(exc: BaseException) -> tuple[str, str]:
    """Map whatever the zeep/aiohttp stack raised to (kind, short detail)."""
    if isinstance(exc, ReplyTooLarge):
        return MALFORMED, f"too_large: {exc}"[:120]
    if isinstance(exc, Fault):
        return (AUTH_FAILED if _is_auth_fault(exc) else FAULT), str(exc.message or exc.code)[:120]
    if isinstance(exc, TransportError):
        if exc.status_code in (401, 403):
            return AUTH_FAILED, f"HTTP {exc.status_code}"
        if exc.status_code == 200:  # zeep: "Server returned response (200) with invalid XML"
            return MALFORMED, str(exc)[:120]
        return FAULT, f"HTTP {exc.status_code}"
    if isinstance(exc, XMLSyntaxError | XMLParseError | LxmlSyntaxError):
        return MALFORMED, str(exc)[:120]
    if isinstance(exc, ONVIFAuthError):
        return AUTH_FAILED, str(exc)[:120]
    if isinstance(exc, ONVIFTimeoutError | TimeoutError):
        return TIMEOUT, "no answer in time"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return UNREACHABLE, type(exc).__name__
    if isinstance(exc, ONVIFError):
        return ERROR, str(exc)[:120]
    # zeep's lenient parser can hand half-parsed objects to code that expects fields: garbage in.
    if isinstance(exc, AttributeError | TypeError | ValueError | KeyError | IndexError):
        return MALFORMED, f"{type(exc).__name__}: {exc}"[:120]
    return ERROR, type(exc).__name__


class ReplyTooLarge(aiohttp.ClientPayloadError):
    """A camera's reply past MAX_REPLY_BYTES: refused before it is buffered or parsed."""


async def _bounded_post(
    self: Any, address: str, message: str | bytes, headers: dict[str, str]
) -> tuple[aiohttp.ClientResponse, bytes]:
    """onvif's POST with the reply body read to at most MAX_REPLY_BYTES (onvif reads bodies whole)."""
    headers = headers or {}
    headers.setdefault("Content-Type", 'text/xml; charset="utf-8"')
    data = message.encode("utf-8") if isinstance(message, str) else message
    response = await self.session.post(address, data=data, headers=headers, timeout=self._client_timeout)
    try:
        return response, await read_bounded(response)
    except BaseException:
        response.close()
        raise


async def read_bounded(response: aiohttp.ClientResponse, limit: int | None = None) -> bytes:
    """The body, or ReplyTooLarge as soon as it (or its declared length) passes `limit`."""
    cap = MAX_REPLY_BYTES if limit is None else limit
    if (response.content_length or 0) > cap:
        raise ReplyTooLarge(f"declared {response.content_length} bytes, cap {cap}")
    body = bytearray()
    while chunk := await response.content.read(64 * 1024):
        body += chunk
        if len(body) > cap:
            raise ReplyTooLarge(f"over {cap} bytes")
    return bytes(body)


# Every ONVIF service builds its own transport inside onvif-zeep-async, with no hook to pass ours: the
# one POST path they all share is bounded here, for the whole (camera worker) process.
AsyncTransportProtocolErrorHandler._post_internal = _bounded_post


class _Camera(ONVIFCamera):  # type: ignore[misc]  # onvif ships no type information
    """ONVIFCamera that honours a device service path other than the standard one and bounds replies."""

    def __init__(self, device_url: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._device_url = device_url

    def get_definition(self, name: str, port_type: str | None = None) -> tuple[str, str, str]:
        xaddr, wsdl, binding = super().get_definition(name, port_type)
        return (self._device_url if name == "devicemgmt" else xaddr), wsdl, binding


class OnvifSession:
    """The client side of one ONVIF device (a camera or an NVR)."""

    def __init__(self, url: str, username: str, password: str | None, source: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.url = url
        self.source = source  # for metrics and logs, e.g. "onvif:cam-gate"
        self.timeout = timeout
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._path = parts.path or STANDARD_DEVICE_PATH
        self._username = username
        self._password = password or ""
        self._cam: Any = None
        self._services: dict[str, Any] = {}
        self.xaddrs: dict[str, str] = {}
        # update_xaddrs() empties the address table while it awaits: service creation and other
        # discoveries (a health round and a retention check, or cameras sharing an NVR) must wait.
        self._lock = asyncio.Lock()

    def _camera(self) -> Any:
        if self._cam is None:
            # no_cache: the shipped WSDLs import only local files, so zeep's sqlite cache would only cost I/O.
            self._cam = _Camera(self.url, self._host, self._port, self._username, self._password, no_cache=True)
        return self._cam

    async def call(self, op: str, fn: Callable[[], Awaitable[Any]], limit: float | None = None) -> Any:
        """Await `fn()` under the call timeout; any failure becomes a CallError (garbage is counted)."""
        try:
            async with asyncio.timeout(limit or self.timeout):
                return await fn()
        except Exception as exc:  # every failure is classified; none escapes untyped
            kind, detail = classify(exc)
            if kind == MALFORMED:
                reason = "too_large" if isinstance(exc, ReplyTooLarge) else "malformed_xml"
                bad_input(log, self.source, reason, f"{op}: {detail}")
            raise CallError(op, kind, detail) from exc

    async def service(self, name: str) -> Any:
        """devicemgmt, media or search; built once, rebuilt when the device moves a service.

        Local work only (no network), so no call timeout: cancelling a half-built service would leak
        its HTTP session. The first build per process loads the WSDL; it runs alone (see _warm_lock).
        """
        cam = self._camera()
        creator: Callable[[], Awaitable[Any]] = getattr(cam, f"create_{name}_service")
        try:
            async with self._lock:
                if name in _WARMED:
                    svc = await creator()
                else:
                    async with _warm_lock():
                        svc = await creator()
                        _WARMED.add(name)
        except Exception as exc:  # every failure is classified; none escapes untyped
            kind, detail = classify(exc)
            raise CallError(f"create_{name}", kind, detail) from exc
        self._services[name] = svc
        return svc

    async def discover(self) -> dict[str, str]:
        """GetServices (falling back to GetCapabilities): namespace -> XAddr."""
        cam = self._camera()
        async with self._lock:
            await self.call("GetServices", cam.update_xaddrs)
            self.xaddrs = dict(cam.xaddrs)
        return self.xaddrs

    def malformed(self, op: str, detail: str) -> CallError:
        bad_input(log, self.source, "malformed_response", f"{op}: {detail}")
        return CallError(op, MALFORMED, detail)

    async def close(self) -> None:
        if self._cam is not None:
            cam, self._cam = self._cam, None
            self._services.clear()
            try:
                await cam.close()
            except (aiohttp.ClientError, OSError, RuntimeError) as exc:
                log.debug("%s: closing ONVIF client: %s", self.source, exc)
