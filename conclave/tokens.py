"""Random tokens: the user gets the token, the database only its SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    """A URL-safe token with 256 bits of randomness."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any database work (rejects junk cookies and paths)."""
    return 32 <= len(value) <= 128 and all(c.isalnum() or c in "-_" for c in value)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
