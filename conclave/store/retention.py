"""SQL for the purge job: find what is past its retention and delete it, in batches.

Each function deletes at most ``limit`` rows of its kind and returns how many it deleted.
Rows are deleted for real; SQLite's ``secure_delete`` overwrites their bytes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select, update
from sqlalchemy.orm import Session

from conclave.store.schema import (
    IdentityKeyRow,
    InvitationRow,
    MeetingRow,
    SessionRow,
    SetupTokenRow,
    UserRow,
)


def _delete_ids(db: Session, table: type, ids: list[object]) -> int:
    if ids:
        db.execute(delete(table).where(table.id.in_(ids)))  # type: ignore[attr-defined]
    return len(ids)


def expired_sessions(db: Session, now: datetime, idle_cutoff: datetime, limit: int) -> int:
    query = select(SessionRow.id).where(
        or_(SessionRow.expires_at <= now, SessionRow.last_seen_at <= idle_cutoff)
    )
    return _delete_ids(db, SessionRow, list(db.scalars(query.limit(limit))))


def expired_setup_tokens(db: Session, now: datetime) -> int:
    result = db.execute(delete(SetupTokenRow).where(SetupTokenRow.expires_at <= now))
    return int(getattr(result, "rowcount", 0))


def expired_unused_invitations(db: Session, now: datetime, limit: int) -> int:
    query = select(InvitationRow.id).where(
        InvitationRow.accepted_at.is_(None), InvitationRow.expires_at <= now
    )
    return _delete_ids(db, InvitationRow, list(db.scalars(query.limit(limit))))


def _finished_by(cutoff: datetime) -> ColumnElement[bool]:
    """A meeting whose every known time lies before ``cutoff`` and whose room is closed."""
    return and_(
        MeetingRow.room_open_since.is_(None),
        MeetingRow.created_at <= cutoff,
        or_(MeetingRow.starts_at.is_(None), MeetingRow.starts_at <= cutoff),
        or_(MeetingRow.ends_at.is_(None), MeetingRow.ends_at <= cutoff),
        or_(MeetingRow.room_closed_at.is_(None), MeetingRow.room_closed_at <= cutoff),
    )


def finished_meetings(
    db: Session, cutoff: datetime, live: Collection[str], limit: int
) -> list[str]:
    query = select(MeetingRow.id).where(_finished_by(cutoff))
    if live:
        query = query.where(MeetingRow.id.not_in(list(live)))
    return list(db.scalars(query.order_by(MeetingRow.created_at).limit(limit)))


def remove_meetings(db: Session, meeting_ids: list[str]) -> int:
    """The meetings and their invitee lists (deleted explicitly, not only by cascade)."""
    if not meeting_ids:
        return 0
    db.execute(delete(InvitationRow).where(InvitationRow.meeting_id.in_(meeting_ids)))
    db.execute(delete(MeetingRow).where(MeetingRow.id.in_(meeting_ids)))
    return len(meeting_ids)


def expired_guests(db: Session, cutoff: datetime, live: Collection[str], limit: int) -> list[int]:
    """Guest accounts created before ``cutoff`` none of whose meetings is live or was
    used, scheduled or accepted after it."""
    recent = (
        select(InvitationRow.id)
        .join(MeetingRow, MeetingRow.id == InvitationRow.meeting_id)
        .where(
            InvitationRow.user_id == UserRow.id,
            or_(
                not_(_finished_by(cutoff)),
                InvitationRow.accepted_at > cutoff,
                MeetingRow.id.in_(list(live)),
            ),
        )
    )
    query = select(UserRow.id).where(
        UserRow.role == "guest", UserRow.created_at <= cutoff, not_(exists(recent))
    )
    return list(db.scalars(query.order_by(UserRow.id).limit(limit)))


def inactive_accounts(
    db: Session, cutoff: datetime, live: Collection[str], limit: int
) -> list[int]:
    """Members and administrators not signed in since ``cutoff`` who host no live meeting.
    The caller keeps the last active administrator."""
    hosting_live = select(MeetingRow.id).where(
        MeetingRow.owner_id == UserRow.id,
        or_(MeetingRow.room_open_since.is_not(None), MeetingRow.id.in_(list(live))),
    )
    last_seen = func.coalesce(UserRow.last_login_at, UserRow.created_at)
    query = select(UserRow.id).where(
        UserRow.role != "guest", last_seen <= cutoff, not_(exists(hosting_live))
    )
    return list(db.scalars(query.order_by(UserRow.id).limit(limit)))


def stale_identity_keys(db: Session, cutoff: datetime, limit: int) -> int:
    query = select(IdentityKeyRow.id).where(IdentityKeyRow.last_seen_at <= cutoff)
    return _delete_ids(db, IdentityKeyRow, list(db.scalars(query.limit(limit))))


def room_opened(db: Session, meeting_id: str, at: datetime) -> None:
    """Mark the room live, unless a later close was written already (writes may race)."""
    db.execute(
        update(MeetingRow)
        .where(
            MeetingRow.id == meeting_id,
            or_(MeetingRow.room_closed_at.is_(None), MeetingRow.room_closed_at <= at),
        )
        .values(room_open_since=at)
    )


def room_closed(db: Session, meeting_id: str, at: datetime) -> None:
    db.execute(
        update(MeetingRow)
        .where(
            MeetingRow.id == meeting_id,
            or_(MeetingRow.room_open_since.is_(None), MeetingRow.room_open_since <= at),
        )
        .values(room_open_since=None, room_closed_at=at)
    )


def close_stale_rooms(db: Session, now: datetime) -> int:
    """At server start no room is open: a crash may have left marks behind."""
    result = db.execute(
        update(MeetingRow)
        .where(MeetingRow.room_open_since.is_not(None))
        .values(room_open_since=None, room_closed_at=now)
    )
    return int(getattr(result, "rowcount", 0))
