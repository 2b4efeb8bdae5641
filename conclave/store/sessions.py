"""SQL for login sessions and the one-time first-admin setup token."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as Db

from conclave.store.records import Session
from conclave.store.schema import SessionRow, SetupTokenRow


def _record(row: SessionRow) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


def insert(db: Db, *, token_hash: str, user_id: int, now: datetime, expires_at: datetime) -> None:
    db.add(
        SessionRow(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


def by_token_hash(db: Db, token_hash: str) -> Session | None:
    row = db.scalars(select(SessionRow).where(SessionRow.token_hash == token_hash)).first()
    return _record(row) if row else None


def by_id(db: Db, session_id: int) -> Session | None:
    row = db.get(SessionRow, session_id)
    return _record(row) if row else None


def by_ids(db: Db, session_ids: Collection[int]) -> list[Session]:
    query = select(SessionRow).where(SessionRow.id.in_(list(session_ids)))
    return [_record(row) for row in db.scalars(query)]


def touch(db: Db, session_id: int, now: datetime) -> None:
    touch_all(db, [session_id], now)


def touch_all(db: Db, session_ids: Collection[int], now: datetime) -> None:
    if session_ids:
        query = update(SessionRow).where(SessionRow.id.in_(list(session_ids)))
        db.execute(query.values(last_seen_at=now))


def remove(db: Db, session_id: int) -> None:
    db.execute(delete(SessionRow).where(SessionRow.id == session_id))


def remove_for_user(db: Db, user_id: int) -> None:
    db.execute(delete(SessionRow).where(SessionRow.user_id == user_id))


def replace_setup_token(db: Db, token_hash: str, expires_at: datetime) -> None:
    """Keep exactly one setup token: a new one invalidates any older link."""
    db.execute(delete(SetupTokenRow))
    db.add(SetupTokenRow(token_hash=token_hash, expires_at=expires_at))


def take_setup_token(db: Db, token_hash: str, now: datetime) -> bool:
    """Consume the setup token if it matches and is unexpired (single use)."""
    result = db.execute(
        delete(SetupTokenRow).where(
            SetupTokenRow.token_hash == token_hash, SetupTokenRow.expires_at > now
        )
    )
    return bool(getattr(result, "rowcount", 0))


def setup_token_valid(db: Db, token_hash: str, now: datetime) -> bool:
    query = select(SetupTokenRow.token_hash).where(
        SetupTokenRow.token_hash == token_hash, SetupTokenRow.expires_at > now
    )
    return db.scalar(query) is not None
