"""In-process WebSocket clients for signaling tests: one app, one event loop, many people."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from conclave.services import Services
from conclave.store.records import User
from conclave.web.app import create_app
from conclave.web.session import COOKIE

ORIGIN = "https://testserver"


class Peer:
    """One participant's socket, with helpers that read until a message type arrives."""

    def __init__(self, socket: WebSocketTestSession) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.socket.send_text(json.dumps(message))

    def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.socket.receive_text())
        self.seen.append(message)
        return message

    def until(
        self, kind: str, limit: int = 50, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """Read messages until one of ``kind`` (matching ``where``) arrives; bounded."""
        for _ in range(limit):
            message = self.receive()
            if message["type"] == kind and (where is None or where(message)):
                return message
        raise AssertionError(f"no {kind!r} among {limit} messages: {self.seen[-5:]}")

    def closed_with(self) -> int:
        """Read until the server closes; the close code."""
        from starlette.websockets import WebSocketDisconnect

        for _ in range(100):
            try:
                self.receive()
            except WebSocketDisconnect as closed:
                return closed.code
        raise AssertionError("the server did not close the connection")


class Meeting:
    """A running app; ``join`` connects a user's session to a meeting's WebSocket."""

    def __init__(self, services: Services, client: TestClient) -> None:
        self.services = services
        self.client = client

    @contextmanager
    def connect(
        self, user: User, meeting_id: str, *, origin: str = ORIGIN, token: str | None = None
    ) -> Iterator[Peer]:
        token = token or self.services.accounts.start_session(user)
        headers = {"cookie": f"{COOKIE}={token}", "origin": origin}
        with self.client.websocket_connect(f"/ws/meetings/{meeting_id}", headers=headers) as ws:
            yield Peer(ws)

    @contextmanager
    def join(
        self, user: User, meeting_id: str, *, token: str | None = None, **hello: Any
    ) -> Iterator[Peer]:
        """``token``: the session to connect with (a browser's cookie); default a new one."""
        with self.connect(user, meeting_id, token=token) as peer:
            peer.send({"type": "hello", "version": 1, **hello})
            yield peer


@contextmanager
def running(services: Services) -> Iterator[Meeting]:
    with TestClient(create_app(services), base_url=ORIGIN, follow_redirects=False) as client:
        yield Meeting(services, client)


def invited_guest(services: Services, host: User, meeting_id: str) -> User:
    """Gina, a guest with an account, invited to the meeting by e-mail."""
    link = services.invitations.invite_email(host, meeting_id, "gina@example.org")
    return services.invitations.accept(
        link.token, "Gina", "correct horse battery", "unknown"
    ).account
