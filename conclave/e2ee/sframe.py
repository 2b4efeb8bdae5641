"""SFrame (RFC 9605): end-to-end encryption of individual media frames.

An SFrame ciphertext is a compact header carrying the key id (KID) and frame
counter (CTR), followed by the AEAD encryption of one frame.  For each KID a key
and a salt are derived from a base key with HKDF (section 4.4.2); the nonce is
the salt XOR the counter, and the AAD is the encoded header plus whatever
metadata the application wants authenticated (section 4.4.3).

Suites 1-3 use the AES-CTR + HMAC construction of section 4.5.1, whose short
truncated tags suit small audio frames; suites 4-5 use AES-GCM.

Caller mistakes (unknown cipher suite, KID or CTR outside [0, 2**64)) raise
``ValueError``.  Anything wrong with a received frame (malformed or truncated
header, wrong key, tampering) raises ``DecryptError``, and the frame must be
dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

__all__ = [
    "DecryptError",
    "decode_header",
    "decrypt",
    "derive_key_salt",
    "encode_header",
    "encrypt",
]

_U64_LIMIT = 2**64
_EXTENDED = 0b1000  # X / Y flag within a config-byte nibble
_AUTH_FAILED = "SFrame authentication failed: wrong key or tampered frame"


class DecryptError(Exception):
    """A received SFrame ciphertext is malformed or fails authentication."""


@dataclass(frozen=True)
class _CipherSuite:
    """The constants of RFC 9605 table 1; ``nka`` is None for the AES-GCM suites."""

    name: str
    nh: int
    nka: int | None
    nk: int
    nn: int
    nt: int
    hash: hashes.HashAlgorithm


_SUITES: dict[int, _CipherSuite] = {
    1: _CipherSuite("AES_128_CTR_HMAC_SHA256_80", 32, 16, 48, 12, 10, hashes.SHA256()),
    2: _CipherSuite("AES_128_CTR_HMAC_SHA256_64", 32, 16, 48, 12, 8, hashes.SHA256()),
    3: _CipherSuite("AES_128_CTR_HMAC_SHA256_32", 32, 16, 48, 12, 4, hashes.SHA256()),
    4: _CipherSuite("AES_128_GCM_SHA256_128", 32, None, 16, 12, 16, hashes.SHA256()),
    5: _CipherSuite("AES_256_GCM_SHA512_128", 64, None, 32, 12, 16, hashes.SHA512()),
}


def _suite(cipher_suite: int) -> _CipherSuite:
    """Look up a cipher suite by its IANA id."""
    try:
        return _SUITES[cipher_suite]
    except KeyError:
        known = ", ".join(str(i) for i in sorted(_SUITES))
        raise ValueError(
            f"unknown SFrame cipher suite {cipher_suite!r} (supported: {known})"
        ) from None


def _check_u64(name: str, value: int) -> None:
    """KID and CTR are unsigned 64-bit integers."""
    if not 0 <= value < _U64_LIMIT:
        raise ValueError(f"SFrame {name} must be in [0, 2**64), got {value}")


# --- Header (section 4.3) ---------------------------------------------------


def _encode_field(value: int) -> tuple[int, bytes]:
    """Return the config-byte nibble and the trailing bytes for a KID or CTR."""
    if value < _EXTENDED:
        return value, b""
    length = (value.bit_length() + 7) // 8
    return _EXTENDED | (length - 1), value.to_bytes(length, "big")


def encode_header(kid: int, ctr: int) -> bytes:
    """Encode KID and CTR as an SFrame header (config byte, then KID, then CTR)."""
    _check_u64("KID", kid)
    _check_u64("CTR", ctr)
    kid_nibble, kid_bytes = _encode_field(kid)
    ctr_nibble, ctr_bytes = _encode_field(ctr)
    return bytes([kid_nibble << 4 | ctr_nibble]) + kid_bytes + ctr_bytes


def _decode_field(nibble: int, data: bytes, offset: int, name: str) -> tuple[int, int]:
    """Read a KID or CTR described by ``nibble``; return it and the offset after it."""
    if not nibble & _EXTENDED:
        return nibble, offset
    length = (nibble & 0b111) + 1
    end = offset + length
    if len(data) < end:
        raise DecryptError(f"SFrame header truncated: {name} needs {length} bytes")
    value = int.from_bytes(data[offset:end], "big")
    if value < _EXTENDED or data[offset] == 0:
        raise DecryptError(f"SFrame header malformed: {name} is not minimally encoded")
    return value, end


def decode_header(data: bytes) -> tuple[int, int, int]:
    """Parse the SFrame header at the start of ``data``; return (kid, ctr, header length).

    Only the minimal encoding that RFC 9605 mandates is accepted, so
    ``encode_header(kid, ctr) == data[:length]`` always holds.
    """
    if not data:
        raise DecryptError("SFrame header truncated: no config byte")
    kid, offset = _decode_field(data[0] >> 4, data, 1, "KID")
    ctr, offset = _decode_field(data[0] & 0x0F, data, offset, "CTR")
    return kid, ctr, offset


# --- Key derivation (section 4.4.2) -----------------------------------------


def _extract(suite: _CipherSuite, base_key: bytes) -> bytes:
    """HKDF-Extract with an empty salt, i.e. HMAC keyed with the empty string."""
    mac = hmac.HMAC(b"", suite.hash)
    mac.update(base_key)
    return mac.finalize()


def _label(kind: bytes, kid: int, cipher_suite: int) -> bytes:
    """The HKDF info: "SFrame 1.0 Secret <kind> " + KID (8 bytes) + suite id (2 bytes)."""
    prefix = b"SFrame 1.0 Secret " + kind + b" "
    return prefix + kid.to_bytes(8, "big") + cipher_suite.to_bytes(2, "big")


def _expand(suite: _CipherSuite, secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand with the suite's hash."""
    return HKDFExpand(suite.hash, length, label).derive(secret)


