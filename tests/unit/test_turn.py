"""TURN REST credentials in coturn's ``use-auth-secret`` scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conclave.config import ConfigError, IceServer, MediaSettings, TurnSettings, load_settings
from conclave.media.turn import IceServerEntry, ice_servers, turn_credentials, turn_pseudonym

NOW = datetime.fromtimestamp(1_700_000_000, UTC)  # 2023-11-14 22:13:20 UTC


def test_a_known_example_computed_by_hand() -> None:
    # username = "<now + ttl>:<user>"; password = base64(HMAC-SHA1(secret, username)).
    # By hand, with OpenSSL:
    #   printf '%s' '1700003600:alice' | openssl dgst -sha1 -hmac north
    #   -> c23c125ced9c87507a55a2d32cccb602f9f93bda
    #   ... | openssl dgst -sha1 -hmac north -binary | base64
    #   -> wjwSXO2ch1B6VaLTLMy2Avn5O9o=
    credentials = turn_credentials("north", "alice", now=NOW, ttl_seconds=3600)
    assert credentials.username == "1700003600:alice"
    assert credentials.expires == 1_700_003_600
    assert credentials.password == "wjwSXO2ch1B6VaLTLMy2Avn5O9o="
    digest = bytes.fromhex("c23c125ced9c87507a55a2d32cccb602f9f93bda")
    assert base64.b64decode(credentials.password) == digest
    assert hmac.new(b"north", b"1700003600:alice", hashlib.sha1).digest() == digest


def test_the_secret_may_be_bytes_and_the_ttl_moves_the_expiry() -> None:
    as_text = turn_credentials("north", "alice", now=NOW, ttl_seconds=60)
    as_bytes = turn_credentials(b"north", "alice", now=NOW, ttl_seconds=60)
    assert as_text == as_bytes and as_text.username == "1700000060:alice"
    other = turn_credentials("south", "alice", now=NOW, ttl_seconds=60)
    assert other.username == as_text.username and other.password != as_text.password


@pytest.mark.parametrize("pseudonym", ["", "a:b", "alice@example.org", "x" * 65, "bob smith"])
def test_pseudonyms_are_plain_tokens(pseudonym: str) -> None:
    with pytest.raises(ValueError, match="a TURN pseudonym is 1-64 letters"):
        turn_credentials("north", pseudonym, now=NOW, ttl_seconds=60)


def test_a_pseudonym_is_stable_and_does_not_show_the_user() -> None:
    secret = b"\x01" * 32
    first = turn_pseudonym(secret, 42, "meeting-7")
    assert first == turn_pseudonym(secret, 42, "meeting-7")
    assert len(first) == 20 and int(first, 16) >= 0  # hex: no trace of the id
    assert first != turn_pseudonym(secret, 42, "meeting-8")
    assert first != turn_pseudonym(b"\x02" * 32, 42, "meeting-7")
    turn_credentials("north", first, now=NOW, ttl_seconds=60)  # usable as is


def test_no_ice_server_unless_configured() -> None:
    assert ice_servers(MediaSettings(), "p", now=NOW) == []
    assert ice_servers(load_settings().media, "p", now=NOW) == []


def test_static_servers_then_turn_with_fresh_credentials() -> None:
    media = MediaSettings(
        ice_servers=[IceServer(urls=["stun:stun.example.org:3478"])],
        turn=TurnSettings(
            urls=["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
            secret="north",  # type: ignore[arg-type]
            ttl_seconds=600,
        ),
    )
    stun, turn = ice_servers(media, "alice", now=NOW)
    assert stun == IceServerEntry(("stun:stun.example.org:3478",))
    assert stun.to_json() == {"urls": ["stun:stun.example.org:3478"]}
    expected = turn_credentials("north", "alice", now=NOW, ttl_seconds=600)
    assert turn.to_json() == {
        "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        "username": "1700000600:alice",
        "credential": expected.password,
    }


def test_turn_settings_validation(tmp_path: Path) -> None:
    assert load_settings().media.turn.ttl_seconds == 3600
    config = tmp_path / "conclave.toml"
    config.write_text('[media.turn]\nurls = ["stun:turn.example.org"]\nttl_seconds = 10\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.problems == [
        "media.turn.urls = ['stun:turn.example.org']: Value error, 'stun:turn.example.org' "
        "is not a turn: or turns: URL (e.g. turn:turn.example.org:3478?transport=udp)",
        "media.turn.ttl_seconds = 10: Input should be greater than or equal to 60",
    ]
    config.write_text('[media.turn]\nurls = ["turns:turn.example.org:5349"]\n')
    with pytest.raises(ConfigError) as missing:
        load_settings(config)
    assert missing.value.problems == [
        "media.turn.secret = None: Value error, required when media.turn.urls is set "
        "(coturn's static-auth-secret)"
    ]
    config.write_text('[media.turn]\nurls = ["turns:turn.example.org:5349"]\nsecret = "s3"\n')
    turn = load_settings(config).media.turn
    assert turn.secret is not None and turn.secret.get_secret_value() == "s3"
    assert "s3" not in repr(turn)
