"""Frozen records returned by the store; services never see ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["admin", "member", "guest"]
LobbyPolicy = Literal["everyone", "guests", "off"]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    created_at: datetime
    password_hash: str
    last_login_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_guest(self) -> bool:
        return self.role == "guest"


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Meeting:
    id: str
    owner_id: int
    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    password_hash: str | None
    lobby_policy: LobbyPolicy
    created_at: datetime
    room_closed_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    meeting_id: str
    user_id: int | None
    email: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    removed_at: datetime | None = None

    @property
    def is_external(self) -> bool:
        return self.email is not None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: datetime
    event: str
    actor_id: int | None
    subject_id: int | None
    client: str | None
    details: dict[str, str | int | bool]
