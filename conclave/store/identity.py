"""SQL for the identity public keys registered to accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from conclave.store.schema import IdentityKeyRow


def touch_or_insert(db: Session, user_id: int, public_key: str, now: datetime) -> None:
    found = db.scalar(
        select(IdentityKeyRow.id).where(
            IdentityKeyRow.user_id == user_id, IdentityKeyRow.public_key == public_key
        )
    )
    if found is not None:
        db.execute(
            update(IdentityKeyRow).where(IdentityKeyRow.id == found).values(last_seen_at=now)
        )
        return
    db.add(IdentityKeyRow(user_id=user_id, public_key=public_key, created_at=now, last_seen_at=now))


def keys_of(db: Session, user_id: int) -> list[str]:
    query = select(IdentityKeyRow.public_key).where(IdentityKeyRow.user_id == user_id)
    return list(db.scalars(query.order_by(IdentityKeyRow.last_seen_at.desc())))


def keep_newest(db: Session, user_id: int, count: int) -> None:
    stale = select(IdentityKeyRow.id).where(IdentityKeyRow.user_id == user_id)
    stale = stale.order_by(IdentityKeyRow.last_seen_at.desc()).offset(count)
    ids = list(db.scalars(stale))
    if ids:
        db.execute(delete(IdentityKeyRow).where(IdentityKeyRow.id.in_(ids)))
