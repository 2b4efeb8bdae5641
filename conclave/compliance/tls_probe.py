"""What a server's TLS port accepts: handshakes that offer old versions, CBC suites, and
what browsers use, each on a connection of its own (nothing is sent after the handshake).

The probe only negotiates; it does not verify the certificate (the ``certificate`` check
does). A client whose own OpenSSL cannot offer a version or suite at all says so
(``tested=False``) instead of counting as a refusal.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

HANDSHAKE_SECONDS = 5.0
# Under TLS 1.2: CBC suites with HMAC (SHA-2 and SHA-1), with and without ECDHE.
CBC_SUITES = (
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:"
    "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA256:"
    "AES128-SHA:AES256-SHA"
)
AEAD_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
# OpenSSL's reasons when the client could not even offer what it was told to.
_CLIENT_CANNOT = frozenset({"NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH"})


@dataclass(frozen=True, slots=True)
class Offer:
    name: str  # "TLS 1.0/1.1", "TLS 1.2, CBC suites only", ...
    minimum: ssl.TLSVersion
    maximum: ssl.TLSVersion
    ciphers: str | None
    must_connect: bool  # True: what browsers use; False: what the server must refuse


OFFERS = (
    Offer(
        "TLS 1.0/1.1", ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0", False
    ),
    Offer(
        "TLS 1.2, CBC suites only",
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_2,
        CBC_SUITES,
        False,
    ),
    Offer(
        "TLS 1.2, AEAD suites", ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, AEAD_SUITES, True
    ),
    Offer("TLS 1.3", ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3, None, True),
)


@dataclass(frozen=True, slots=True)
class TlsAttempt:
    offer: str
    must_connect: bool
    connected: bool
    tested: bool = True  # False: this client could not offer it, or no connection
    negotiated: str | None = None  # "TLSv1.3 TLS_AES_256_GCM_SHA384"
    error: str | None = None


def probe_tls(host: str, port: int, sni_hostname: str | None) -> tuple[TlsAttempt, ...]:
    """One handshake per :data:`OFFERS` with ``host``:``port``."""
    return tuple(_attempt(host, port, sni_hostname, offer) for offer in OFFERS)


def _client(offer: Offer) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # negotiation only; the certificate check is apart
    context.minimum_version = offer.minimum
    context.maximum_version = offer.maximum
    if offer.ciphers is not None:
        context.set_ciphers(offer.ciphers)
    return context


def _attempt(host: str, port: int, sni_hostname: str | None, offer: Offer) -> TlsAttempt:
    try:
        context = _client(offer)
    except (ssl.SSLError, ValueError) as error:
        return TlsAttempt(offer.name, offer.must_connect, False, tested=False, error=str(error))
    try:
        with (
            socket.create_connection((host, port), timeout=HANDSHAKE_SECONDS) as raw,
            context.wrap_socket(raw, server_hostname=sni_hostname or host) as tls,
        ):
            cipher = tls.cipher()
            negotiated = f"{tls.version()} {cipher[0] if cipher else '?'}"
            return TlsAttempt(offer.name, offer.must_connect, True, negotiated=negotiated)
    except ssl.SSLError as error:
        tested = error.reason not in _CLIENT_CANNOT
        reason = error.reason or type(error).__name__
        return TlsAttempt(offer.name, offer.must_connect, False, tested=tested, error=reason)
    except OSError as error:
        return TlsAttempt(
            offer.name, offer.must_connect, False, tested=False, error=type(error).__name__
        )
