"""SQL for the compliance report: counts only, never names."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from conclave.store.schema import InvitationRow, MeetingRow, UserRow


@dataclass(frozen=True, slots=True)
class Counts:
    users: int
    admins: int
    meetings: int
    guest_meetings_without_lobby: int


def counts(db: Session) -> Counts:
    guest_invitation = (
        select(InvitationRow.id)
        .outerjoin(UserRow, UserRow.id == InvitationRow.user_id)
        .where(InvitationRow.meeting_id == MeetingRow.id)
        .where(or_(InvitationRow.email.is_not(None), UserRow.role == "guest"))
        .where(InvitationRow.removed_at.is_(None))
        .exists()
    )
    without_lobby = select(func.count()).where(MeetingRow.lobby_policy == "off", guest_invitation)
    return Counts(
        users=db.scalar(select(func.count()).select_from(UserRow)) or 0,
        admins=db.scalar(select(func.count()).where(UserRow.role == "admin")) or 0,
        meetings=db.scalar(select(func.count()).select_from(MeetingRow)) or 0,
        guest_meetings_without_lobby=db.scalar(without_lobby) or 0,
    )
