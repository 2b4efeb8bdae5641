"""Shared form field types and small parsers for the routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Form

from conclave.errors import N_, InvalidInput

Username = Annotated[str, Form(min_length=1, max_length=254)]
Password = Annotated[str, Form(max_length=1024)]
DisplayName = Annotated[str, Form(max_length=1024)]  # checked (at most 100) by names.display_name
OptionalText = Annotated[str, Form(max_length=1024)]


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """Only local paths: never redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def parse_local_datetime(value: str, offset_minutes: str) -> datetime | None:
    """A ``datetime-local`` value plus the browser's UTC offset (minutes, JS sign)."""
    if not value.strip():
        return None
    try:
        local = datetime.fromisoformat(value.strip())
        offset = int(offset_minutes or "0")
    except ValueError:
        raise InvalidInput(N_("Enter dates as YYYY-MM-DD HH:MM."), reason="bad_date") from None
    if not -14 * 60 <= offset <= 14 * 60 or local.tzinfo is not None:
        raise InvalidInput(N_("Enter dates as YYYY-MM-DD HH:MM."), reason="bad_date")
    return (local + timedelta(minutes=offset)).replace(tzinfo=UTC)
