"""SQL for accounts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from conclave.store.records import Role, User
from conclave.store.schema import UserRow


def _record(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=cast(Role, row.role),
        disabled=row.disabled,
        created_at=row.created_at,
        password_hash=row.password_hash,
        last_login_at=row.last_login_at,
    )


def insert(
    db: Session, *, username: str, display_name: str, password_hash: str, role: Role, now: datetime
) -> User:
    row = UserRow(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        disabled=False,
        created_at=now,
    )
    db.add(row)
    db.flush()
    return _record(row)


def by_id(db: Session, user_id: int) -> User | None:
    row = db.get(UserRow, user_id)
    return _record(row) if row else None


def by_ids(db: Session, user_ids: Collection[int]) -> dict[int, User]:
    query = select(UserRow).where(UserRow.id.in_(list(user_ids)))
    return {row.id: _record(row) for row in db.scalars(query)}


def by_username(db: Session, username: str) -> User | None:
    row = db.scalars(select(UserRow).where(UserRow.username == username)).first()
    return _record(row) if row else None


def all_users(db: Session) -> list[User]:
    return [_record(r) for r in db.scalars(select(UserRow).order_by(UserRow.username))]


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(UserRow)) or 0


def count_active_admins(db: Session) -> int:
    query = select(func.count()).where(UserRow.role == "admin", UserRow.disabled.is_(False))
    return db.scalar(query) or 0


def set_password_hash(db: Session, user_id: int, password_hash: str) -> None:
    db.execute(update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash))


def set_disabled(db: Session, user_id: int, disabled: bool) -> None:
    db.execute(update(UserRow).where(UserRow.id == user_id).values(disabled=disabled))


def remove(db: Session, user_id: int) -> None:
    db.execute(delete(UserRow).where(UserRow.id == user_id))


def set_last_login(db: Session, user_id: int, now: datetime) -> None:
    db.execute(update(UserRow).where(UserRow.id == user_id).values(last_login_at=now))
