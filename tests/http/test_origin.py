"""The Origin check of the meeting WebSocket and of every form: with ``server.public_url``
configured, the origin people use is that URL's, whatever Host header a request names;
without it, the request's own Host (docs/protocol.md, Connecting)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import profiles
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.web.app import create_app
from conclave.web.session import COOKIE
from tests.conftest import FakeClock
from tests.support.web import PASSWORD, Browser, make_user

PUBLIC = "https://meet.example.org"
FORGED = "https://evil.example"


@pytest.fixture
def public(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    settings = load_settings(None, data_dir=tmp_path / "data", server={"public_url": PUBLIC + "/"})
    built = build_services(settings, clock, argon2=profiles.CHEAPEST)
    yield built
    built.db.dispose()


def _socket_close(services: Services, base_url: str, origin: str) -> int:
    """Connect as a signed-in host to their meeting through ``base_url`` (its Host header)
    with ``origin``; the close code the server ends with (403 when it refuses the
    handshake itself)."""
    host = make_user(services, "hannah")
    meeting = services.meetings.create(host, MeetingDraft("Stand-up", None, None, "off", None))
    token = services.accounts.start_session(host)
    headers = {"cookie": f"{COOKIE}={token}", "origin": origin}
    url = base_url.replace("https://", "wss://", 1) + f"/ws/meetings/{meeting.id}"
    with TestClient(create_app(services), base_url=base_url) as client:
        try:
            with client.websocket_connect(url, headers=headers) as ws:
                ws.send_json({"type": "hello", "version": 1})
                for _ in range(20):
                    if ws.receive_json()["type"] == "welcome":
                        return 0
                raise AssertionError("no welcome")
        except WebSocketDenialResponse as denied:  # refused before the handshake
            return denied.status_code
        except WebSocketDisconnect as closed:
            return closed.code


def test_socket_with_a_forged_host_is_refused_when_a_public_url_is_set(
    public: Services,
) -> None:
    # Host and Origin agree, but neither is the configured public URL.
    assert _socket_close(public, FORGED, FORGED) == 403  # refused before the handshake


def test_socket_from_the_public_url_is_admitted_whatever_the_host(public: Services) -> None:
    # A reverse proxy may pass its own upstream name as Host; the Origin is what counts.
    assert _socket_close(public, "https://conclave.internal:8443", PUBLIC) == 0


def test_socket_without_public_url_compares_with_the_host(services: Services) -> None:
    assert _socket_close(services, FORGED, FORGED) == 0


def _sign_in(services: Services, base_url: str, origin: str) -> int:
    browser = Browser(services)
    browser.client.base_url = base_url  # its Host header
    token = browser.token()
    response = browser.client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        headers={"origin": origin},
    )
    return response.status_code


def test_form_with_a_forged_host_is_refused_when_a_public_url_is_set(public: Services) -> None:
    make_user(public, "alice")
    assert _sign_in(public, FORGED, FORGED) == 403


def test_form_from_the_public_url_is_accepted(public: Services) -> None:
    make_user(public, "alice")
    assert _sign_in(public, "https://conclave.internal:8443", PUBLIC) == 303
    assert _sign_in(public, "https://conclave.internal:8443", PUBLIC.upper()) == 303


def test_form_without_public_url_compares_with_the_host(services: Services) -> None:
    make_user(services, "alice")
    assert _sign_in(services, FORGED, FORGED) == 303
