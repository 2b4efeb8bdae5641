"""The one place that decides who may enter a meeting: admit, lobby or refuse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from conclave.accounts.password_checks import MeetingPasswordChecks
from conclave.clock import Clock
from conclave.errors import N_, NotFound
from conclave.store import invitations, meetings, users
from conclave.store.db import Database
from conclave.store.records import Meeting, User

Outcome = Literal["admit", "lobby", "refuse"]
RefuseReason = Literal[
    "not_invited",
    "wrong_password",
    "account_disabled",
    "invitation_expired",
    "unknown_meeting",
    "guests_not_allowed",
    "ended",
    "removed",
]


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: str
    meeting: Meeting | None
    host: bool = False

    @property
    def admitted(self) -> bool:
        return self.outcome == "admit"


def _refuse(reason: RefuseReason, meeting: Meeting | None = None) -> Decision:
    return Decision("refuse", reason, meeting)


class AccessService:
    """``decide(user, meeting, password)``; wrong meeting passwords are throttled per
    (meeting, person) and per (meeting, network) (``accounts/password_checks.py``)."""

    def __init__(
        self,
        db: Database,
        checks: MeetingPasswordChecks,
        clock: Clock,
        guests_allowed: Callable[[], bool] = lambda: True,
    ) -> None:
        """``guests_allowed``: the policy in force (``services.policy``)."""
        self.db = db
        self.checks = checks
        self.clock = clock
        self.guests_allowed = guests_allowed

    def decide(
        self,
        user_id: int,
        meeting_id: str,
        password: str | None,
        *,
        locked: bool = False,
        client: str = "unknown",
        check_password: bool = True,
    ) -> Decision:
        """``check_password=False`` for a participant resuming after a reconnect;
        ``client``: the client's network prefix. Raises RateLimited when too many wrong
        passwords were tried (or the argon2 gate is full)."""
        with self.db.transaction("access_decision") as tx:
            user = users.by_id(tx, user_id)
            meeting = meetings.by_id(tx, meeting_id) if len(meeting_id) <= 64 else None
            invitation = (
                invitations.for_user_and_meeting(tx, user_id, meeting.id) if meeting else None
            )
        if meeting is None:
            raise NotFound(N_("No such meeting."), reason="unknown_meeting")
        if user is None or user.disabled:
            return _refuse("account_disabled", meeting)
        if user.is_guest and not self.guests_allowed():
            return _refuse("guests_not_allowed", meeting)
        if meeting.owner_id == user.id:  # the organiser starts an ended meeting again
            return Decision("admit", "host", meeting, host=True)
        if invitation is None:
            return self._uninvited(user_id, meeting.id)
        if meeting.ended_at is not None:
            return _refuse("ended", meeting)
        if invitation.expires_at <= self.clock():
            return _refuse("invitation_expired", meeting)
        if (
            check_password
            and meeting.password_hash is not None
            and not self.checks.check(
                meeting.id, user.id, client, meeting.password_hash, password or ""
            )
        ):
            return _refuse("wrong_password", meeting)
        return self._lobby_or_admit(user, meeting, locked)

    def _uninvited(self, user_id: int, meeting_id: str) -> Decision:
        """No invitation in force: a person a host removed is told so; to anyone else the
        meeting is not revealed. Neither gets more of the meeting than that."""
        with self.db.transaction("access_removed") as tx:
            removed = invitations.removed_from(tx, user_id, meeting_id)
        return _refuse("removed" if removed else "not_invited")

    @staticmethod
    def _lobby_or_admit(user: User, meeting: Meeting, locked: bool) -> Decision:
        if locked:
            return Decision("lobby", "meeting_locked", meeting)
        if meeting.lobby_policy == "everyone" or (
            meeting.lobby_policy == "guests" and user.is_guest
        ):
            return Decision("lobby", "lobby_policy", meeting)
        return Decision("admit", "invited", meeting)
