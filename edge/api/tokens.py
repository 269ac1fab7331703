"""API tokens: a YAML file of names, roles and salted scrypt hashes. The token itself is never stored.

A token reads ``edge_<kid>_<secret>``: `kid` (public, random) picks the file entry so a request
costs one scrypt, and `secret` (32 random bytes) is what the hash protects. Verified tokens are
cached in memory by their SHA-256 so a busy dashboard does not pay scrypt per request; when the file
changes, the cache keeps only tokens whose entry is unchanged, so revoking a token takes effect at
the next request (and ends its open streams) while every other token stays verified.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from edge.api.hashfile import load_list, save_list

log = logging.getLogger(__name__)

# scrypt cost: n=2**14, r=8 needs 16 MiB and ~40 ms on a small ARM box: cheap once per token
# (results are cached), expensive for anyone brute-forcing a stolen file.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# Costs accepted from a tokens file: below 2**10 is too cheap to matter, above 2**17 (128 MiB) would
# let a bad file exhaust a small gateway's memory.
MIN_N, MAX_N = 2**10, 2**17
ALGORITHM = "scrypt"
SALT_BYTES = 16  # per-token salt; 128 bits rules out precomputed tables
SECRET_BYTES = 32  # 256 bits of entropy per token
KID_BYTES = 6  # 48-bit key id: unique within any real tokens file, short enough to read aloud
PREFIX = "edge"
# Salt for the hash an unknown key id still costs; its value never matters, only the work.
DUMMY_SALT = bytes(SALT_BYTES)
# Verified tokens remembered; a real site has a few dozen. Past this, new ones are verified each time.
MAX_CACHED = 4096


class Role(IntEnum):
    VIEWER = 1
    GUARD = 2  # duty guards: patrol check-ins (DESIGN.md section 12)
    OPERATOR = 3
    TECHNICIAN = 4
    ADMIN = 5

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r} (viewer, guard, operator, technician, admin)") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the token's name (what the audit trail records) and its role."""

    name: str
    role: Role
    kid: str | None = None  # the token's key id, to end its live streams when it is revoked
    session: str | None = None  # a person's login: the session's id hash (its CSRF token is checked)


class TokenFileError(Exception):
    """The tokens file exists but cannot be read or parsed."""


def _hash(secret: str, salt: bytes, n: int = SCRYPT_N) -> bytes:
    if not MIN_N <= n <= MAX_N or n & (n - 1):
        raise ValueError(f"scrypt cost n={n} is not a power of two in [{MIN_N}, {MAX_N}]")
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=256 * 1024 * 1024)


