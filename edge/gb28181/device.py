"""The gateway as a GB/T 28181 device: registration, keepalive, and answers to the platform.

REGISTER is answered with a 401 digest challenge, answered once with credentials; a 401/403 to
that is a wrong password (`edge_gb28181_register_failures_total{reason="auth"}`, logged in clear
words). Any failure re-registers after a back-off of 1, 2, 4 ... s up to 60 s (at least 30 s after an
auth failure, so a wrong password never becomes a tight loop). A registration is refreshed at 80 %
of its expiry. Keepalive MESSAGEs go every `keepalive_interval`; after `keepalive_timeout_count`
missed answers the platform counts as offline and the device registers again. Stop unregisters
(Expires: 0).

Queries (Catalog, DeviceInfo, DeviceStatus, RecordInfo) get a 200 OK at once and their answer as
MESSAGEs; RecordInfo waits (with a deadline) for the camera worker's search of the recorder
(edge.gb28181.records). Catalog and RecordInfo are paged: SumNum = all items, at most CATALOG_PAGE
per MESSAGE. GuardCmd and AlarmCmd ResetAlarm change what DeviceStatus reports and are written to
the audit log; they never hold an alarm back (a panic is always sent, GB 50394).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge

from edge import __version__
from edge.camworker.host import StreamUriError
from edge.camworker.protocol import RecordSpan
from edge.config import SecretError
from edge.config.gb28181 import Gb28181
from edge.events import now_ms
from edge.gb28181 import digest, manscdp, records, sdp
from edge.gb28181.channels import Channel
from edge.gb28181.endpoint import Addr, SipEndpoint, SipTimeout
from edge.gb28181.media import MediaCalls
from edge.gb28181.sip import SipError, SipMessage, new_branch, new_call_id, new_tag, uri_user
from edge.metrics import bad_input
from edge.store.db import Database
from edge.store.misc import audit

log = logging.getLogger(__name__)

CATALOG_PAGE = 4  # items per Catalog MESSAGE: keeps each UDP datagram well under the path MTU
TRANSACTION_S = 8.0
BACKOFF_MAX_S = 60.0
AUTH_BACKOFF_MIN_S = 30.0
REFRESH_AT = 0.8
SOURCE = "gb28181"
TCP_SETUPS = ("passive", "actpass", "active")
STREAM_URI_DEADLINE_S = 3.0  # the worker answers from memory; this covers its first health round only
MANUFACTURER = "edge"
MODEL = "edge-gateway"

REGISTER_FAILURES = Counter("edge_gb28181_register_failures_total", "Failed GB/T 28181 registrations", ["reason"])
KEEPALIVES = Counter("edge_gb28181_keepalives_total", "Keepalive MESSAGEs by outcome", ["result"])
REGISTERED = Gauge("edge_gb28181_registered", "1 while registered with the GB/T 28181 platform")
COMMANDS = Counter("edge_gb28181_commands_total", "Platform commands and queries handled", ["cmd"])


class RegisterError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class GbDevice:
    def __init__(
        self,
        config: Gb28181,
        password: str,
        channels: list[Channel],
        *,
        db: Database | None = None,
        on_change: Callable[[], None] = lambda: None,
        camera_worker: records.WorkerRef = lambda: None,
    ) -> None:
        self.config = config
        self._password = password
        self.channels = channels
        self._db = db
        self._on_change = on_change
        self._camera_worker = camera_worker
        self.endpoint: SipEndpoint | None = None
        self.registered = False
        self.registered_at_ms: int | None = None
        self.last_keepalive_ms: int | None = None
        self.last_alarm_ms: int | None = None
        self.last_error = ""
        self.down_since: float | None = time.monotonic()
        self.guard = True  # armed (SetGuard) unless the platform sent ResetGuard
        self._inviting: set[str] = set()  # INVITEs waiting for their camera's stream URI
        self.alarmed: set[str] = set()  # channels with an alarm not yet reset by the platform
        self._sn = 0
        self._cseq = 0
        self._call_id = ""
        self._tag = new_tag()
        self._failures = 0
        self._expires = config.expires
        self.media = MediaCalls(config.max_streams)

    # ---- addresses ---------------------------------------------------------------------------
    @property
    def server(self) -> Addr:
        return (self.config.host, self.config.port)

    @property
    def server_uri(self) -> str:
        return f"sip:{self.config.server_id}@{self.config.realm}"

    def _headers(self, method: str, to_uri: str, cseq: int, call_id: str) -> list[tuple[str, str]]:
        assert self.endpoint is not None
        host, port = self.endpoint.local
        me = f"sip:{self.config.device_id}@{self.config.realm}"
        return [
            ("Via", f"SIP/2.0/{self.endpoint.via_transport} {host}:{port};rport;branch={new_branch()}"),
            ("From", f"<{me}>;tag={self._tag}"),
            ("To", f"<{to_uri}>"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Max-Forwards", "70"),
            ("User-Agent", f"edge/{__version__}"),
        ]

    def next_sn(self) -> int:
        self._sn += 1
        return self._sn

    # ---- running -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Register, keep alive, re-register on failure; unregister when cancelled."""
        try:
            while True:
                try:
                    await self._open()
                    await self.register(self.config.expires)
                    self._failures = 0
                    await self._keep_alive()  # returns when the platform stopped answering keepalives
                except (RegisterError, SipTimeout, OSError, SipError) as exc:
                    await self._failed(exc)  # a failed refresh or a lost TCP connection: register again
        finally:
            await self.media.stop_all()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._unregister()
            await self._close()

    async def _open(self) -> None:
        if self.endpoint is not None and not self.endpoint.closed.is_set():
            return
        await self._close()
        self.endpoint = SipEndpoint(self.config.scheme, self._on_request, source=SOURCE)
        await self.endpoint.connect(self.server, self.config.local_port)

    async def _close(self) -> None:
        ep, self.endpoint = self.endpoint, None
        if ep is not None:
            await ep.close()

    async def _failed(self, exc: Exception) -> None:
        reason = exc.reason if isinstance(exc, RegisterError) else type(exc).__name__
        REGISTER_FAILURES.labels(reason).inc()
        self._set_registered(False, f"{reason}: {exc}")
        self._failures += 1
        delay = min(BACKOFF_MAX_S, 2.0 ** (self._failures - 1))
        if reason == "auth":
            delay = max(delay, AUTH_BACKOFF_MIN_S)
            log.error("gb28181: 注册被平台拒绝（密码错误？）/ registration refused by %s: %s", self.config.server, exc)
        else:
            log.warning("gb28181: registration with %s failed (%s); retrying in %.0f s", self.config.server, exc, delay)
        if self.config.scheme == "tcp":
            await self._close()
        await asyncio.sleep(delay)

    def _set_registered(self, up: bool, reason: str = "") -> None:
        changed = up != self.registered
        self.registered = up
        REGISTERED.set(1 if up else 0)
        if up:
            self.registered_at_ms, self.down_since, self.last_error = now_ms(), None, ""
        else:
            self.last_error = reason or self.last_error
            if self.down_since is None:
                self.down_since = time.monotonic()
        if changed:
            self._on_change()

    async def register(self, expires: int) -> None:
        if not self._call_id:
            self._call_id = new_call_id(self.endpoint.local[0] if self.endpoint else "edge")
        uri = f"sip:{self.config.server_id}@{self.config.realm}"
        auth: str | None = None
        for _ in range(2):
            resp = await self._register_once(uri, expires, auth)
            if resp.status == 200:
                if expires:
                    granted = resp.expires(expires) or expires
                    self._expires = granted
                    self._set_registered(True)
                    log.info("gb28181: registered with %s for %d s", self.config.server, granted)
                return
            if resp.status != 401 or auth is not None:
                reason = "auth" if resp.status in (401, 403) else f"status_{resp.status}"
                raise RegisterError(reason, f"REGISTER answered {resp.status} {resp.reason}")
            header = resp.get("www-authenticate")
            if header is None:
                raise RegisterError("no_challenge", "401 without WWW-Authenticate")
            try:
                ch = digest.Challenge.parse(header)
            except digest.DigestError as exc:
                raise RegisterError("bad_challenge", str(exc)) from None
            auth = digest.authorization(ch, self.config.device_id, self._password, "REGISTER", uri)
        raise RegisterError("auth", "challenged again")

    async def _register_once(self, uri: str, expires: int, auth: str | None) -> SipMessage:
        assert self.endpoint is not None
        self._cseq += 1
        me = f"sip:{self.config.device_id}@{self.config.realm}"
        host, port = self.endpoint.local
        headers = self._headers("REGISTER", me, self._cseq, self._call_id)
        headers += [("Contact", f"<sip:{self.config.device_id}@{host}:{port}>"), ("Expires", str(expires))]
        if auth:
            headers.append(("Authorization", auth))
        return await self.endpoint.request(SipMessage(f"REGISTER {uri} SIP/2.0", headers), self.server, TRANSACTION_S)

    async def _unregister(self) -> None:
        if self.registered and self.endpoint is not None:
            self._set_registered(False, "stopped")
            await self.register(0)
            log.info("gb28181: unregistered from %s", self.config.server)

    async def _keep_alive(self) -> None:
        missed = 0
        loop = asyncio.get_running_loop()
        refresh_at = loop.time() + self._expires * REFRESH_AT
        next_keepalive = loop.time() + self.config.keepalive_interval
        while True:
            assert self.endpoint is not None
            now = loop.time()
            wait = min(refresh_at, next_keepalive) - now
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self.endpoint.closed.wait()
                if self.endpoint.closed.is_set():
                    self._set_registered(False, "connection closed")
                    raise SipTimeout("connection to the platform closed")
                continue
            if now >= refresh_at:
                await self.register(self.config.expires)
                refresh_at = loop.time() + self._expires * REFRESH_AT
                continue
            next_keepalive = now + self.config.keepalive_interval
            if await self._keepalive_once():
                missed = 0
                continue
            missed += 1
            if missed >= self.config.keepalive_timeout_count:
                log.warning("gb28181: %d keepalives unanswered; platform offline, registering again", missed)
                self._set_registered(False, f"{missed} keepalives unanswered")
                return

    async def _keepalive_once(self) -> bool:
        body = manscdp.encode(
            "Notify",
            [("CmdType", "Keepalive"), ("SN", self.next_sn()), ("DeviceID", self.config.device_id), ("Status", "OK")],
            self.config.charset,
        )
        try:
            resp = await self.message(body, within=min(TRANSACTION_S, self.config.keepalive_interval))
        except (SipTimeout, ConnectionError) as exc:
            KEEPALIVES.labels("timeout").inc()
            log.info("gb28181: keepalive not answered: %s", exc)
            return False
        if 200 <= resp.status < 300:
            KEEPALIVES.labels("ok").inc()
            self.last_keepalive_ms = now_ms()
            return True
        KEEPALIVES.labels(f"status_{resp.status}").inc()
        return False

    async def message(self, body: bytes, within: float = TRANSACTION_S) -> SipMessage:
        """A MESSAGE with a MANSCDP body to the platform; its final response."""
        if self.endpoint is None:
            raise ConnectionError("not connected")
        self._cseq += 1
        headers = self._headers("MESSAGE", self.server_uri, self._cseq, new_call_id(self.endpoint.local[0]))
        headers.append(("Content-Type", manscdp.CONTENT_TYPE))
        req = SipMessage(f"MESSAGE {self.server_uri} SIP/2.0", headers, body)
        return await self.endpoint.request(req, self.server, within)

    # ---- the platform's requests ---------------------------------------------------------
    async def _on_request(self, req: SipMessage, addr: Addr) -> None:
        assert self.endpoint is not None
        if req.method == "INVITE":
            await self._invite(req, addr)
            return
        if req.method == "ACK":
            return  # the 2xx ACK of a live-view call: nothing to answer
        if req.method == "BYE":
            found = await self.media.stop(req.call_id)
            self.endpoint.reply(req, addr, 200 if found else 481, "OK" if found else "Call Does Not Exist")
            return
        if req.method != "MESSAGE":
            if req.method == "OPTIONS":
                self.endpoint.reply(req, addr, 200, "OK")
            else:
                self.endpoint.reply(req, addr, 405, "Method Not Allowed")
            return
        try:
            doc = manscdp.decode(req.body)
        except manscdp.ManscdpError as exc:
            bad_input(log, f"{SOURCE}-xml", exc.reason, f"from {addr[0]}:{addr[1]}")
            self.endpoint.reply(req, addr, 400, "Bad Request")
            return
        self.endpoint.reply(req, addr, 200, "OK")
        COMMANDS.labels(f"{doc.root}.{doc.cmd_type}"[:40]).inc()
        if doc.root == "Query" and doc.cmd_type == "RecordInfo":
            answers = await self.record_info(doc)
        else:
            answers = self.answer(doc)
        for body in answers:
            try:
                await self.message(body)
            except (SipTimeout, ConnectionError) as exc:
                log.warning("gb28181: answer to %s not delivered: %s", doc.cmd_type, exc)
                return

    async def _invite(self, req: SipMessage, addr: Addr) -> None:
        """Live view of a camera channel: PS over RTP from a child process (edge.gb28181.media)."""
        assert self.endpoint is not None
        ep = self.endpoint
        if req.call_id in self.media.calls:
            return  # a retransmission while the first is being set up
        gb_id = uri_user(req.uri) or uri_user(req.get("to") or "")
        channel = next((c for c in self.channels if c.gb_id == gb_id and c.kind == "camera"), None)
        if channel is None:
            ep.reply(req, addr, 404, "Not Found")
            return
        try:
            offer = sdp.parse_offer(req.body)
        except sdp.SdpError as exc:
            bad_input(log, f"{SOURCE}-sdp", "bad_sdp", str(exc)[:80])
            ep.reply(req, addr, 400, "Bad Request")
            return
        # passive (the platform listens) or actpass (this side chooses): connect; active: listen.
        tcp_unsupported = offer.transport == "tcp" and (offer.setup or "passive") not in TCP_SETUPS
        if tcp_unsupported:
            ep.reply(req, addr, 488, "Not Acceptable Here")
            return
        if self.media.full:
            ep.reply(req, addr, 486, "Busy Here")
            return
        if req.call_id in self._inviting:
            return  # a retransmission while the camera worker is asked for the stream URI
        self._inviting.add(req.call_id)
        try:
            uri = channel.stream_uri or await self._stream_uri(channel)
        finally:
            self._inviting.discard(req.call_id)
        if uri is None:
            ep.reply(req, addr, 488, "Not Acceptable Here")
            return
        if self.media.full:  # another INVITE took the last slot while this one waited for its URI
            ep.reply(req, addr, 486, "Busy Here")
            return
        host, port = ep.local
        try:
            call = await self.media.start(req.call_id, channel, offer, host, stream_uri=uri)
        except SecretError as exc:
            log.error("gb28181: live view of %s: %s", channel.gb_id, exc)
            ep.reply(req, addr, 500, "Server Internal Error")
            return
        tcp = offer.transport == "tcp"
        media_port = call.listen_port or port
        body = sdp.answer(
            self.config.device_id,
            host,
            media_port,
            offer.ssrc,
            offer.payload,
            tcp=tcp,
            listen=call.listen_port is not None,
        )
        contact = [("Contact", f"<sip:{self.config.device_id}@{host}:{port}>")]
        tag = new_tag()
        ep.reply(req, addr, 200, "OK", body=body, content_type="application/sdp", extra=contact, to_tag=tag)
        await call.proc.wait()  # the relay ended by itself (camera gone) or by BYE
        if await self.media.stop(req.call_id):  # not by BYE: end the call on the platform's side too
            await self._bye(req, addr, tag)

    async def _stream_uri(self, channel: Channel) -> str | None:
        """The camera's RTSP URI as ONVIF GetStreamUri reported it to the camera worker."""
        worker = self._camera_worker()
        if worker is None:
            log.warning("gb28181: %s has no stream_uri and no camera worker to ask ONVIF", channel.device_id)
            return None
        try:
            return await worker.stream_uri(channel.device_id, STREAM_URI_DEADLINE_S)
        except StreamUriError as exc:
            log.warning("gb28181: live view of %s: %s", channel.gb_id, exc)
            return None

    async def _bye(self, invite: SipMessage, addr: Addr, tag: str) -> None:
        ep = self.endpoint
        if ep is None:
            return
        self._cseq += 1
        host, port = ep.local
        target = re.search(r"<([^>]+)>", invite.get("contact") or "")
        uri = target[1] if target else invite.uri
        headers = [
            ("Via", f"SIP/2.0/{ep.via_transport} {host}:{port};rport;branch={new_branch()}"),
            ("From", f"{invite.get('to')};tag={tag}"),
            ("To", invite.get("from") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{self._cseq} BYE"),
            ("Max-Forwards", "70"),
        ]
        try:
            await ep.request(SipMessage(f"BYE {uri} SIP/2.0", headers), addr, TRANSACTION_S)
        except (SipTimeout, ConnectionError) as exc:
            log.info("gb28181: BYE for a dead media relay not answered: %s", exc)

    def answer(self, doc: manscdp.Document) -> list[bytes]:
        """The response MESSAGE bodies for a Query or Control document."""
        cs = self.config.charset
        head: list[tuple[str, object]] = [
            ("CmdType", doc.cmd_type),
            ("SN", doc.sn),
            ("DeviceID", self.config.device_id),
        ]
        if doc.root == "Query" and doc.cmd_type == "Catalog":
            return self._catalog(doc.sn)
        if doc.root == "Query" and doc.cmd_type == "DeviceInfo":
            items = [
                *head,
                ("DeviceName", "校园一键报警网关"),
                ("Result", "OK"),
                ("Manufacturer", MANUFACTURER),
                ("Model", MODEL),
                ("Firmware", __version__),
                ("Channel", len(self.channels)),
            ]
            return [manscdp.encode("Response", items, cs)]
        if doc.root == "Query" and doc.cmd_type == "DeviceStatus":
            return [self._status(head)]
        if doc.root == "Control" and doc.cmd_type == "DeviceControl":
            return [manscdp.encode("Response", [*head, ("Result", self._control(doc))], cs)]
        bad_input(log, f"{SOURCE}-xml", "unsupported_cmd", f"{doc.root}/{doc.cmd_type}"[:60])
        return []

    async def record_info(self, doc: manscdp.Document) -> list[bytes]:
        """RecordInfo for a camera channel: its recorder's spans in the range, paged like Catalog."""
        channel = next((c for c in self.channels if c.gb_id == doc.device_id and c.kind == "camera"), None)
        if channel is None:
            records.bad_query("unknown_channel", f"RecordInfo for {doc.device_id}")
            return []
        try:
            query = records.parse_query(doc)
        except records.QueryError as exc:
            records.bad_query("bad_record_query", str(exc))
            spans: tuple[RecordSpan, ...] = ()
        else:
            spans = await records.search(self._camera_worker, channel.device_id, query)
        return records.bodies(self.config.device_id, channel, doc.sn, spans, self.config.charset, CATALOG_PAGE)

    def _catalog(self, sn: int) -> list[bytes]:
        items = [self._catalog_item(c) for c in self.channels]
        pages = [items[i : i + CATALOG_PAGE] for i in range(0, len(items), CATALOG_PAGE)] or [[]]
        out = []
        for page in pages:
            body: list[tuple[str, object]] = [
                ("CmdType", "Catalog"),
                ("SN", sn),
                ("DeviceID", self.config.device_id),
                ("SumNum", len(items)),
                ("DeviceList", [("Item", item) for item in page]),
            ]
            out.append(manscdp.encode("Response", body, self.config.charset, {"DeviceList": {"Num": str(len(page))}}))
        return out

    def _catalog_item(self, c: Channel) -> list[tuple[str, object]]:
        name = c.name
        if c.kind == "button" and c.camera_name:
            name = f"{c.name}（联动 {c.camera_name}）"
        item: list[tuple[str, object]] = [
            ("DeviceID", c.gb_id),
            ("Name", name),
            ("Manufacturer", MANUFACTURER),
            ("Model", "IPC" if c.kind == "camera" else "一键报警"),
            ("Owner", "Owner"),
            ("CivilCode", self.config.realm[:6]),
            ("Address", c.location or "-"),
            ("Parental", 0),
            ("ParentID", self.config.device_id),
            ("SafetyWay", 0),
            ("RegisterWay", 1),
            ("Secrecy", 0),
            ("Status", "ON"),
        ]
        if c.camera_gb_id:
            item.append(("Info", [("RelatedChannel", c.camera_gb_id)]))  # the linked camera, for alarm linkage
        return item

    def _status(self, head: list[tuple[str, object]]) -> bytes:
        duty = [
            ("Item", [("DeviceID", c.gb_id), ("DutyStatus", self.duty(c.gb_id))])
            for c in self.channels
            if c.kind == "button"
        ]
        items: list[tuple[str, object]] = [
            *head,
            ("Result", "OK"),
            ("Online", "ONLINE"),
            ("Status", "OK"),
            ("Encode", "ON"),
            ("Record", "OFF"),
            ("DeviceTime", datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S")),
            ("Alarmstatus", duty),
        ]
        return manscdp.encode("Response", items, self.config.charset, {"Alarmstatus": {"Num": str(len(duty))}})

    def duty(self, gb_id: str) -> str:
        if gb_id in self.alarmed:
            return "ALARM"
        return "ONDUTY" if self.guard else "OFFDUTY"

    def _control(self, doc: manscdp.Document) -> str:
        guard = doc.fields.get("GuardCmd")
        alarm = doc.fields.get("AlarmCmd")
        target = doc.device_id
        if guard in ("SetGuard", "ResetGuard"):
            self.guard = guard == "SetGuard"
            self._audit(f"gb28181.{guard}", target, {"sn": doc.sn})
            return "OK"
        if alarm == "ResetAlarm":
            if target == self.config.device_id:
                self.alarmed.clear()
            else:
                self.alarmed.discard(target)
            self._audit("gb28181.ResetAlarm", target, {"sn": doc.sn})
            return "OK"
        bad_input(log, f"{SOURCE}-xml", "unsupported_control", str(sorted(doc.fields))[:60])
        return "ERROR"

    def _audit(self, action: str, target: str, detail: dict[str, Any]) -> None:
        log.warning("gb28181: platform %s sent %s for %s", self.config.server_id, action, target)
        if self._db is None:
            return
        try:
            with self._db.tx() as conn:
                audit(conn, f"gb28181:{self.config.server_id}", action, target, detail)
        except Exception:  # the command is honoured even when the audit row cannot be written
            log.exception("gb28181: could not write the audit row for %s", action)

    def status(self) -> dict[str, Any]:
        down_s = None if self.down_since is None else round(time.monotonic() - self.down_since, 1)
        return {
            "server": self.config.server,
            "server_id": self.config.server_id,
            "device_id": self.config.device_id,
            "registered": self.registered,
            "registered_at_ms": self.registered_at_ms,
            "last_keepalive_ms": self.last_keepalive_ms,
            "last_alarm_ms": self.last_alarm_ms,
            "down_for_s": down_s,
            "last_error": self.last_error,
            "guard": "SetGuard" if self.guard else "ResetGuard",
            "channels": len(self.channels),
        }
