"""Shared form field types and small parsers for the routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Form, Path

from conclave.errors import N_, InvalidInput

Username = Annotated[str, Form(min_length=1, max_length=254)]
Password = Annotated[str, Form(max_length=1024)]
DisplayName = Annotated[str, Form(max_length=1024)]  # checked (at most 100) by names.display_name
OptionalText = Annotated[str, Form(max_length=1024)]
# A row id in a path (a user, an invitation): what the database can hold (a signed 64-bit
# integer); anything else is a 400 before any SQL is run.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

# The years a date may have (a meeting's schedule, the audit log's filter): the server
# adds a day to a date and any UTC offset, and that must still be a date.
EARLIEST_YEAR = 1900
LATEST_YEAR = 9998
DATE_RANGE = N_("Dates must lie between the years {earliest} and {latest}.")


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
    return in_range(local).replace(tzinfo=UTC) + timedelta(minutes=offset)


def parse_day(value: str, field: str) -> datetime | None:
    """A ``YYYY-MM-DD`` day (UTC, midnight), or None for an empty field."""
    if not value.strip():
        return None
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d")
    except ValueError:
        raise InvalidInput(
            N_("{field}: enter a date as YYYY-MM-DD."), reason="bad_date", field=field
        ) from None
    return in_range(day).replace(tzinfo=UTC)


def in_range(moment: datetime) -> datetime:
    """``moment`` if its year is one the server can compute with; InvalidInput if not."""
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise InvalidInput(
            DATE_RANGE, reason="date_range", earliest=EARLIEST_YEAR, latest=LATEST_YEAR
        )
    return moment
