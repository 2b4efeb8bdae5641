"""Password hashing (argon2id) and the password policy. Every argon2 operation passes
the gate (``hash_gate.py``); throttling is the callers' part (``password_checks.py``)."""

from __future__ import annotations

import base64
import secrets

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

from conclave.accounts.hash_gate import HashGate
from conclave.errors import N_, InvalidInput

MAX_PASSWORD_LENGTH = 1024


class Passwords:
    """argon2id hashing with the library's recommended parameters (RFC 9106)."""

    def __init__(
        self,
        min_length: int,
        gate: HashGate,
        *,
        parameters: Parameters | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        """``parameters`` or a ready ``hasher`` override the cost (tests only)."""
        self.min_length = min_length
        self.gate = gate
        if hasher is None:
            hasher = PasswordHasher.from_parameters(parameters) if parameters else PasswordHasher()
        self._hasher = hasher
        self._dummy = unmatchable_hash(self._hasher)

    def check_policy(self, password: str, username: str) -> None:
        if len(password) < self.min_length:
            raise InvalidInput(
                N_("The password must be at least {count} characters long."),
                reason="password_too_short",
                count=self.min_length,
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidInput(
                N_("The password must be at most {count} characters long."),
                reason="password_too_long",
                count=MAX_PASSWORD_LENGTH,
            )
        lowered = password.casefold()
        if username and username.casefold() in lowered:
            raise InvalidInput(
                N_("The password must not contain the user name."), reason="password_has_username"
            )

    def hash(self, password: str) -> str:
        """Raises RateLimited when the gate stays full (``hash_gate.py``)."""
        with self.gate.slot():
            return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; with no hash, spend the same time and fail. Raises
        RateLimited when the gate stays full: then nothing was checked."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            with self.gate.slot():
                matched = self._hasher.verify(password_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None


def unmatchable_hash(hasher: PasswordHasher) -> str:
    """An encoded argon2 hash with ``hasher``'s parameters (random salt, random digest)
    that no password matches: verifying against it costs exactly what verifying a real
    hash costs, which is all the timing equaliser needs, and making it costs nothing
    (hashing one took a third of a second of every server start, issue 2)."""

    def b64(raw: bytes) -> str:  # argon2's encoding: standard base64 without padding
        return base64.b64encode(raw).decode("ascii").rstrip("=")

    salt = b64(secrets.token_bytes(hasher.salt_len))
    digest = b64(secrets.token_bytes(hasher.hash_len))
    costs = f"m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
    return f"$argon2{hasher.type.name.lower()}$v={ARGON2_VERSION}${costs}${salt}${digest}"
