"""Throttled password checks: the one way the services compare a password with a hash.

Account passwords (sign-in, the invitation link of an existing guest account, the current
password on the account page, deleting one's account) all count against the same two
keys, so a guess costs the same wherever it is made:

- (account, client network): ``security.login_max_failures``, the tight limit;
- client network: ``security.login_network_max_failures``, well above it, for password
  spraying (one guess each at many accounts).

There is deliberately no limit per account alone: it would let anyone lock a person out
from everywhere. A correct password from a network with no failures of its own on that
account always gets through; it clears that pair's failures only.

Meeting passwords count per (meeting, person) and per (meeting, network): guesses at one
meeting never lock another meeting, and one person's guesses do not lock their colleagues.

A place is reserved before argon2 runs (``throttle.py``), so simultaneous attempts cannot
overrun a limit; argon2 itself passes the gate (``hash_gate.py``). Networks are the
truncated prefixes of ``privacy/addresses.py`` (IPv4 /24, IPv6 /48), never full addresses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conclave.accounts.passwords import Passwords
from conclave.accounts.throttle import Key, Throttle


def login_name(username: str) -> str:
    """The account name as sign-in looks it up (and as the counters key it)."""
    return username.strip().lower()[:254]


def _check(
    throttle: Throttle,
    passwords: Passwords,
    keys: tuple[Key, Key],
    password_hash: str | None,
    password: str,
) -> bool:
    pair, _network = keys
    with throttle.reserve(*keys) as attempt:
        if passwords.verify(password_hash, password):
            attempt.succeeded(pair)
            return True
        attempt.failed()
        return False


class AccountPasswordChecks:
    def __init__(
        self, passwords: Passwords, throttle: Throttle, pair_limit: int, network_limit: int
    ) -> None:
        self.passwords = passwords
        self.throttle = throttle
        self.pair_limit = pair_limit
        self.network_limit = network_limit

    def _keys(self, username: str, network: str) -> tuple[Key, Key]:
        return (
            Key(("account", login_name(username), network), self.pair_limit),
            Key(("account-network", network), self.network_limit),
        )

    def check(self, username: str, network: str, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; ``password_hash`` None (no such account) spends
        the same and fails. Raises RateLimited when a limit or the gate is full."""
        return _check(
            self.throttle, self.passwords, self._keys(username, network), password_hash, password
        )

    @contextmanager
    def new_account(self, username: str, network: str) -> Iterator[None]:
        """Around creating the account ``username`` with a chosen password: takes and gives
        back a place on the same keys as a check, so that a full limit refuses a new
        address exactly as it refuses one that has an account."""
        with self.throttle.reserve(*self._keys(username, network)) as attempt:
            yield
            attempt.succeeded()


class MeetingPasswordChecks:
    def __init__(
        self, passwords: Passwords, throttle: Throttle, person_limit: int, network_limit: int
    ) -> None:
        self.passwords = passwords
        self.throttle = throttle
        self.person_limit = person_limit
        self.network_limit = network_limit

    def check(
        self, meeting_id: str, user_id: int, network: str, password_hash: str, password: str
    ) -> bool:
        keys = (
            Key(("meeting", meeting_id, "user", str(user_id)), self.person_limit),
            Key(("meeting", meeting_id, "network", network), self.network_limit),
        )
        return _check(self.throttle, self.passwords, keys, password_hash, password)
