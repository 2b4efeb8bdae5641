"""The one place that decides who may enter a meeting: admit, lobby or refuse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from conclave.accounts.passwords import Passwords
from conclave.accounts.throttle import Throttle
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
    """``decide(user, meeting, password)``; wrong passwords are throttled like logins."""

    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        throttle: Throttle,
        clock: Clock,
        guests_allowed: Callable[[], bool] = lambda: True,
    ) -> None:
        """``guests_allowed``: the policy in force (``services.policy``)."""
        self.db = db
        self.passwords = passwords
        self.throttle = throttle
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
        """``check_password=False`` for a participant resuming after a reconnect."""
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
        if meeting.owner_id == user.id:
            return Decision("admit", "host", meeting, host=True)
        if invitation is None:
            return self._uninvited(user_id, meeting.id)
        if invitation.expires_at <= self.clock():
            return _refuse("invitation_expired", meeting)
        if (
            check_password
            and meeting.password_hash is not None
            and not self._password_ok(user, meeting, password or "", client)
        ):
            return _refuse("wrong_password", meeting)
        return self._lobby_or_admit(user, meeting, locked)

    def _uninvited(self, user_id: int, meeting_id: str) -> Decision:
        """No invitation in force: a person a host removed is told so; to anyone else the
        meeting is not revealed. Neither gets more of the meeting than that."""
        with self.db.transaction("access_removed") as tx:
            removed = invitations.removed_from(tx, user_id, meeting_id)
        return _refuse("removed" if removed else "not_invited")

    def _password_ok(self, user: User, meeting: Meeting, password: str, client: str) -> bool:
        keys = (f"meeting:{meeting.id}:user:{user.id}", f"meeting-client:{client}")
        self.throttle.check(*keys)
        if self.passwords.verify(meeting.password_hash, password):
            return True
        self.throttle.fail(*keys)
        return False

    @staticmethod
    def _lobby_or_admit(user: User, meeting: Meeting, locked: bool) -> Decision:
        if locked:
            return Decision("lobby", "meeting_locked", meeting)
        if meeting.lobby_policy == "everyone" or (
            meeting.lobby_policy == "guests" and user.is_guest
        ):
            return Decision("lobby", "lobby_policy", meeting)
        return Decision("admit", "invited", meeting)
