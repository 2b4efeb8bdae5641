"""The TLS that ``conclave serve`` speaks, seen from clients: TLS 1.2 and 1.3 only, and
under TLS 1.2 only ECDHE with an AEAD cipher (AES-GCM, ChaCha20-Poly1305), whatever
OpenSSL's defaults would allow (docs/deployment.md, TLS)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from conclave.config import load_settings
from conclave.tls import ensure_tls
from tests.support.server import RunningServer, running_server
from tests.support.tiny_http import tiny_server

# Suites a TLS 1.2 client may offer: CBC with HMAC (SHA-1 and SHA-2), ECDHE and RSA key
# exchange; Python's own server defaults accept the SHA-2 ones.
CBC_ONLY = (
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:"
    "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA256:AES128-SHA"
)
AEAD_TLS12 = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"
HANDSHAKE_SECONDS = 10.0
# OpenSSL's reasons when a client cannot even offer what it was told to.
CLIENT_CANNOT = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("tls")) as started:
        yield started


def _client(
    minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, ciphers: str | None = None
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the protocol is tested here, not the certificate
    context.minimum_version, context.maximum_version = minimum, maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


OLD = _client(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0")


def _handshake(server: RunningServer, context: ssl.SSLContext) -> tuple[str, str]:
    """(version, cipher) negotiated; raises ssl.SSLError when the server refuses."""
    with (
        socket.create_connection((server.host, server.port), timeout=HANDSHAKE_SECONDS) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


def test_tls_1_1_and_1_0_are_refused(server: RunningServer) -> None:
    with pytest.raises(ssl.SSLError) as refused:
        _handshake(server, OLD)
    # The server's answer (an alert, or hanging up), not this client failing to offer it
    # (test_this_client_can_offer_tls_1_1).
    assert refused.value.reason not in CLIENT_CANNOT


def test_tls_1_2_with_only_cbc_suites_is_refused(server: RunningServer) -> None:
    cbc = _client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, CBC_ONLY)
    with pytest.raises(ssl.SSLError) as refused:
        _handshake(server, cbc)
    assert refused.value.reason not in CLIENT_CANNOT


def test_tls_1_2_with_an_aead_suite_connects(server: RunningServer) -> None:
    aead = _client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, AEAD_TLS12)
    assert _handshake(server, aead)[0] == "TLSv1.2"
    both = _client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, CBC_ONLY + ":" + AEAD_TLS12)
    version, cipher = _handshake(server, both)  # the server picks the AEAD suite
    assert version == "TLSv1.2" and cipher in AEAD_TLS12.split(":")


def test_tls_1_3_connects(server: RunningServer) -> None:
    version, cipher = _handshake(server, _client(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3))
    assert version == "TLSv1.3"
    assert cipher.startswith(("TLS_AES_", "TLS_CHACHA20_POLY1305"))


def test_this_client_can_offer_tls_1_1(tmp_path: Path) -> None:
    # The TLS 1.1 test above only means something when this machine's client can offer
    # TLS 1.1 at all: a server that takes it must be seen to take it.
    made = ensure_tls(load_settings(None, data_dir=tmp_path))
    with tiny_server({}, tls=(made.cert_file, made.key_file), weak_tls=True) as old:
        host, port = old.base_url.removeprefix("https://").rsplit(":", 1)
        with (
            socket.create_connection((host, int(port)), timeout=HANDSHAKE_SECONDS) as raw,
            OLD.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.version() in ("TLSv1", "TLSv1.1")
