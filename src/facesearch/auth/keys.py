"""API keys: 32 random bytes shown once, stored only as their sha256.

A key reads ``fsk_<8 hex>.<43 base64url characters>``. The part before the dot is the
*prefix*: random, visible, stored in clear and used to find the key; the whole key is
hashed with sha256 for storage (a key has 256 bits of entropy, so a fast hash suffices).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SECRET_BYTES = 32
_KEY = re.compile(r"(fsk_[0-9a-f]{8})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: ``secret`` (the whole key) is shown once and never stored."""

    prefix: str
    secret: str
    key_hash: str


def hash_key(key: str) -> str:
    """sha256 hex of the whole key string."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> NewKey:
    prefix = f"fsk_{secrets.token_hex(4)}"
    body = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()
    key = f"{prefix}.{body}"
    return NewKey(prefix=prefix, secret=key, key_hash=hash_key(key))


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    found = _KEY.fullmatch(key.strip())
    return found.group(1) if found else None


def key_matches(key: str, key_hash: str) -> bool:
    """Constant-time comparison of ``key``'s hash with a stored hash."""
    return hmac.compare_digest(hash_key(key.strip()), key_hash)
