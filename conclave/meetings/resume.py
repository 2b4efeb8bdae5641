"""Resume tokens: proof that a user was admitted to a meeting a moment ago.

A reconnecting client (dropped WebSocket, restarted server) presents it to re-enter
without the lobby. Stateless and signed with the server secret, so it survives a restart;
valid for ``TTL`` seconds and refreshed with every ping. It names no one: the server checks
it against the meeting, the session's user and the session itself, and the access decision
still runs. Bound to the login session, a token dies with it: after signing out, a
password change or a disabled account, no token of the old session opens anything.
Only an admitted participant is ever given one (the hub; never a lobby entry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

TTL = 120
_STAMP_DIGITS = 13  # the expiry in milliseconds: the hub compares issue times with events
_SIG_CHARS = 32


class ResumeTokens:
    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(secret, b"conclave resume tokens", hashlib.sha256).digest()
        self._clock = clock

    def issue(self, meeting_id: str, user_id: int, session_id: int) -> str:
        expires = int(self._clock() * 1000) + TTL * 1000
        stamp = f"{expires:0{_STAMP_DIGITS}d}"
        return stamp + self._sign(meeting_id, user_id, session_id, stamp)

    def issued_at(self, token: str, meeting_id: str, user_id: int, session_id: int) -> float | None:
        """When a valid, unexpired token for this meeting, user and session was issued;
        else None."""
        stamp, signature = token[:_STAMP_DIGITS], token[_STAMP_DIGITS:]
        if len(token) != _STAMP_DIGITS + _SIG_CHARS or not stamp.isdigit():
            return None
        expected = self._sign(meeting_id, user_id, session_id, stamp)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        expires = int(stamp)
        if expires <= self._clock() * 1000:
            return None
        return (expires - TTL * 1000) / 1000

    def _sign(self, meeting_id: str, user_id: int, session_id: int, stamp: str) -> str:
        message = f"{meeting_id}\n{user_id}\n{session_id}\n{stamp}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:_SIG_CHARS]
