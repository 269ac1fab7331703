"""Signed, expiring links to the picture taken at a press: what the DC-09 `[V]` field offers the
police, so a receiving officer can verify the alarm without a gateway account.

The link names the press's event id, an expiry time and an HMAC-SHA256 over both with a random key
kept in the store (created on first use), so it cannot be forged or extended; it works only for
pictures that exist, and only until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from edge.store.db import Database
from edge.store.misc import get_meta, set_meta

KEY_META = "media_link_key"


@dataclass(frozen=True, slots=True)
class MediaSigner:
    key: bytes
    base_url: str | None  # api.public_url: where the police reach the gateway; None = no [V] links
    ttl_s: int

    @classmethod
    def for_store(cls, db: Database, base_url: str | None, ttl_s: int) -> MediaSigner:
        """The store's signing key, created once (before the daemon's writer starts)."""
        stored = get_meta(db, KEY_META)
        if stored is None:
            stored = secrets.token_hex(32)
            with db.tx() as conn:
                set_meta(conn, KEY_META, stored)
        return cls(bytes.fromhex(stored), base_url.rstrip("/") if base_url else None, ttl_s)

    def sign(self, event_id: str, expires_s: int) -> str:
        return hmac.new(self.key, f"{event_id}|{expires_s}".encode(), hashlib.sha256).hexdigest()

    def path(self, event_id: str, press_ms: int) -> str:
        expires = press_ms // 1000 + self.ttl_s
        return f"/media/{event_id}.jpg?exp={expires}&sig={self.sign(event_id, expires)}"

    def link(self, event_id: str, press_ms: int) -> str | None:
        return f"{self.base_url}{self.path(event_id, press_ms)}" if self.base_url else None

    def check(self, event_id: str, expires_s: int, sig: str, now_s: float) -> str | None:
        """None when the link is good; otherwise why not ("forged" or "expired")."""
        if not hmac.compare_digest(self.sign(event_id, expires_s), sig):
            return "forged"
        if now_s > expires_s:
            return "expired"
        return None