def _split(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def load_entries(path: Path) -> list[dict[str, Any]]:
    return load_list(path, "tokens", TokenFileError)


def save_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    header = "edge API tokens: names, roles and salted hashes only. Manage with `edge token`."
    save_list(path, "tokens", entries, header)


def create_token(path: Path, name: str, role: Role, cost: int = SCRYPT_N) -> str:
    """Add a token to the file and return it; the caller shows it once. Names are unique.

    `cost` is scrypt's n; only tests lower it (to keep a test suite that makes hundreds of tokens fast).
    """
    entries = load_entries(path)
    if any(e.get("name") == name for e in entries):
        raise ValueError(f"a token named {name!r} already exists in {path}")
    kid = secrets.token_hex(KID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    salt = secrets.token_bytes(SALT_BYTES)
    entries.append(
        {
            "name": name,
            "role": role.label,
            "kid": kid,
            "algorithm": ALGORITHM,
            "n": cost,
            "salt": salt.hex(),
            "hash": _hash(secret, salt, cost).hex(),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    save_entries(path, entries)
    return f"{PREFIX}_{kid}_{secret}"


def revoke_token(path: Path, name: str) -> bool:
    entries = load_entries(path)
    kept = [e for e in entries if e.get("name") != name]
    if len(kept) == len(entries):
        return False
    save_entries(path, kept)
    return True


class TokenStore:
    """Verifies bearer tokens against the file, re-reading it when its mtime changes.

    `cached` is the cheap path (no hash): tokens verified before, kept across file reloads as long as
    their entry is unchanged, so a busy duty screen never waits behind anyone's failed attempts.
    `verify` is the expensive path, run off the event loop; a failure costs one scrypt at the file's
    usual cost whether or not the key id exists, so response times say nothing about which ids do.
    """

    def __init__(self, path: Path | None, scrape_token: str | None = None) -> None:
        self.path = path
        self._scrape_token = scrape_token
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._loaded = False
        self._by_kid: dict[str, dict[str, Any]] = {}
        self._verified: dict[bytes, tuple[str, Principal]] = {}  # sha256(token) -> (entry fingerprint, who)
        self._dummy_n = SCRYPT_N

    def _stat(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def stale(self) -> bool:
        """The file changed since it was read (one stat: cheap enough for the event loop)."""
        return self.path is not None and (not self._loaded or self._stat() != self._stamp)

    def refresh(self) -> None:
        """Re-read the file if it changed. Blocking (YAML parsing): the API calls it off the event loop."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        if self.path is None:
            return
        stamp = self._stat()
        if self._loaded and stamp == self._stamp:
            return
        if stamp is None:
            log.warning("api: tokens file %s does not exist: no token is accepted (`edge token create`)", self.path)
        try:
            entries = load_entries(self.path)
        except TokenFileError as exc:
            log.error("api: %s; no token is accepted until it is fixed", exc)
            entries = []
        self._by_kid = {str(e.get("kid")): e for e in entries}
        # Revocation and role changes take effect now; every other verified token stays verified.
        self._verified = {d: (fp, p) for d, (fp, p) in self._verified.items() if self._fingerprint(p.kid) == fp}
        costs = sorted(int(e["n"]) for e in entries if isinstance(e.get("n"), int) and MIN_N <= e["n"] <= MAX_N)
        self._dummy_n = costs[len(costs) // 2] if costs else SCRYPT_N  # the file's usual cost
        self._stamp, self._loaded = stamp, True

    def _fingerprint(self, kid: str | None) -> str | None:
        entry = self._by_kid.get(kid) if kid is not None else None
        if entry is None:
            return None
        return f"{entry.get('name')}|{entry.get('role')}|{entry.get('salt')}|{entry.get('hash')}"

    def is_scrape_token(self, token: str) -> bool:
        return self._scrape_token is not None and hmac.compare_digest(token.encode(), self._scrape_token.encode())

    @staticmethod
    def well_formed(token: str) -> bool:
        return _split(token) is not None

    def cached(self, token: str, *, refresh: bool = True) -> Principal | None:
        """The principal of a token verified before and still in the file; None means "not known", not "bad".

        On the event loop pass refresh=False, having called `refresh()` in a thread when `stale()`."""
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            if refresh:
                self._refresh()
            hit = self._verified.get(digest)
        return hit[1] if hit is not None else None

    def still_valid(self, principal: Principal, *, refresh: bool = True) -> bool:
        """False once the token behind `principal` was revoked or changed (principals not from a token: True)."""
        if principal.kid is None:
            return True
        with self._lock:
            if refresh:
                self._refresh()
            entry = self._by_kid.get(principal.kid)
        if entry is None:
            return False
        return str(entry.get("name")) == principal.name and str(entry.get("role")).lower() == principal.role.label

    def verify(self, token: str) -> Principal | None:
        """The expensive check (one scrypt, also for an unknown key id). Blocking: call it from a worker thread."""
        cached = self.cached(token)
        if cached is not None:
            return cached
        parts = _split(token)
        with self._lock:
            entry = self._by_kid.get(parts[0]) if parts else None
            dummy_n = self._dummy_n
        if parts is None:
            return None
        if entry is None or entry.get("algorithm") != ALGORITHM:
            _hash(parts[1], DUMMY_SALT, dummy_n)  # same work as a wrong secret for a real key id
            return None
        try:
            salt, expected = bytes.fromhex(str(entry["salt"])), bytes.fromhex(str(entry["hash"]))
            role = Role.parse(str(entry["role"]))
            actual = _hash(parts[1], salt, int(entry.get("n", SCRYPT_N)))
        except (KeyError, ValueError, TypeError):
            log.error("api: token %r in %s is malformed; ignored", entry.get("name"), self.path)
            _hash(parts[1], DUMMY_SALT, dummy_n)
            return None
        if not hmac.compare_digest(actual, expected):
            return None
        principal = Principal(name=str(entry.get("name", parts[0])), role=role, kid=parts[0])
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            fingerprint = self._fingerprint(parts[0])
            if fingerprint is not None and len(self._verified) < MAX_CACHED:
                self._verified[digest] = (fingerprint, principal)
        return principal
