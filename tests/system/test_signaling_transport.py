"""The meeting WebSocket through a real `conclave serve` (uvicorn over TLS): what the
in-process tests, which talk to the app directly, cannot see."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import profiles
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.web.session import COOKIE
from tests.support.live import LiveServer
from tests.support.web import make_user

TIMEOUT = 10.0  # seconds for any one message


@dataclass
class Site:
    server: LiveServer
    services: Services
    meeting_id: str
    token: str  # the host's
    guest_token: str  # an invited member's

    def connect(self, meeting_id: str | None = None, **options: Any) -> ClientConnection:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the server's self-signed certificate
        url = self.server.base_url.replace("https://", "wss://")
        return connect(
            f"{url}/ws/meetings/{meeting_id or self.meeting_id}",
            ssl=context,
            origin=options.pop("origin", self.server.base_url),
            additional_headers={"Cookie": f"{COOKIE}={options.pop('token', self.token)}"},
            compression="deflate",  # offered, as browsers do
            open_timeout=TIMEOUT,
            proxy=None,
            **options,
        )


def _site(tmp: Path) -> Iterator[Site]:
    data = tmp / "data"
    services = build_services(load_settings(None, data_dir=data), argon2=profiles.CHEAPEST)
    host = make_user(services, "hannah")
    ivan = make_user(services, "ivan")
    meeting = services.meetings.create(host, MeetingDraft("Stand-up", None, None, "off", None))
    services.invitations.invite_member(host, meeting.id, "ivan")
    tokens = [services.accounts.start_session(user) for user in (host, ivan)]
    server = LiveServer(data, tmp, {"CONCLAVE_MEDIA__JANUS__MANAGED": "off"})
    server.start()
    try:
        yield Site(server, services, meeting.id, *tokens)
    finally:
        server.stop()
        services.db.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _site(tmp_path_factory.mktemp("signaling"))


def _until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    for _ in range(20):
        message: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r}")


def _close_code(ws: ClientConnection) -> int | None:
    for _ in range(20):
        try:
            ws.recv(timeout=TIMEOUT)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the server did not close the connection")


def test_signaling_is_not_compressed_and_works(site: Site) -> None:
    """No permessage-deflate, even when the browser offers it: compressing secrets (resume
    tokens, TURN credentials) with text others choose would leak them by length."""
    with site.connect() as ws:
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        ws.send(json.dumps({"type": "hello", "version": 1}))
        assert _until(ws, "session")["e2ee_required"] is True
        welcome = _until(ws, "welcome")
        assert welcome["host"] is True and welcome["resume"]
        ws.send(json.dumps({"type": "pong"}))
        ws.send(json.dumps({"type": "chat", "text": "hello"}))
        assert _until(ws, "chat")["text"] == "hello"
        ws.send(json.dumps({"type": "leave"}))
        assert _close_code(ws) == 1000


def test_refusals_keep_their_close_codes(site: Site) -> None:
    with site.connect(token="x" * 43) as ws:
        assert _close_code(ws) == 4001
    with site.connect(meeting_id="A" * 24) as ws:
        ws.send(json.dumps({"type": "hello", "version": 1}))
        assert _until(ws, "error")["code"] == "not_found"
        assert _close_code(ws) == 4004
    with site.connect() as ws:
        ws.send(b"\x00binary")  # instead of hello
        assert _until(ws, "error")["code"] == "not_json"
        assert _close_code(ws) == 4000
    with site.connect() as ws:
        ws.send(json.dumps({"type": "hello", "version": 1}))
        _until(ws, "welcome")
        ws.send(b"\x00binary")
        assert _until(ws, "error")["code"] == "not_json"
        ws.send("{")
        assert _until(ws, "error")["code"] == "not_json"
    with pytest.raises(InvalidStatus) as refused:
        site.connect(origin="https://evil.example")
    assert refused.value.response.status_code == 403  # the handshake itself is refused
    for elsewhere in (f"{site.meeting_id}/x", f"{site.meeting_id}/"):  # no other WebSocket
        with pytest.raises(InvalidStatus) as refused:
            site.connect(meeting_id=elsewhere)
        assert refused.value.response.status_code == 403


def test_a_participant_whose_connection_drops_leaves_the_room(site: Site) -> None:
    with site.connect() as host:
        host.send(json.dumps({"type": "hello", "version": 1}))
        _until(host, "welcome")
        with site.connect(token=site.guest_token) as guest:
            guest.send(json.dumps({"type": "hello", "version": 1}))
            pid = _until(guest, "welcome")["you"]
            assert _until(host, "participant_joined")["participant"]["pid"] == pid
            guest.socket.shutdown(socket.SHUT_RDWR)  # no close frame: the network went away
            left = _until(host, "participant_left")
            assert left["pid"] == pid and left["reason"] == "disconnected"


def test_connections_are_told_when_the_server_stops(tmp_path: Path) -> None:
    for site in _site(tmp_path):
        with site.connect() as ws:
            ws.send(json.dumps({"type": "hello", "version": 1}))
            _until(ws, "welcome")
            site.server.stop()
            assert _close_code(ws) == 1012  # "service restart": the client reconnects
