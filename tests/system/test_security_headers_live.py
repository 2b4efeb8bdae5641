"""Through a real `conclave serve` (uvicorn over TLS, Conclave's own WebSocket protocol):
a refused WebSocket handshake is a 403 with the security headers, as every HTTP
response is (issue 13, item 8)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.live import LiveServer


def test_a_refused_handshake_through_uvicorn_carries_the_security_headers(
    tmp_path: Path,
) -> None:
    server = LiveServer(tmp_path / "data", tmp_path, {"CONCLAVE_MEDIA__JANUS__MANAGED": "off"})
    server.start()
    try:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the server's self-signed certificate
        url = server.base_url.replace("https://", "wss://")
        for path, origin in (
            ("/ws/meetings/AAAAAAAAAAAAAAAAAAAAAAAA", "https://evil.example"),
            ("/ws/no/such/socket", server.base_url),
        ):
            with pytest.raises(InvalidStatus) as refused:
                connect(f"{url}{path}", ssl=context, origin=origin, open_timeout=10, proxy=None)  # type: ignore[arg-type]
            response = refused.value.response
            assert response.status_code == 403
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert response.headers["strict-transport-security"].startswith("max-age=")
            assert response.headers["x-content-type-options"] == "nosniff"
    finally:
        server.stop()
