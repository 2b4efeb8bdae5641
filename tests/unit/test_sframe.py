"""RFC 9605 (SFrame): the RFC's test vectors plus property tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conclave.e2ee import sframe
from conclave.e2ee.sframe import (
    DecryptError,
    decode_header,
    decrypt,
    derive_key_salt,
    encode_header,
    encrypt,
)

VECTORS_FILE = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "rfc9605-test-vectors.json"
)
SUITES = [1, 2, 3, 4, 5]
TAG_LEN = {1: 10, 2: 8, 3: 4, 4: 16, 5: 16}
U64 = st.integers(min_value=0, max_value=2**64 - 1)
FAST = settings(max_examples=100, deadline=None)


def _load_vectors() -> dict[str, list[dict[str, Any]]]:
    if not VECTORS_FILE.is_file():
        return {}
    data: dict[str, list[dict[str, Any]]] = json.loads(VECTORS_FILE.read_text())
    return data


VECTORS = _load_vectors()


def _cases(kind: str, name: Any) -> list[Any]:
    """One pytest.param per vector; a single failing case if the file is missing."""
    if kind not in VECTORS:
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(v, id=name(v)) for v in VECTORS[kind]]


def _need(vector: dict[str, Any] | None) -> dict[str, Any]:
    if vector is None:
        pytest.fail(f"RFC 9605 test vectors not found at {VECTORS_FILE}")
    return vector


def _suite_id(v: dict[str, Any]) -> str:
    return str(sframe._SUITES[v["cipher_suite"]].name)


def _header_id(v: dict[str, Any]) -> str:
    return f"kid={v['kid']:#x}-ctr={v['ctr']:#x}"


def _h(vector: dict[str, Any], field: str) -> bytes:
    return bytes.fromhex(vector[field])


def test_vector_file_covers_every_suite() -> None:
    assert VECTORS_FILE.is_file(), f"RFC 9605 test vectors not found at {VECTORS_FILE}"
    assert len(VECTORS["header"]) > 100
    assert sorted(v["cipher_suite"] for v in VECTORS["aes_ctr_hmac"]) == [1, 2, 3]
    assert sorted(v["cipher_suite"] for v in VECTORS["sframe"]) == SUITES


# --- Known-answer tests -------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("header", _header_id))
def test_header_vector(vector: dict[str, Any] | None) -> None:
    v = _need(vector)
    encoded = _h(v, "encoded")
    assert encode_header(v["kid"], v["ctr"]) == encoded
    assert decode_header(encoded) == (v["kid"], v["ctr"], len(encoded))
    assert decode_header(encoded + b"payload") == (v["kid"], v["ctr"], len(encoded))


@pytest.mark.parametrize("vector", _cases("aes_ctr_hmac", _suite_id))
def test_aes_ctr_hmac_vector(vector: dict[str, Any] | None) -> None:
    v = _need(vector)
    suite = sframe._SUITES[v["cipher_suite"]]
    key, nonce, aad, pt, ct = (_h(v, f) for f in ("key", "nonce", "aad", "pt", "ct"))
    assert sframe._split_key(suite, key) == (_h(v, "enc_key"), _h(v, "auth_key"))
    assert sframe._seal(suite, key, nonce, aad, pt) == ct
    assert sframe._open(suite, key, nonce, aad, ct) == pt


@pytest.mark.parametrize("vector", _cases("sframe", _suite_id))
def test_sframe_vector_key_schedule(vector: dict[str, Any] | None) -> None:
    v = _need(vector)
    suite_id, kid, ctr = v["cipher_suite"], v["kid"], v["ctr"]
    suite = sframe._SUITES[suite_id]
    assert sframe._label(b"key", kid, suite_id) == _h(v, "sframe_key_label")
    assert sframe._label(b"salt", kid, suite_id) == _h(v, "sframe_salt_label")
    assert sframe._extract(suite, _h(v, "base_key")) == _h(v, "sframe_secret")
    key, salt = derive_key_salt(suite_id, _h(v, "base_key"), kid)
    assert (key, salt) == (_h(v, "sframe_key"), _h(v, "sframe_salt"))
    assert sframe._nonce(salt, ctr) == _h(v, "nonce")
    assert encode_header(kid, ctr) + _h(v, "metadata") == _h(v, "aad")


@pytest.mark.parametrize("vector", _cases("sframe", _suite_id))
def test_sframe_vector_encrypt_decrypt(vector: dict[str, Any] | None) -> None:
    v = _need(vector)
    suite_id, base_key, metadata = v["cipher_suite"], _h(v, "base_key"), _h(v, "metadata")
    ct = encrypt(suite_id, base_key, v["kid"], v["ctr"], metadata, _h(v, "pt"))
    assert ct == _h(v, "ct")
    assert decrypt(suite_id, base_key, metadata, ct) == _h(v, "pt")


# --- Header properties --------------------------------------------------------


@FAST
@given(kid=U64, ctr=U64)
def test_header_round_trip(kid: int, ctr: int) -> None:
    encoded = encode_header(kid, ctr)
    assert decode_header(encoded) == (kid, ctr, len(encoded))
    assert 1 <= len(encoded) <= 17


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=20))
def test_decode_header_on_arbitrary_bytes(data: bytes) -> None:
    try:
        kid, ctr, length = decode_header(data)
    except DecryptError:
        return
    assert 0 <= kid < 2**64 and 0 <= ctr < 2**64
    assert encode_header(kid, ctr) == data[:length]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "SFrame header truncated: no config byte"),
        (bytes([0x99, 0x01]), "SFrame header truncated: KID needs 2 bytes"),
        (bytes([0x0A, 0x01]), "SFrame header truncated: CTR needs 3 bytes"),
        (bytes([0x80, 0x07]), "SFrame header malformed: KID is not minimally encoded"),
        (bytes([0x09, 0x00, 0xFF]), "SFrame header malformed: CTR is not minimally encoded"),
    ],
    ids=["empty", "short-kid", "short-ctr", "small-kid-extended", "ctr-leading-zero"],
)
def test_malformed_header_messages(data: bytes, message: str) -> None:
    with pytest.raises(DecryptError) as excinfo:
        decode_header(data)
    assert str(excinfo.value) == message


# --- Encryption properties ----------------------------------------------------

frames = st.fixed_dictionaries(
    {
        "suite": st.sampled_from(SUITES),
        "key": st.binary(min_size=16, max_size=32),
        "kid": U64,
        "ctr": U64,
        "metadata": st.binary(max_size=16),
        "plaintext": st.binary(max_size=64),
    }
)


def _seal(f: dict[str, Any]) -> bytes:
    return encrypt(f["suite"], f["key"], f["kid"], f["ctr"], f["metadata"], f["plaintext"])


@FAST
@given(f=frames)
def test_encrypt_decrypt_round_trip(f: dict[str, Any]) -> None:
    data = _seal(f)
    header_len = len(encode_header(f["kid"], f["ctr"]))
    assert len(data) == header_len + len(f["plaintext"]) + TAG_LEN[f["suite"]]
    assert decrypt(f["suite"], f["key"], f["metadata"], data) == f["plaintext"]


@pytest.mark.parametrize("suite", SUITES)
def test_flipping_any_byte_fails(suite: int) -> None:
    key, metadata = bytes(range(32)), b"rtp-metadata"
    data = encrypt(suite, key, 0x1234, 0xABCDEF, metadata, b"a short media frame")
    for index in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            tampered = bytearray(data)
            tampered[index] ^= mask
            with pytest.raises(DecryptError):
                decrypt(suite, key, metadata, bytes(tampered))


@FAST
@given(f=frames, position=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255))
def test_flipping_a_random_byte_fails(f: dict[str, Any], position: int, mask: int) -> None:
    tampered = bytearray(_seal(f))
    tampered[position % len(tampered)] ^= mask
    with pytest.raises(DecryptError):
        decrypt(f["suite"], f["key"], f["metadata"], bytes(tampered))


@FAST
@given(f=frames, extra=st.binary(min_size=1, max_size=4))
def test_changed_metadata_fails(f: dict[str, Any], extra: bytes) -> None:
    with pytest.raises(DecryptError):
        decrypt(f["suite"], f["key"], f["metadata"] + extra, _seal(f))


@FAST
@given(f=frames, other_key=st.binary(min_size=16, max_size=32))
def test_wrong_key_fails(f: dict[str, Any], other_key: bytes) -> None:
    if other_key == f["key"]:
        other_key = bytes(b ^ 1 for b in other_key)
    with pytest.raises(DecryptError):
        decrypt(f["suite"], other_key, f["metadata"], _seal(f))


@FAST
@given(f=frames)
def test_every_truncation_fails(f: dict[str, Any]) -> None:
    data = _seal(f)
    for length in range(len(data)):
        with pytest.raises(DecryptError):
            decrypt(f["suite"], f["key"], f["metadata"], data[:length])


def test_wrong_key_message() -> None:
    data = encrypt(4, b"k" * 16, 1, 2, b"", b"frame")
    with pytest.raises(DecryptError) as excinfo:
        decrypt(4, b"K" * 16, b"", data)
    assert str(excinfo.value) == "SFrame authentication failed: wrong key or tampered frame"


def test_short_ciphertext_message() -> None:
    with pytest.raises(DecryptError) as excinfo:
        decrypt(1, b"k" * 16, b"", bytes([0x12]) + bytes(9))
    assert str(excinfo.value) == "SFrame ciphertext truncated: shorter than the 10-byte tag"


# --- Caller errors ------------------------------------------------------------


@pytest.mark.parametrize("suite", [0, 6, -1, 0xF000])
def test_unknown_cipher_suite(suite: int) -> None:
    message = f"unknown SFrame cipher suite {suite} (supported: 1, 2, 3, 4, 5)"
    with pytest.raises(ValueError) as excinfo:
        encrypt(suite, b"k" * 16, 1, 1, b"", b"")
    assert str(excinfo.value) == message
    with pytest.raises(ValueError, match="unknown SFrame cipher suite"):
        decrypt(suite, b"k" * 16, b"", bytes(32))
    with pytest.raises(ValueError, match="unknown SFrame cipher suite"):
        derive_key_salt(suite, b"k" * 16, 1)


@pytest.mark.parametrize("value", [-1, 2**64, 2**70])
def test_kid_and_ctr_out_of_range(value: int) -> None:
    with pytest.raises(ValueError) as excinfo:
        encode_header(value, 0)
    assert str(excinfo.value) == f"SFrame KID must be in [0, 2**64), got {value}"
    with pytest.raises(ValueError, match=r"SFrame CTR must be in \[0, 2\*\*64\)"):
        encode_header(0, value)
    with pytest.raises(ValueError, match="SFrame KID must be"):
        encrypt(1, b"k" * 16, value, 0, b"", b"")
    with pytest.raises(ValueError, match="SFrame CTR must be"):
        encrypt(4, b"k" * 16, 0, value, b"", b"")
    with pytest.raises(ValueError, match="SFrame KID must be"):
        derive_key_salt(5, b"k" * 16, value)
