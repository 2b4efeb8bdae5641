"""SQL for data-protection settings changed at run time (the admin policy console).

Values are JSON text; the service that owns a setting parses and validates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from conclave.store.schema import PolicySettingRow


@dataclass(frozen=True, slots=True)
class PolicyValue:
    key: str
    value: str
    updated_at: datetime
    updated_by_user_id: int | None


def all_values(db: Session) -> dict[str, PolicyValue]:
    return {
        r.key: PolicyValue(r.key, r.value, r.updated_at, r.updated_by_user_id)
        for r in db.scalars(select(PolicySettingRow).order_by(PolicySettingRow.key))
    }


def put(db: Session, key: str, value: str, now: datetime, user_id: int | None) -> None:
    row = db.get(PolicySettingRow, key)
    if row is None:
        db.add(PolicySettingRow(key=key, value=value, updated_at=now, updated_by_user_id=user_id))
    else:
        row.value, row.updated_at, row.updated_by_user_id = value, now, user_id


def remove(db: Session, key: str) -> None:
    db.execute(delete(PolicySettingRow).where(PolicySettingRow.key == key))
