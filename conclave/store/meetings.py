"""SQL for meetings."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from conclave.store.records import LobbyPolicy, Meeting
from conclave.store.schema import InvitationRow, MeetingRow


def _record(row: MeetingRow) -> Meeting:
    return Meeting(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        password_hash=row.password_hash,
        lobby_policy=cast(LobbyPolicy, row.lobby_policy),
        created_at=row.created_at,
        room_closed_at=row.room_closed_at,
        ended_at=row.ended_at,
    )


def insert(db: Session, **values: Any) -> Meeting:
    row = MeetingRow(**values)
    db.add(row)
    db.flush()
    return _record(row)


def by_id(db: Session, meeting_id: str) -> Meeting | None:
    row = db.get(MeetingRow, meeting_id)
    return _record(row) if row else None


def hosted_by(db: Session, user_id: int) -> list[Meeting]:
    query = select(MeetingRow).where(MeetingRow.owner_id == user_id)
    return [_record(r) for r in db.scalars(query.order_by(MeetingRow.created_at.desc()))]


def invited(db: Session, user_id: int) -> list[Meeting]:
    query = (
        select(MeetingRow)
        .join(InvitationRow, InvitationRow.meeting_id == MeetingRow.id)
        .where(InvitationRow.user_id == user_id, InvitationRow.removed_at.is_(None))
        .order_by(MeetingRow.created_at.desc())
    )
    return [_record(r) for r in db.scalars(query)]


def update_fields(db: Session, meeting_id: str, **values: Any) -> None:
    db.execute(update(MeetingRow).where(MeetingRow.id == meeting_id).values(**values))


def remove(db: Session, meeting_id: str) -> None:
    db.execute(delete(MeetingRow).where(MeetingRow.id == meeting_id))
