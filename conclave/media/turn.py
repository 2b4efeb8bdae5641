"""Short-lived TURN credentials for coturn's ``use-auth-secret`` (the "TURN REST API").

coturn and Conclave share ``static-auth-secret`` / ``media.turn.secret``. For each
participant Conclave makes:

- username ``"<expiry>:<pseudonym>"``, ``expiry`` in Unix seconds (now + ``ttl_seconds``);
- password ``base64(HMAC-SHA1(secret, username))``.

coturn recomputes the password from the username and refuses it after ``expiry``; no
account exists in coturn. The pseudonym, not the user id, goes into the username: coturn
logs usernames, and the pseudonym (an HMAC of the user id under Conclave's own secret)
tells nothing to anyone who only has coturn's logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conclave.config import MediaSettings

_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class TurnCredentials:
    username: str
    password: str
    expires: int  # Unix seconds


@dataclass(frozen=True)
class IceServerEntry:
    """One ``RTCIceServer`` for the browser."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            data["username"] = self.username
        if self.credential is not None:
            data["credential"] = self.credential
        return data


def turn_credentials(
    secret: str | bytes, pseudonym: str, *, now: datetime, ttl_seconds: int
) -> TurnCredentials:
    """coturn ``use-auth-secret`` credentials for ``pseudonym``, valid ``ttl_seconds``."""
    if not _PSEUDONYM.fullmatch(pseudonym):
        raise ValueError("a TURN pseudonym is 1-64 letters, digits, '_' or '-'")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    key = secret.encode() if isinstance(secret, str) else secret
    expires = int(now.timestamp()) + ttl_seconds
    username = f"{expires}:{pseudonym}"
    digest = hmac.new(key, username.encode(), hashlib.sha1).digest()
    return TurnCredentials(username, base64.b64encode(digest).decode("ascii"), expires)


def turn_pseudonym(server_secret: bytes, *parts: str | int) -> str:
    """A stable pseudonym for ``parts`` (e.g. user id and meeting id) that only someone
    with Conclave's server secret can link back."""
    message = "\x1f".join(["conclave-turn", *(str(part) for part in parts)]).encode()
    return hmac.new(server_secret, message, hashlib.sha256).hexdigest()[:20]


def ice_servers(media: MediaSettings, pseudonym: str, *, now: datetime) -> list[IceServerEntry]:
    """The ICE servers for one participant: the configured static ones, then TURN with
    fresh credentials. Empty by default: Conclave never falls back to a public server."""
    entries = [
        IceServerEntry(tuple(server.urls), server.username, server.credential)
        for server in media.ice_servers
    ]
    turn = media.turn
    if turn.urls and turn.secret is not None:
        credentials = turn_credentials(
            turn.secret.get_secret_value(), pseudonym, now=now, ttl_seconds=turn.ttl_seconds
        )
        entries.append(IceServerEntry(tuple(turn.urls), credentials.username, credentials.password))
    return entries
