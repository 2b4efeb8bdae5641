"""Validation of user names, display names and e-mail addresses."""

from __future__ import annotations

import re

from conclave.errors import N_, InvalidInput

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}$")
MAX_DISPLAY_NAME = 100


def username(value: str) -> str:
    value = value.strip().lower()
    if not USERNAME.fullmatch(value):
        raise InvalidInput(
            N_("A user name has 2 to 64 characters: lower-case letters, digits, '.', '_' or '-'."),
            reason="bad_username",
        )
    return value


def email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not EMAIL.fullmatch(value):
        raise InvalidInput(N_("Enter a valid e-mail address."), reason="bad_email")
    return value


def display_name(value: str) -> str:
    value = " ".join(value.split())
    if not value or len(value) > MAX_DISPLAY_NAME or not value.isprintable():
        raise InvalidInput(
            N_("A display name has 1 to {count} printable characters."),
            reason="bad_display_name",
            count=MAX_DISPLAY_NAME,
        )
    return value
