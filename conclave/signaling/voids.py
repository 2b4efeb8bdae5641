"""What the hub was given a moment ago that an event since has voided.

A resume token proves that someone was admitted a moment ago, and a session looked up at a
WebSocket's upgrade proves they were signed in then. Either may be overtaken before it is
used: the meeting ended or was started again, the person knocked at the lobby again, the
session or every session of the account ended. ``Voids`` keeps the moment of each such
event, as long as a token or a waiting socket can predate it (a token's lifetime), and
answers whether a proof is still good. Plain data, no I/O; the hub passes the times.
"""

from __future__ import annotations

import math
from typing import Any


def millisecond(moment: float) -> float:
    """``moment`` cut to the millisecond: resume tokens carry milliseconds."""
    return math.floor(moment * 1000) / 1000


class Voids:
    __slots__ = ("_ended", "_ended_sessions", "_ended_users", "_started", "_waited")

    def __init__(self) -> None:
        self._ended: dict[str, float] = {}  # meeting -> when it was last ended for everyone
        self._started: dict[str, float] = {}  # meeting -> when its organiser started it again
        self._waited: dict[tuple[str, int], float] = {}  # (meeting, user) -> entered the lobby
        self._ended_sessions: dict[int, float] = {}
        self._ended_users: dict[int, float] = {}  # every session of the account ended

    # -- what happened ----------------------------------------------------------------
    def meeting_ended(self, meeting_id: str, now: float) -> None:
        self._ended[meeting_id] = now

    def meeting_started(self, meeting_id: str, now: float) -> None:
        self._started[meeting_id] = now

    def entered_lobby(self, meeting_id: str, user_id: int, now: float) -> None:
        self._waited[(meeting_id, user_id)] = millisecond(now)

    def session_ended(self, session_id: int, now: float) -> None:
        self._ended_sessions[session_id] = now

    def sessions_ended(self, user_id: int, now: float) -> None:
        self._ended_users[user_id] = now

    # -- what is still good -----------------------------------------------------------
    def token_usable(self, issued: float, meeting_id: str, user_id: int) -> bool:
        """A resume token issued at ``issued`` skips the lobby only if no decision came
        after it: the meeting neither ended nor started again since, and its holder did not
        enter the lobby since (to be admitted, denied, or still waiting there). An admission
        within the millisecond of the knock (in a test, say) counts as after it."""
        ended = self._ended.get(meeting_id, 0.0)
        started = self._started.get(meeting_id, 0.0)
        return issued > max(ended, started) and issued >= self._waited.get(
            (meeting_id, user_id), 0.0
        )

    def ended_since(self, meeting_id: str, moment: float) -> bool:
        return self._ended.get(meeting_id, 0.0) >= moment

    def session_over(self, session_id: int, user_id: int, looked_up: float) -> bool:
        """The session ended after it was looked up (at the WebSocket's upgrade)."""
        ended = max(self._ended_sessions.get(session_id, 0.0), self._ended_users.get(user_id, 0.0))
        return ended >= looked_up

    def forget_before(self, moment: float) -> None:
        """Drop what nothing still held can predate (older than a token lives)."""
        kept: list[dict[Any, float]] = [
            self._ended,
            self._started,
            self._waited,
            self._ended_sessions,
            self._ended_users,
        ]
        for stamps in kept:
            for key in [key for key, at in stamps.items() if at < moment]:
                del stamps[key]
