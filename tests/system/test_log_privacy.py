"""What ``conclave serve`` writes to its log when people connect: client addresses only as
their network (/24), never with a port, and no meeting id or token from a request, also
from the web server's own loggers (uvicorn's WebSocket handshake lines, websockets'
debug output) and at log level debug (docs/configuration.md, ``[logging]``)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.server import RunningServer, running_server

CLIENT = "127.58.91.203"  # a loopback address of the test's own, seen nowhere else
MEETING = "mtg4Ks9QpL2vXe7"
RESUME = "rsm-" + "Zq8" * 12
SESSION = "ses" + "Yw5" * 13
CONNECT_SECONDS = 10.0


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _socket(server: RunningServer, origin: str | None, cookie: bool) -> int:
    """One meeting WebSocket handshake from ``CLIENT``; the client's port."""
    raw = socket.create_connection(
        (server.host, server.port), timeout=CONNECT_SECONDS, source_address=(CLIENT, 0)
    )
    port: int = raw.getsockname()[1]
    url = f"wss://{server.host}:{server.port}/ws/meetings/{MEETING}?resume={RESUME}"
    headers = {"cookie": f"__Host-conclave-session={SESSION}"} if cookie else {}
    try:
        with connect(
            url,
            sock=raw,
            ssl=_tls(),
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=CONNECT_SECONDS,
        ) as ws:
            ws.recv(timeout=CONNECT_SECONDS)  # the server closes: no such session
    except InvalidStatus as refused:
        assert refused.response.status_code == 403
    except Exception as closed:  # noqa: BLE001 - the close the server sends
        assert "4001" in str(closed), closed
    return port


@pytest.mark.parametrize("level", ["info", "debug"])
def test_the_log_names_no_client_address_meeting_or_token(tmp_path: Path, level: str) -> None:
    ports: list[int] = []
    with running_server(tmp_path, CONCLAVE_LOGGING__LEVEL=level) as server:
        transport = httpx.HTTPTransport(local_address=CLIENT, verify=False)
        with httpx.Client(transport=transport, base_url=server.base_url, timeout=30) as http:
            assert http.get("/login").status_code == 200
            assert http.get(f"/m/{MEETING}/join").status_code in (303, 401)
            http.get(f"/invite/{RESUME}")
        ports.append(_socket(server, server.origin, cookie=True))  # accepted, then closed
        ports.append(_socket(server, server.origin, cookie=False))
        ports.append(_socket(server, "https://evil.example", cookie=True))  # refused: 403
        ports.append(_socket(server, None, cookie=False))  # refused: no Origin
    log = server.log_text()
    for secret in (CLIENT, MEETING, RESUME, SESSION, *(f":{port}" for port in ports)):
        assert secret not in log, f"{secret!r} in the log:\n{log}"
    assert "127.58.91.0/24" in log  # the network is what the log keeps
    assert "/ws/meetings/{meeting_id}" in log  # and the handshakes, with the route only
