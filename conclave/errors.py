"""Typed errors raised by the services; ``web/errors.py`` maps them to responses.

``message`` is an English template marked for translation with ``N_``; ``params`` fill
its ``{placeholders}``. Messages are safe to show: no secrets, no internals.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message for extraction into the catalogs; translated where it is shown."""
    return message


class ConclaveError(Exception):
    def __init__(self, message: str, *, reason: str = "", **params: Any) -> None:
        self.message = message
        self.params = params
        self.reason = reason or type(self).__name__
        super().__init__(self.text)

    @property
    def text(self) -> str:
        return self.message.format(**self.params) if self.params else self.message


class InvalidInput(ConclaveError):
    """The request is malformed or a field is out of bounds (HTTP 400)."""


class NotAuthenticated(ConclaveError):
    """No valid session or wrong credentials (HTTP 401 / redirect to login)."""


class NotAuthorised(ConclaveError):
    """Authenticated, but not allowed to do this (HTTP 403)."""


class NotFound(ConclaveError):
    """The thing does not exist, or the caller may not know it exists (HTTP 404)."""


class Conflict(ConclaveError):
    """The request contradicts the current state (HTTP 409)."""


class RateLimited(ConclaveError):
    """Too many attempts; ``retry_after`` seconds until the next is allowed (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: int, reason: str = "") -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class StorageFull(Exception):
    """The database cannot store anything: its disk (or the database) is full (HTTP 503).

    Not a :class:`ConclaveError`: the request was fine, so no route may show it as a
    refusal of the input; ``web/errors.py`` answers it with a 503 page."""

    message = N_(
        "The server cannot save anything right now because its storage is full. "
        "Please try again in a few minutes."
    )
    retry_after = 60
