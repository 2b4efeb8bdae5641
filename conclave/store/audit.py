"""SQL for the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from conclave.store.records import AuditEntry
from conclave.store.schema import AuditRow

_Row = TypeVar("_Row", bound=Any)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    event: str | None = None
    actor_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def _record(row: AuditRow) -> AuditEntry:
    details = json.loads(row.details) if row.details else {}
    return AuditEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        event=row.event,
        actor_id=row.actor_id,
        subject_id=row.subject_id,
        client=row.client,
        details=details if isinstance(details, dict) else {},
    )


def insert(
    db: Session,
    *,
    event: str,
    occurred_at: datetime,
    actor_id: int | None,
    subject_id: int | None,
    client: str | None,
    details: dict[str, str | int | bool],
) -> None:
    db.add(
        AuditRow(
            event=event,
            occurred_at=occurred_at,
            actor_id=actor_id,
            subject_id=subject_id,
            client=client,
            details=json.dumps(details, sort_keys=True, separators=(",", ":")),
        )
    )


def _filtered(query: Select[_Row], where: AuditFilter) -> Select[_Row]:
    if where.event:
        query = query.where(AuditRow.event == where.event)
    if where.actor_id is not None:
        query = query.where(AuditRow.actor_id == where.actor_id)
    if where.since is not None:
        query = query.where(AuditRow.occurred_at >= where.since)
    if where.until is not None:
        query = query.where(AuditRow.occurred_at < where.until)
    return query


def page(db: Session, where: AuditFilter, offset: int, limit: int) -> list[AuditEntry]:
    query = _filtered(select(AuditRow), where)
    query = query.order_by(AuditRow.occurred_at.desc(), AuditRow.id.desc())
    return [_record(r) for r in db.execute(query.offset(offset).limit(limit)).scalars()]


def count(db: Session, where: AuditFilter) -> int:
    return db.scalar(_filtered(select(func.count()).select_from(AuditRow), where)) or 0


def event_types(db: Session) -> list[str]:
    return list(db.scalars(select(AuditRow.event).distinct().order_by(AuditRow.event)))


def actor_ids(db: Session) -> list[int]:
    query = select(AuditRow.actor_id).where(AuditRow.actor_id.is_not(None)).distinct()
    return [i for i in db.scalars(query) if i is not None]


def about_user(db: Session, user_id: int) -> list[AuditEntry]:
    """Entries where the user is the actor or the subject, oldest first."""
    query = select(AuditRow).where(
        or_(AuditRow.actor_id == user_id, AuditRow.subject_id == user_id)
    )
    return [_record(r) for r in db.scalars(query.order_by(AuditRow.occurred_at, AuditRow.id))]


def newest(db: Session, event: str) -> AuditEntry | None:
    query = select(AuditRow).where(AuditRow.event == event)
    row = db.scalars(query.order_by(AuditRow.occurred_at.desc(), AuditRow.id.desc())).first()
    return _record(row) if row else None


def anonymise_user(db: Session, user_id: int) -> int:
    """Drop the user's id from every entry; the events themselves stay."""
    actor = db.execute(update(AuditRow).where(AuditRow.actor_id == user_id).values(actor_id=None))
    subject = db.execute(
        update(AuditRow).where(AuditRow.subject_id == user_id).values(subject_id=None)
    )
    return int(getattr(actor, "rowcount", 0)) + int(getattr(subject, "rowcount", 0))


def remove_older_than(db: Session, cutoff: datetime, limit: int) -> int:
    ids = list(
        db.scalars(
            select(AuditRow.id)
            .where(AuditRow.occurred_at < cutoff)
            .order_by(AuditRow.id)
            .limit(limit)
        )
    )
    if ids:
        db.execute(delete(AuditRow).where(AuditRow.id.in_(ids)))
    return len(ids)