def derive_key_salt(cipher_suite: int, base_key: bytes, kid: int) -> tuple[bytes, bytes]:
    """Derive (sframe_key, sframe_salt) for ``kid`` from ``base_key``."""
    suite = _suite(cipher_suite)
    _check_u64("KID", kid)
    secret = _extract(suite, base_key)
    key = _expand(suite, secret, _label(b"key", kid, cipher_suite), suite.nk)
    salt = _expand(suite, secret, _label(b"salt", kid, cipher_suite), suite.nn)
    return key, salt


def _nonce(salt: bytes, ctr: int) -> bytes:
    """XOR the counter, as a big-endian integer, into the salt."""
    return (int.from_bytes(salt, "big") ^ ctr).to_bytes(len(salt), "big")


# --- AES-CTR + HMAC AEAD (section 4.5.1) ------------------------------------


def _split_key(suite: _CipherSuite, key: bytes) -> tuple[bytes, bytes]:
    """Split the AEAD key into (enc_key, auth_key): the first Nka bytes, then the last Nh."""
    return key[: -suite.nh], key[-suite.nh :]


def _aes_ctr(enc_key: bytes, nonce: bytes, data: bytes) -> bytes:
    """AES-CTR with the nonce followed by a 32-bit block counter starting at zero."""
    cipher = Cipher(algorithms.AES(enc_key), modes.CTR(nonce + bytes(4))).encryptor()
    return cipher.update(data) + cipher.finalize()


def _tag(suite: _CipherSuite, auth_key: bytes, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
    """HMAC over lengths, nonce, AAD and ciphertext, truncated to Nt bytes."""
    mac = hmac.HMAC(auth_key, suite.hash)
    for length in (len(aad), len(ct), suite.nt):
        mac.update(length.to_bytes(8, "big"))
    for part in (nonce, aad, ct):
        mac.update(part)
    return mac.finalize()[: suite.nt]


def _ctr_hmac_seal(suite: _CipherSuite, key: bytes, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
    """Encrypt-then-MAC: AES-CTR ciphertext followed by the truncated HMAC tag."""
    enc_key, auth_key = _split_key(suite, key)
    ct = _aes_ctr(enc_key, nonce, pt)
    return ct + _tag(suite, auth_key, nonce, aad, ct)


def _ctr_hmac_open(suite: _CipherSuite, key: bytes, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
    """Check the tag in constant time, then AES-CTR decrypt."""
    enc_key, auth_key = _split_key(suite, key)
    body, tag = ct[: -suite.nt], ct[-suite.nt :]
    if not constant_time.bytes_eq(tag, _tag(suite, auth_key, nonce, aad, body)):
        raise DecryptError(_AUTH_FAILED)
    return _aes_ctr(enc_key, nonce, body)


# --- SFrame encryption and decryption (sections 4.4.3, 4.4.4) ---------------


def _seal(suite: _CipherSuite, key: bytes, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
    """AEAD.Encrypt for the suite: ciphertext followed by the tag."""
    if suite.nka is None:
        return AESGCM(key).encrypt(nonce, pt, aad)
    return _ctr_hmac_seal(suite, key, nonce, aad, pt)


def _open(suite: _CipherSuite, key: bytes, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
    """AEAD.Decrypt for the suite; every failure becomes DecryptError."""
    if len(ct) < suite.nt:
        raise DecryptError(f"SFrame ciphertext truncated: shorter than the {suite.nt}-byte tag")
    if suite.nka is not None:
        return _ctr_hmac_open(suite, key, nonce, aad, ct)
    try:
        return AESGCM(key).decrypt(nonce, ct, aad)
    except InvalidTag:
        raise DecryptError(_AUTH_FAILED) from None


def encrypt(
    cipher_suite: int, base_key: bytes, kid: int, ctr: int, metadata: bytes, plaintext: bytes
) -> bytes:
    """Encrypt one frame; return header + ciphertext + tag.

    Each (base_key, KID, CTR) triple must be used for one frame only.
    """
    suite = _suite(cipher_suite)
    header = encode_header(kid, ctr)
    key, salt = derive_key_salt(cipher_suite, base_key, kid)
    return header + _seal(suite, key, _nonce(salt, ctr), header + metadata, plaintext)


def decrypt(cipher_suite: int, base_key: bytes, metadata: bytes, data: bytes) -> bytes:
    """Authenticate and decrypt one SFrame ciphertext; raise DecryptError if it is bad."""
    suite = _suite(cipher_suite)
    kid, ctr, length = decode_header(data)
    key, salt = derive_key_salt(cipher_suite, base_key, kid)
    aad = data[:length] + metadata
    return _open(suite, key, _nonce(salt, ctr), aad, data[length:])
