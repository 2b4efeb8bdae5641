"""TLS material: the configured certificate, or a self-signed one kept in the data dir."""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conclave.config import Settings

VALIDITY = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)

# What Conclave's HTTPS port speaks (docs/deployment.md, TLS), set here rather than left to
# OpenSSL's or Python's defaults, which change between versions and distributions:
# - TLS 1.2 and 1.3 only (BSI TR-02102-2, Mozilla's "intermediate" profile);
# - under TLS 1.2, ECDHE key exchange (forward secrecy) with an AEAD cipher only: no CBC
#   suite (Lucky 13, padding oracles), no RSA key exchange, no finite-field DHE;
# - TLS 1.3's suites are OpenSSL's own (AES-GCM and ChaCha20-Poly1305, all AEAD); Python's
#   ssl module cannot change them, and the compliance check lists what is in force.
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    cert_file: Path
    key_file: Path
    fingerprint: str  # SHA-256, colon-separated hex
    self_signed: bool
    not_after: datetime


def ensure_tls(settings: Settings) -> TlsMaterial:
    """Use the configured files, or create/reuse a self-signed certificate."""
    if settings.tls.cert_file and settings.tls.key_file:
        cert = _load(settings.tls.cert_file)
        return _material(settings.tls.cert_file, settings.tls.key_file, cert, self_signed=False)
    cert_file = settings.data_dir / "tls" / "cert.pem"
    key_file = settings.data_dir / "tls" / "key.pem"
    names = _subject_names(settings.server.hostnames)
    if cert_file.is_file() and key_file.is_file():
        cert = _load(cert_file)
        if _still_fits(cert, names):
            return _material(cert_file, key_file, cert, self_signed=True)
    cert = _generate(cert_file, key_file, names)
    return _material(cert_file, key_file, cert, self_signed=True)


def policy_context() -> ssl.SSLContext:
    """A server context with Conclave's TLS versions and ciphers, without a certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


def server_context(material: TlsMaterial) -> ssl.SSLContext:
    """The context the HTTPS port serves with: :func:`policy_context` and the certificate."""
    context = policy_context()
    context.load_cert_chain(material.cert_file, material.key_file)
    return context


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _material(
    cert_file: Path, key_file: Path, cert: x509.Certificate, *, self_signed: bool
) -> TlsMaterial:
    return TlsMaterial(
        cert_file, key_file, fingerprint(cert), self_signed, cert.not_valid_after_utc
    )


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _subject_names(hostnames: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in [*hostnames, "localhost", "127.0.0.1", "::1"]:
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            entry = x509.DNSName(host)
        if entry not in names:
            names.append(entry)
    return names


def _still_fits(cert: x509.Certificate, names: list[x509.GeneralName]) -> bool:
    try:
        current = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    fresh = cert.not_valid_after_utc - datetime.now(UTC) > RENEW_BEFORE
    return fresh and set(current) == set(names)


def _generate(cert_file: Path, key_file: Path, names: list[x509.GeneralName]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Conclave (self-signed)")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(key_file, key_bytes)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, replacing any older one atomically."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)
