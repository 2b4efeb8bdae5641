"""Password policy, argon2id, tokens, names and address truncation."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles
from argon2.exceptions import VerifyMismatchError

from conclave import tokens
from conclave.accounts import names
from conclave.accounts.hash_gate import HashGate
from conclave.accounts.passwords import Passwords, unmatchable_hash
from conclave.errors import InvalidInput
from conclave.privacy.addresses import truncate_ip


def _passwords() -> Passwords:
    return Passwords(12, HashGate(4, wait_seconds=3))


def test_production_hashes_are_argon2id_with_rfc_9106_parameters() -> None:
    hashed = _passwords().hash("a long enough secret")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "The password must be at least 12 characters long."),
        ("x" * 1025, "The password must be at most 1024 characters long."),
        ("my-name-is-ALICE!", "The password must not contain the user name."),
    ],
)
def test_password_policy(password: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _passwords().check_policy(password, "alice")
    assert caught.value.text == message


def test_verify_rejects_wrong_missing_and_garbage_hashes() -> None:
    passwords = _passwords()
    hashed = passwords.hash("a long enough secret")
    assert passwords.verify(hashed, "a long enough secret")
    assert not passwords.verify(hashed, "a long enough secreT")
    assert not passwords.verify(None, "a long enough secret")
    assert not passwords.verify("not-a-hash", "anything")
    assert not passwords.verify(hashed, "x" * 5000)


@pytest.mark.parametrize(
    "hasher",
    [PasswordHasher(), PasswordHasher.from_parameters(profiles.CHEAPEST)],
    ids=["rfc9106", "cheapest"],
)
def test_the_timing_equaliser_is_a_full_hash_with_the_hashers_parameters(
    hasher: PasswordHasher,
) -> None:
    # Built without hashing; it must cost a verification as a stored hash does: same
    # parameters, well-formed (a mismatch, not an invalid hash), and no password fits it.
    dummy = unmatchable_hash(hasher)
    assert extract_parameters(dummy) == extract_parameters(hasher.hash("any password"))
    with pytest.raises(VerifyMismatchError):
        hasher.verify(dummy, "conclave-timing-equaliser")
    assert unmatchable_hash(hasher) != dummy  # random salt and digest


def test_tokens_are_random_and_stored_hashed() -> None:
    made = {tokens.new_token() for _ in range(100)}
    assert len(made) == 100
    token = made.pop()
    assert len(token) == 43 and tokens.looks_like_token(token)
    assert tokens.hash_token(token) != token and len(tokens.hash_token(token)) == 64
    assert not tokens.looks_like_token("short")
    assert not tokens.looks_like_token("x" * 31 + "/")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("alice", "alice"), (" Bob.Smith ", "bob.smith"), ("a_b-c.d", "a_b-c.d")],
)
def test_usernames(raw: str, expected: str) -> None:
    assert names.username(raw) == expected


@pytest.mark.parametrize("raw", ["a", "-alice", "al ice", "ülrich", "x" * 65, "a@b.c", ""])
def test_bad_usernames(raw: str) -> None:
    with pytest.raises(InvalidInput):
        names.username(raw)


def test_display_names_and_emails() -> None:
    assert names.display_name("  Ada   Lovelace ") == "Ada Lovelace"
    for bad in ("", "   ", "x" * 101, "bell\x07"):
        with pytest.raises(InvalidInput):
            names.display_name(bad)
    assert names.email(" Gina@Example.ORG ") == "gina@example.org"
    for bad in ("gina", "a@b", "a@@b.org", "a b@c.org", "x" * 250 + "@e.org"):
        with pytest.raises(InvalidInput):
            names.email(bad)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.57", "203.0.113.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("fe80::1%eth0", "fe80::/48"),
        ("testclient", "unknown"),
        (None, "unknown"),
    ],
)
def test_client_addresses_are_truncated(address: str | None, expected: str) -> None:
    assert truncate_ip(address) == expected
