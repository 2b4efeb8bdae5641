"""Helpers for in-process HTTP tests: a browser-like client with CSRF handling."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from conclave.services import Services
from conclave.store.records import User
from conclave.web.app import create_app

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


class Browser:
    """One person's browser: its own cookies, forms submitted with their CSRF token.
    ``address``: the client address the server sees (a loopback address in tests, or
    Starlette's placeholder ``testclient``, which counts as the network ``unknown``)."""

    def __init__(
        self, services: Services, address: str = "testclient", client: TestClient | None = None
    ) -> None:
        """``client``: a running app's client, to share its hub (meeting WebSockets)."""
        self.client = client or TestClient(
            create_app(services),
            base_url="https://testserver",
            follow_redirects=False,
            client=(address, 50000),
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def token(self, page: str = "/login") -> str:
        match = CSRF.search(self.client.get(page, follow_redirects=True).text)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(
        self, path: str, data: dict[str, str] | None = None, page: str = "/login"
    ) -> httpx.Response:
        form = {"csrf_token": self.token(page), **(data or {})}
        return self.client.post(path, data=form)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/login", {"username": username, "password": password})


def make_user(services: Services, username: str, role: str = "member") -> User:
    if role == "guest":
        username = f"{username}@guests.example"
    return services.accounts.create_user(username, username.split("@")[0].title(), PASSWORD, role)  # type: ignore[arg-type]


def signed_in(services: Services, user: User, address: str = "testclient") -> Browser:
    browser = Browser(services, address)
    response = browser.login(user.username)
    assert response.status_code == 303, response.text
    return browser
