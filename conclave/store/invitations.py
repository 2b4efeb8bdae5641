"""SQL for invitations (members by account, external guests by hashed link token)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from conclave.store.records import Invitation
from conclave.store.schema import InvitationRow


def _record(row: InvitationRow) -> Invitation:
    return Invitation(
        id=row.id,
        meeting_id=row.meeting_id,
        user_id=row.user_id,
        email=row.email,
        created_at=row.created_at,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
    )


def insert(
    db: Session,
    *,
    meeting_id: str,
    now: datetime,
    expires_at: datetime,
    user_id: int | None = None,
    email: str | None = None,
    token_hash: str | None = None,
) -> Invitation:
    row = InvitationRow(
        meeting_id=meeting_id,
        user_id=user_id,
        email=email,
        token_hash=token_hash,
        created_at=now,
        expires_at=expires_at,
        accepted_at=now if user_id is not None else None,
    )
    db.add(row)
    db.flush()
    return _record(row)


def for_meeting(db: Session, meeting_id: str) -> list[Invitation]:
    query = select(InvitationRow).where(InvitationRow.meeting_id == meeting_id)
    return [_record(r) for r in db.scalars(query.order_by(InvitationRow.id))]


def for_user_and_meeting(db: Session, user_id: int, meeting_id: str) -> Invitation | None:
    query = select(InvitationRow).where(
        InvitationRow.user_id == user_id, InvitationRow.meeting_id == meeting_id
    )
    row = db.scalars(query).first()
    return _record(row) if row else None


def by_id(db: Session, invitation_id: int) -> Invitation | None:
    row = db.get(InvitationRow, invitation_id)
    return _record(row) if row else None


def by_token_hash(db: Session, token_hash: str) -> Invitation | None:
    row = db.scalars(select(InvitationRow).where(InvitationRow.token_hash == token_hash)).first()
    return _record(row) if row else None


def accept(db: Session, invitation_id: int, user_id: int, now: datetime) -> bool:
    """Bind an unused link invitation to its guest account; False if already used."""
    result = db.execute(
        update(InvitationRow)
        .where(InvitationRow.id == invitation_id, InvitationRow.accepted_at.is_(None))
        .values(user_id=user_id, accepted_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def remove(db: Session, invitation_id: int) -> None:
    db.execute(delete(InvitationRow).where(InvitationRow.id == invitation_id))


def remove_for_user_and_meeting(db: Session, user_id: int, meeting_id: str) -> None:
    db.execute(
        delete(InvitationRow).where(
            InvitationRow.user_id == user_id, InvitationRow.meeting_id == meeting_id
        )
    )
