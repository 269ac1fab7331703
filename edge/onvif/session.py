"""The client side of one ONVIF device: SOAP over HTTP (edge/onvif/http.py), every call under a timeout, typed failures.

No WSDL machinery (zeep cost the camera worker ~21 MB of imports and ~0.2 MB per camera): an
operation is a typed function in edge/onvif/ops.py that writes its body and parses its answer, and
`OnvifSession.call` does the rest: service address, WS-Security UsernameToken (PasswordDigest, its
Created in the device's clock), HTTP Digest/Basic when the device asks for it, a bounded read, the
hardened parse, and one of the failure kinds below for anything that is not an answer.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Final, TypeVar
from urllib.parse import urlsplit

from edge.camhttp import camera_tls
from edge.metrics import bad_input
from edge.onvif import http, soap
from edge.onvif.services import (
    GET_CAPABILITIES,
    GET_SERVICES,
    NS_DEVICE,
    NS_MEDIA,
    NS_RECORDING,
    NS_REPLAY,
    NS_SEARCH,
    parse_capabilities,
    parse_services,
)

log = logging.getLogger(__name__)

__all__ = ["NS_DEVICE", "NS_MEDIA", "NS_RECORDING", "NS_REPLAY", "NS_SEARCH", "CallError", "OnvifSession"]

T = TypeVar("T")

STANDARD_DEVICE_PATH: Final = "/onvif/device_service"

# Failure kinds a call can end in. auth_failed and unreachable decide the camera state.
AUTH_FAILED = "auth_failed"
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
MALFORMED = "malformed_response"
FAULT = "fault"
ERROR = "error"

# The largest ONVIF reply we read: a GetProfiles of a 32-channel NVR is ~200 kB; 50 MB is an attack.
MAX_REPLY_BYTES = 2 * 1024 * 1024


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


ReplyTooLarge = http.TooLarge  # a camera's reply past MAX_REPLY_BYTES: refused before it is buffered or parsed


class HttpStatus(Exception):
    """A non-200 answer without a SOAP fault in it."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class NoService(LookupError):
    """The device does not advertise the service an operation belongs to."""


def classify(exc: BaseException) -> tuple[str, str]:
    """Map whatever the HTTP/SOAP stack raised to (kind, short detail)."""
    if isinstance(exc, ReplyTooLarge):
        return MALFORMED, f"too_large: {exc}"[:120]
    if isinstance(exc, soap.SoapFault):
        return (AUTH_FAILED if exc.not_authorized else FAULT), str(exc)[:120]
    if isinstance(exc, HttpStatus):
        return (AUTH_FAILED if exc.status in (401, 403) else FAULT), str(exc)
    if isinstance(exc, soap.Malformed):
        return MALFORMED, str(exc)[:120]
    if isinstance(exc, NoService):
        return FAULT, str(exc)[:120]
    if isinstance(exc, TimeoutError):
        return TIMEOUT, "no answer in time"
    if isinstance(exc, http.BadAddress):
        return ERROR, str(exc)[:120]
    if isinstance(exc, OSError):  # refused, reset, TLS, or not HTTP at all (http.ProtocolError)
        return UNREACHABLE, type(exc).__name__
    # A reply parser meeting a shape it did not expect (a number that is not one, ...): garbage in.
    if isinstance(exc, ValueError | KeyError | IndexError | TypeError | AttributeError):
        return MALFORMED, f"{type(exc).__name__}: {exc}"[:120]
    return ERROR, type(exc).__name__


