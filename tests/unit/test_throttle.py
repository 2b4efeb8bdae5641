"""The failure counters (reservations in a moving window) and the argon2 gate."""

from __future__ import annotations

import threading

import pytest
from argon2 import profiles

from conclave.accounts.hash_gate import HashGate
from conclave.accounts.passwords import Passwords
from conclave.accounts.throttle import Key, Throttle
from conclave.errors import RateLimited
from tests.support.argon2_probe import CountingHasher


def _throttle(now: list[float]) -> Throttle:
    return Throttle(60, "slow down", clock=lambda: now[0])


def test_failures_lock_a_key_for_the_window() -> None:
    now = [0.0]
    throttle = _throttle(now)
    key = Key(("sign-in", "alice"), 3)
    for _ in range(3):
        with throttle.reserve(key) as attempt:
            attempt.failed()
    with pytest.raises(RateLimited) as caught:
        throttle.reserve(key)
    assert 0 < caught.value.retry_after <= 61
    assert caught.value.reason == "throttled"
    with throttle.reserve(Key(("sign-in", "bob"), 3)):
        pass  # another key is not affected
    now[0] = 60.5
    with throttle.reserve(key) as attempt:
        attempt.failed()  # the window moved: the oldest failures expired


def test_a_reservation_takes_a_place_before_the_check_and_gives_it_back_after() -> None:
    throttle = _throttle([0.0])
    key = Key(("k",), 2)
    first, second = throttle.reserve(key), throttle.reserve(key)
    with pytest.raises(RateLimited):
        throttle.reserve(key)  # two checks in progress hold both places
    first.succeeded()
    second.__exit__(None, None, None)  # no verdict (the check did not run): given back
    with throttle.reserve(key) as attempt:
        attempt.failed()
    with throttle.reserve(key) as attempt:
        attempt.failed()
    with pytest.raises(RateLimited):
        throttle.reserve(key)


def test_a_refusal_by_one_key_takes_no_place_on_the_others() -> None:
    throttle = _throttle([0.0])
    tight, wide = Key(("pair",), 1), Key(("network",), 5)
    with throttle.reserve(tight, wide) as attempt:
        attempt.failed()
    for _ in range(3):
        with pytest.raises(RateLimited):
            throttle.reserve(tight, wide)
    for _ in range(4):  # the wide key still has its four places
        with throttle.reserve(wide) as attempt:
            attempt.failed()
    with pytest.raises(RateLimited):
        throttle.reserve(wide)


def test_a_success_forgets_the_failures_of_the_keys_it_names_only() -> None:
    throttle = _throttle([0.0])
    pair, network = Key(("pair",), 2), Key(("network",), 3)
    with throttle.reserve(pair, network) as attempt:
        attempt.failed()
    with throttle.reserve(pair, network) as attempt:
        attempt.succeeded(pair)
    with throttle.reserve(pair, network) as attempt:
        attempt.failed()
    with throttle.reserve(pair, network) as attempt:
        attempt.failed()  # the pair had one failure after the reset, the network three now
    with pytest.raises(RateLimited):
        throttle.reserve(network)


def test_simultaneous_reservations_never_exceed_the_limit() -> None:
    throttle = _throttle([0.0])
    key = Key(("k",), 5)
    granted: list[bool] = []
    start = threading.Barrier(30)

    def one() -> None:
        start.wait(timeout=10)
        try:
            throttle.reserve(key)
            granted.append(True)
        except RateLimited:
            granted.append(False)

    threads = [threading.Thread(target=one) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert granted.count(True) == 5 and len(granted) == 30


def test_the_gate_lets_the_bound_through_and_refuses_the_rest_after_the_wait() -> None:
    gate = HashGate(2, wait_seconds=0)
    with gate.slot(), gate.slot():
        with pytest.raises(RateLimited) as caught, gate.slot():
            pass
        assert caught.value.retry_after >= 1 and caught.value.reason == "busy"
    with gate.slot(), gate.slot():
        pass  # both places were given back


def test_hashing_and_verifying_both_pass_the_gate() -> None:
    probe = CountingHasher()
    passwords = Passwords(12, HashGate(1, wait_seconds=0), hasher=probe)
    stored = passwords.hash("a long enough secret")
    probe.hold()
    worker = threading.Thread(target=lambda: passwords.verify(stored, "a long enough secret"))
    worker.start()
    try:
        assert probe.wait_running(1)
        with pytest.raises(RateLimited):
            passwords.hash("another long secret")
        with pytest.raises(RateLimited):
            passwords.verify(stored, "a long enough secret")
    finally:
        probe.release()
        worker.join(timeout=30)
    assert probe.peak == 1
    assert Passwords(12, HashGate(1, 0), parameters=profiles.CHEAPEST).verify(None, "x") is False
