"""SQL for a person's data as a whole: everything held about one account (GDPR Art. 15
and 20) and its erasure (Art. 17)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from conclave.store import audit
from conclave.store.schema import (
    IdentityKeyRow,
    InvitationRow,
    MeetingRow,
    PolicySettingRow,
    SessionRow,
    UserRow,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def sessions_of(db: Session, user_id: int) -> list[dict[str, Any]]:
    query = select(SessionRow).where(SessionRow.user_id == user_id).order_by(SessionRow.id)
    return [
        {
            "created_at": _iso(r.created_at),
            "last_seen_at": _iso(r.last_seen_at),
            "expires_at": _iso(r.expires_at),
        }
        for r in db.scalars(query)
    ]


def identity_keys_of(db: Session, user_id: int) -> list[dict[str, Any]]:
    query = select(IdentityKeyRow).where(IdentityKeyRow.user_id == user_id)
    return [
        {
            "public_key": r.public_key,
            "created_at": _iso(r.created_at),
            "last_seen_at": _iso(r.last_seen_at),
        }
        for r in db.scalars(query.order_by(IdentityKeyRow.id))
    ]


def _meeting(row: MeetingRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "starts_at": _iso(row.starts_at),
        "ends_at": _iso(row.ends_at),
        "created_at": _iso(row.created_at),
        "has_password": row.password_hash is not None,
        "lobby": row.lobby_policy,
        "room_last_closed_at": _iso(row.room_closed_at),
        "ended_at": _iso(row.ended_at),
    }


def meetings_hosted(db: Session, user_id: int) -> list[dict[str, Any]]:
    """The user's meetings; of their invitee lists only the size (the invitees are others)."""
    invited = (
        select(func.count())
        .where(InvitationRow.meeting_id == MeetingRow.id)
        .scalar_subquery()
        .label("invitations")
    )
    query = select(MeetingRow, invited).where(MeetingRow.owner_id == user_id)
    return [
        {**_meeting(row), "invitations": count}
        for row, count in db.execute(query.order_by(MeetingRow.created_at))
    ]


def invitations_of(db: Session, user_id: int, email: str | None) -> list[dict[str, Any]]:
    """Invitations addressed to the user (by account or, unused, by e-mail address),
    with the meeting they open. The host is not named: that is someone else's data."""
    match = InvitationRow.user_id == user_id
    if email:
        match = or_(match, InvitationRow.email == email)
    query = (
        select(InvitationRow, MeetingRow)
        .join(MeetingRow, MeetingRow.id == InvitationRow.meeting_id)
        .where(match)
        .order_by(InvitationRow.id)
    )
    return [
        {
            "email": inv.email,
            "created_at": _iso(inv.created_at),
            "expires_at": _iso(inv.expires_at),
            "accepted_at": _iso(inv.accepted_at),
            "removed_at": _iso(inv.removed_at),
            "meeting": _meeting(meeting),
        }
        for inv, meeting in db.execute(query)
    ]


def audit_of(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Audit entries about the user. The other party is not named, and of an entry where
    someone else acted on the user, their network is left out too."""
    return [
        {
            "event": e.event,
            "occurred_at": _iso(e.occurred_at),
            "as": "actor" if e.actor_id == user_id else "subject",
            "client": e.client if e.actor_id == user_id else None,
            "details": e.details,
        }
        for e in audit.about_user(db, user_id)
    ]


def policy_changes_of(db: Session, user_id: int) -> list[dict[str, Any]]:
    query = select(PolicySettingRow).where(PolicySettingRow.updated_by_user_id == user_id)
    return [
        {"setting": r.key, "updated_at": _iso(r.updated_at)}
        for r in db.scalars(query.order_by(PolicySettingRow.key))
    ]


@dataclass(frozen=True, slots=True)
class Erased:
    meetings: int
    invitations: int
    sessions: int
    identity_keys: int
    audit_entries_anonymised: int


def erase(db: Session, user_id: int, email: str | None) -> Erased:
    """Delete the account and everything linked to it; anonymise what must stay.

    Deleted: sessions, identity keys, invitations to the user (and unused ones sent to
    their e-mail address), the meetings they host with those meetings' invitee lists, the
    account. Anonymised: audit entries (actor/subject set to none) and the author of
    data-protection settings they changed. Done explicitly, not left to the cascades.
    """
    hosted = list(db.scalars(select(MeetingRow.id).where(MeetingRow.owner_id == user_id)))
    invitation_match = InvitationRow.user_id == user_id
    if email:
        invitation_match = or_(invitation_match, InvitationRow.email == email)
    if hosted:
        invitation_match = or_(invitation_match, InvitationRow.meeting_id.in_(hosted))
    invitations = db.execute(delete(InvitationRow).where(invitation_match))
    if hosted:
        db.execute(delete(MeetingRow).where(MeetingRow.id.in_(hosted)))
    sessions = db.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
    keys = db.execute(delete(IdentityKeyRow).where(IdentityKeyRow.user_id == user_id))
    anonymised = audit.anonymise_user(db, user_id)
    db.execute(
        update(PolicySettingRow)
        .where(PolicySettingRow.updated_by_user_id == user_id)
        .values(updated_by_user_id=None)
    )
    db.execute(delete(UserRow).where(UserRow.id == user_id))
    return Erased(
        meetings=len(hosted),
        invitations=int(getattr(invitations, "rowcount", 0)),
        sessions=int(getattr(sessions, "rowcount", 0)),
        identity_keys=int(getattr(keys, "rowcount", 0)),
        audit_entries_anonymised=anonymised,
    )
