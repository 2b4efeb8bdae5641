"""Failure counters for password checks: a moving window per key, with reservations.

A check takes its place *before* the password is hashed: ``reserve`` tests every key it
is given and takes a place on each in one step under one lock, so simultaneous attempts
cannot all pass a test that only some of them may pass (issue 13: 30 simultaneous wrong
sign-ins were all checked against a limit of 5). The reservation then ends in one of
three ways:

- ``failed()``: the password was wrong; a failure is recorded on every key;
- ``succeeded(*forget)``: the place is given back, and the keys named in ``forget`` lose
  their failures (the person proved they know the password);
- no verdict (leaving the ``with`` block without one, e.g. the argon2 gate refused):
  the place is given back and nothing is counted, since nothing was checked.

A key is full when its failures within the window plus the checks in progress reach its
limit. Only failures are remembered, so successful sign-ins never use up a network's
allowance (an office of 200 people behind one address signing in at nine).

Kept in memory: a restart forgets the counters, which only ever helps a legitimate user.
Keys are stored as keyed BLAKE2b digests of their parts (account names, network prefixes,
meeting ids), with a random key per process: the table holds no name and no address.
Why not the ``limits`` library: its ``hit`` is atomic per key but cannot be given back,
and a reservation here spans two keys and must be returned on success or when nothing was
checked; its memory storage also reads the wall clock, so a test could not move time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from conclave.errors import RateLimited

MAX_KEYS = 100_000  # beyond this, keys with nothing left in the window are dropped first
IN_PROGRESS_WAIT = 1  # seconds to suggest when only checks in progress fill a key


@dataclass(frozen=True, slots=True)
class Key:
    """What is counted (e.g. ``("sign-in", account, network)``) and how many failures
    it may have within the window."""

    parts: tuple[str, ...]
    limit: int


@dataclass(slots=True)
class _Counter:
    failures: deque[float] = field(default_factory=deque)
    in_progress: int = 0


class Throttle:
    """Allows each key ``limit`` failures within ``window`` seconds."""

    def __init__(self, window: float, message: str, clock: Callable[[], float]) -> None:
        """``clock``: seconds, the services' clock (tests move it)."""
        self.window = window
        self.message = message
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[bytes, _Counter] = {}
        self._secret = secrets.token_bytes(32)

    def reserve(self, *keys: Key) -> Attempt:
        """Take a place on every key, or raise RateLimited and take none."""
        digests = [(self._digest(key), key.limit) for key in keys]
        now = self._clock()
        with self._lock:
            if len(self._counters) >= MAX_KEYS:
                self._prune(now)
            wait = max((self._wait(d, limit, now) for d, limit in digests), default=0.0)
            if wait > 0:
                raise RateLimited(self.message, retry_after=int(wait) + 1, reason="throttled")
            for digest, _limit in digests:
                self._counters.setdefault(digest, _Counter()).in_progress += 1
        return Attempt(self, tuple(digest for digest, _limit in digests))

    def _digest(self, key: Key) -> bytes:
        joined = "\x1f".join(key.parts).encode()
        return hashlib.blake2b(joined, key=self._secret, digest_size=16).digest()

    def _wait(self, digest: bytes, limit: int, now: float) -> float:
        """Seconds until ``digest`` has a free place (0: it has one now)."""
        counter = self._counters.get(digest)
        if counter is None:
            return 0.0
        failures = counter.failures
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        excess = len(failures) + counter.in_progress - limit
        if excess < 0:
            return 0.0
        if excess < len(failures):  # that many failures must expire first
            return max(failures[excess] + self.window - now, 0.001)
        return IN_PROGRESS_WAIT

    def _finish(self, digests: tuple[bytes, ...], failed: bool, forget: frozenset[bytes]) -> None:
        now = self._clock()
        with self._lock:
            for digest in digests:
                counter = self._counters.get(digest)
                if counter is None:  # cannot happen: keys in progress are never pruned
                    continue
                counter.in_progress -= 1
                if digest in forget:
                    counter.failures.clear()
                if failed:
                    counter.failures.append(now)
                if not counter.in_progress and not counter.failures:
                    del self._counters[digest]

    def _prune(self, now: float) -> None:
        stale = [
            digest
            for digest, counter in self._counters.items()
            if not counter.in_progress
            and (not counter.failures or counter.failures[-1] <= now - self.window)
        ]
        for digest in stale:
            del self._counters[digest]


class Attempt:
    """One reserved check. Use it as a context manager; the first verdict counts."""

    def __init__(self, throttle: Throttle, digests: tuple[bytes, ...]) -> None:
        self._throttle = throttle
        self._digests = digests
        self._open = True

    def failed(self) -> None:
        self._end(failed=True, forget=())

    def succeeded(self, *forget: Key) -> None:
        self._end(failed=False, forget=forget)

    def _end(self, *, failed: bool, forget: tuple[Key, ...]) -> None:
        if not self._open:
            return
        self._open = False
        digests = frozenset(self._throttle._digest(key) for key in forget)
        self._throttle._finish(self._digests, failed, digests)

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._end(failed=False, forget=())  # no verdict: the place is given back
