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
        removed_at=row.removed_at,
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
    """The meeting's invitations in force (not those of people a host removed)."""
    query = select(InvitationRow).where(
        InvitationRow.meeting_id == meeting_id, InvitationRow.removed_at.is_(None)
    )
    return [_record(r) for r in db.scalars(query.order_by(InvitationRow.id))]


def for_user_and_meeting(db: Session, user_id: int, meeting_id: str) -> Invitation | None:
    """The user's invitation in force to the meeting; None also after a removal."""
    query = select(InvitationRow).where(
        InvitationRow.user_id == user_id,
        InvitationRow.meeting_id == meeting_id,
        InvitationRow.removed_at.is_(None),
    )
    row = db.scalars(query).first()
    return _record(row) if row else None


def removed_from(db: Session, user_id: int, meeting_id: str) -> bool:
    """Did a host remove the user from the meeting (and not invite them again since)?"""
    query = select(InvitationRow.id).where(
        InvitationRow.user_id == user_id,
        InvitationRow.meeting_id == meeting_id,
        InvitationRow.removed_at.is_not(None),
    )
    return db.scalars(query).first() is not None


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


def mark_removed(db: Session, user_id: int, meeting_id: str, now: datetime) -> None:
    """A host removed the user: the invitation stops working and says so."""
    db.execute(
        update(InvitationRow)
        .where(
            InvitationRow.user_id == user_id,
            InvitationRow.meeting_id == meeting_id,
            InvitationRow.removed_at.is_(None),
        )
        .values(removed_at=now)
    )


def forget_removal(db: Session, user_id: int, meeting_id: str) -> None:
    """The user is invited again: the invitation ended by the removal goes."""
    db.execute(
        delete(InvitationRow).where(
            InvitationRow.user_id == user_id,
            InvitationRow.meeting_id == meeting_id,
            InvitationRow.removed_at.is_not(None),
        )
    )
