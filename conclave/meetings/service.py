"""Meetings: create, edit, delete, list. Only hosts change a meeting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy.orm import Session as Db

from conclave.accounts.passwords import Passwords
from conclave.clock import Clock
from conclave.errors import N_, InvalidInput, NotAuthorised, NotFound
from conclave.store import invitations, meetings
from conclave.store.db import Database
from conclave.store.records import LobbyPolicy, Meeting, User

MAX_TITLE = 200
MAX_MEETING_PASSWORD = 128
LOBBY_POLICIES: tuple[LobbyPolicy, ...] = ("everyone", "guests", "off")
REMOVED = N_("You were removed from this meeting.")


def new_meeting_id() -> str:
    """144 bits of randomness, URL-safe (24 characters)."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class MeetingDraft:
    """What a host may set on a meeting, already parsed by the web layer."""

    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    lobby_policy: str
    password: str | None  # None: no change (edit) or none (create); "" removes it
    remove_password: bool = False


@dataclass(frozen=True, slots=True)
class Dashboard:
    hosting: list[Meeting]
    invited: list[Meeting]


class MeetingService:
    def __init__(self, db: Database, passwords: Passwords, clock: Clock) -> None:
        self.db = db
        self.passwords = passwords
        self.clock = clock

    def create(self, owner: User, draft: MeetingDraft) -> Meeting:
        if owner.is_guest:
            raise NotAuthorised(N_("Guests cannot create meetings."), reason="guest_create")
        values = self._validated(draft)
        password_hash = self.passwords.hash(draft.password) if draft.password else None
        with self.db.transaction("create_meeting") as tx:
            return meetings.insert(
                tx,
                id=new_meeting_id(),
                owner_id=owner.id,
                password_hash=password_hash,
                created_at=self.clock(),
                **values,
            )

    def update(self, user: User, meeting_id: str, draft: MeetingDraft) -> Meeting:
        values: dict[str, object] = dict(self._validated(draft))
        if draft.remove_password:
            values["password_hash"] = None
        elif draft.password:
            values["password_hash"] = self.passwords.hash(draft.password)
        with self.db.transaction("update_meeting") as tx:
            meeting = self._hosted(tx, user, meeting_id)
            meetings.update_fields(tx, meeting.id, **values)
            updated = meetings.by_id(tx, meeting.id)
        if updated is None:  # deleted concurrently
            raise NotFound(N_("No such meeting."), reason="unknown_meeting")
        return updated

    def delete(self, user: User, meeting_id: str) -> None:
        with self.db.transaction("delete_meeting") as tx:
            meeting = self._hosted(tx, user, meeting_id)
            meetings.remove(tx, meeting.id)

    def visible(self, user: User, meeting_id: str) -> Meeting:
        """The meeting if the user hosts it or is invited; NotFound otherwise."""
        with self.db.transaction("visible_meeting") as tx:
            meeting = meetings.by_id(tx, meeting_id) if _plausible_id(meeting_id) else None
            if meeting is None:
                raise NotFound(N_("No such meeting."), reason="unknown_meeting")
            if meeting.owner_id != user.id and (
                invitations.for_user_and_meeting(tx, user.id, meeting.id) is None
            ):
                _refuse_uninvited(tx, user, meeting)
            return meeting

    def hosted(self, user: User, meeting_id: str) -> Meeting:
        with self.db.transaction("hosted_meeting") as tx:
            return self._hosted(tx, user, meeting_id)

    def dashboard(self, user: User) -> Dashboard:
        with self.db.transaction("dashboard") as tx:
            return Dashboard(
                hosting=meetings.hosted_by(tx, user.id), invited=meetings.invited(tx, user.id)
            )

    def mark_ended(self, meeting_id: str) -> None:
        """A host ended the meeting for everyone: it stays ended until its organiser
        starts it again (``reopen``), across restarts."""
        with self.db.transaction("end_meeting") as tx:
            meetings.update_fields(tx, meeting_id, ended_at=self.clock())

    def reopen(self, meeting_id: str) -> None:
        """The organiser starts an ended meeting again (by joining it)."""
        with self.db.transaction("reopen_meeting") as tx:
            meetings.update_fields(tx, meeting_id, ended_at=None)

    @staticmethod
    def _hosted(tx: Db, user: User, meeting_id: str) -> Meeting:
        meeting = meetings.by_id(tx, meeting_id) if _plausible_id(meeting_id) else None
        if meeting is None:
            raise NotFound(N_("No such meeting."), reason="unknown_meeting")
        if meeting.owner_id != user.id:
            if invitations.for_user_and_meeting(tx, user.id, meeting.id) is None:
                _refuse_uninvited(tx, user, meeting)
            raise NotAuthorised(N_("Only the host can change this meeting."), reason="not_host")
        return meeting

    def _validated(self, draft: MeetingDraft) -> dict[str, object]:
        title = " ".join(draft.title.split())
        if not title or len(title) > MAX_TITLE:
            raise InvalidInput(
                N_("The title must have 1 to {count} characters."),
                reason="bad_title",
                count=MAX_TITLE,
            )
        if draft.lobby_policy not in LOBBY_POLICIES:
            raise InvalidInput(
                N_("The lobby setting must be one of: everyone, guests, off."), reason="bad_lobby"
            )
        if draft.starts_at and draft.ends_at and draft.ends_at <= draft.starts_at:
            raise InvalidInput(N_("The meeting must end after it starts."), reason="bad_schedule")
        if draft.password and len(draft.password) > MAX_MEETING_PASSWORD:
            raise InvalidInput(
                N_("The meeting password must have at most {count} characters."),
                reason="bad_meeting_password",
                count=MAX_MEETING_PASSWORD,
            )
        return {
            "title": title,
            "starts_at": draft.starts_at,
            "ends_at": draft.ends_at,
            "lobby_policy": draft.lobby_policy,
        }


def _refuse_uninvited(tx: Db, user: User, meeting: Meeting) -> NoReturn:
    """Someone without an invitation in force: told that a host removed them, if one did;
    anyone else learns nothing, not even that the meeting exists."""
    if invitations.removed_from(tx, user.id, meeting.id):
        raise NotAuthorised(REMOVED, reason="removed")
    raise NotFound(N_("No such meeting."), reason="not_invited")


def _plausible_id(meeting_id: str) -> bool:
    return 16 <= len(meeting_id) <= 32 and all(c.isalnum() or c in "-_" for c in meeting_id)