class OnvifSession:
    """The client side of one ONVIF device (a camera or an NVR)."""

    def __init__(self, url: str, username: str, password: str | None, source: str, timeout: float) -> None:
        self.url = url
        self.source = source  # for metrics and logs, e.g. "onvif:cam-gate"
        self.timeout = timeout
        self._username = username
        self._password = password or ""
        self.xaddrs: dict[str, str] = {}  # namespace -> service address, from discover()
        self.clock_offset = 0.0  # device clock minus ours (s): WS-Security Created is sent in its time
        # Set once the device asked for HTTP authentication (on top of, or instead of, WS-Security).
        self._digest: http.DigestState | None = None
        self._basic = False

    async def call(
        self,
        namespace: str,
        op: str,
        body: str,
        parse: Callable[[ET.Element], T],
        *,
        auth: bool = True,
        limit: float | None = None,
    ) -> T:
        """`parse(answer element)` of one operation under the call timeout; any failure is a CallError.

        `body` is the operation element in the `m:` prefix (the service namespace); `auth=False`
        sends no credentials (GetSystemDateAndTime, as the spec allows before authentication).
        """
        try:
            async with asyncio.timeout(limit or self.timeout):
                address = await self._address(namespace)
                data = await self._post(address, namespace, op, body, auth)
                return parse(soap.reply(data, namespace, op))
        except Exception as exc:  # every failure is classified; none escapes untyped
            kind, detail = classify(exc)
            if isinstance(exc, CallError):
                raise
            if kind == MALFORMED:
                reason = "too_large" if isinstance(exc, ReplyTooLarge) else "malformed_xml"
                bad_input(log, self.source, reason, f"{op}: {detail}")
            raise CallError(op, kind, detail) from exc

    async def _address(self, namespace: str) -> str:
        if namespace == NS_DEVICE:
            return self.url
        if namespace not in self.xaddrs:
            await self.discover()
        try:
            return self.xaddrs[namespace]
        except KeyError:
            raise NoService(f"no service {namespace.rsplit('/', 2)[-2]} advertised") from None

    def _authorization(self, address: str) -> dict[str, str]:
        if self._digest is not None:
            parts = urlsplit(address)
            uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            return {"Authorization": http.digest_header(self._digest, self._username, self._password, "POST", uri)}
        if self._basic:
            return {"Authorization": http.basic_header(self._username, self._password)}
        return {}

    def _challenged(self, resp: http.Response) -> bool:
        """Take the device's HTTP challenge; False when there is none we can answer."""
        scheme, params = http.parse_challenge(resp.headers.get("www-authenticate", ""))
        if scheme == "digest" and params.get("nonce"):
            self._digest = http.DigestState(params)
            return True
        if scheme == "basic" and self._digest is None and not self._basic:
            self._basic = True
            return True
        return False

    async def _post(self, address: str, namespace: str, op: str, body: str, auth: bool) -> bytes:
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{namespace}/{op}"'}
        for attempt in range(2):  # the second only after the device asked for HTTP authentication
            header = ""
            if auth and self._username:
                created = soap.created_now(self.clock_offset)
                header = soap.security_header(self._username, self._password, created)
            extra = self._authorization(address) if auth else {}
            resp = await http.post(
                address, soap.envelope(namespace, body, header), headers | extra, MAX_REPLY_BYTES, camera_tls()
            )
            if resp.status == 200:
                return resp.body
            if resp.status == 401 and auth and self._username and attempt == 0 and self._challenged(resp):
                continue
            fault = soap.fault_in(resp.body)
            if fault is not None:
                raise fault
            raise HttpStatus(resp.status)
        raise HttpStatus(401)

    async def discover(self) -> dict[str, str]:
        """GetServices (falling back to GetCapabilities when the device has no GetServices): namespace -> XAddr."""
        try:
            found = await self.call(NS_DEVICE, "GetServices", GET_SERVICES, parse_services)
        except CallError as err:
            if err.kind != FAULT:
                raise
            found = {}
        if not found:
            found = await self.call(NS_DEVICE, "GetCapabilities", GET_CAPABILITIES, parse_capabilities)
        self.xaddrs = found
        return found

    def malformed(self, op: str, detail: str) -> CallError:
        bad_input(log, self.source, "malformed_response", f"{op}: {detail}")
        return CallError(op, MALFORMED, detail)

    async def close(self) -> None:
        """Nothing is held between calls (one connection per call); kept for the callers' lifecycle."""
        self._digest = None
