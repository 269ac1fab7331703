"""Login sessions for people: an HttpOnly, SameSite=Strict cookie holding a random id, a CSRF token
for every state-changing request, an idle time-out, and kiosk sessions for the duty screen.

The store keeps only the SHA-256 of each id, so a copy of the database logs nobody in. Sessions live
in memory for the request path and in SQLite (through the runtime's writer) so a daemon restart does
not log the duty screen out; the last-activity time is written at most once a minute per session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Any

COOKIE = "edge_session"
CSRF_HEADER = "X-CSRF-Token"
TOUCH_EVERY_MS = 60_000
MAX_SESSIONS = 1000  # a gateway has a handful of people; beyond this the oldest idle ones go


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    username: str
    kiosk: bool
    csrf: str
    created_ms: int
    last_ms: int
    source: str = ""

    def as_row(self) -> dict[str, Any]:
        return {
            "id_hash": self.id_hash,
            "username": self.username,
            "kiosk": int(self.kiosk),
            "csrf": self.csrf,
            "created_ms": self.created_ms,
            "last_ms": self.last_ms,
            "source": self.source,
        }


class SessionStore:
    """Owner of the live sessions. `idle_ms` ends an unused session; kiosk sessions last `kiosk_ms`
    from their last use instead (a duty screen that is only watched still sends requests)."""

    def __init__(self, idle_ms: int, kiosk_ms: int) -> None:
        self.idle_ms, self.kiosk_ms = idle_ms, kiosk_ms
        self._lock = threading.Lock()
        self._by_hash: dict[str, Session] = {}
        self._dirty: dict[str, int] = {}  # id hash -> last_ms not yet written

    def load(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            for r in rows:
                s = Session(
                    str(r["id_hash"]), str(r["username"]), bool(r["kiosk"]), str(r["csrf"]),
                    int(r["created_ms"]), int(r["last_ms"]), str(r.get("source") or ""),
                )  # fmt: skip
                self._by_hash[s.id_hash] = s

    def create(self, username: str, kiosk: bool, now_ms: int, source: str) -> tuple[str, Session]:
        """A new session; returns the cookie value (shown to the browser only) and the session."""
        sid = secrets.token_urlsafe(32)
        s = Session(id_hash(sid), username, kiosk, secrets.token_urlsafe(24), now_ms, now_ms, source)
        with self._lock:
            if len(self._by_hash) >= MAX_SESSIONS:
                oldest = min(self._by_hash.values(), key=lambda x: x.last_ms)
                self._by_hash.pop(oldest.id_hash, None)
            self._by_hash[s.id_hash] = s
        return sid, s

    def lifetime_ms(self, s: Session) -> int:
        return self.kiosk_ms if s.kiosk else self.idle_ms

    def get(self, session_id: str, now_ms: int) -> Session | None:
        """The live session for a cookie value, its last use moved to now; None if unknown or idle too long."""
        h = id_hash(session_id)
        with self._lock:
            s = self._by_hash.get(h)
            if s is None:
                return None
            if now_ms - s.last_ms > self.lifetime_ms(s):
                self._by_hash.pop(h, None)
                self._dirty.pop(h, None)
                return None
            if now_ms > s.last_ms:
                s = replace(s, last_ms=now_ms)
                self._by_hash[h] = s
                self._dirty[h] = now_ms  # written by the daemon's flush, at most once a TOUCH_EVERY_MS
            return s

    def csrf_of(self, h: str) -> str | None:
        with self._lock:
            s = self._by_hash.get(h)
        return s.csrf if s is not None else None

    def alive(self, h: str) -> bool:
        with self._lock:
            return h in self._by_hash

    def drop(self, h: str) -> None:
        with self._lock:
            self._by_hash.pop(h, None)
            self._dirty.pop(h, None)

    def drop_user(self, username: str) -> list[str]:
        with self._lock:
            gone = [h for h, s in self._by_hash.items() if s.username == username]
            for h in gone:
                self._by_hash.pop(h, None)
                self._dirty.pop(h, None)
        return gone

    def take_dirty(self) -> dict[str, int]:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        return dirty

    @staticmethod
    def csrf_ok(s: Session, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), s.csrf.encode())
