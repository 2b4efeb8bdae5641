"""`conclave serve` as a user runs it: TLS everywhere, a reused certificate, a plain-HTTP
port that only redirects, the first-admin link, and logs without secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.support.live import LiveServer
from tests.support.net import free_port
from tests.support.web import PASSWORD

FINGERPRINT = re.compile(r"SHA-256 fingerprint:\n  ([0-9A-F:]{95})")
SETUP = re.compile(r"https://127\.0\.0\.1:\d+/setup/([A-Za-z0-9_-]{43})")


def test_first_start_prints_fingerprint_and_setup_link_and_reuses_the_certificate(
    tmp_path: Path,
) -> None:
    server = LiveServer(tmp_path / "data", tmp_path)
    server.start()
    try:
        first = (tmp_path / "server-1.out").read_text()
        fingerprint = FINGERPRINT.search(first)
        setup = SETUP.search(first)
        assert fingerprint and setup, first
        page = httpx.get(f"{server.base_url}/setup/{setup.group(1)}", verify=False)
        assert page.status_code == 200
    finally:
        server.stop()
    server.start()
    try:
        second = (tmp_path / "server-2.out").read_text()
        again = FINGERPRINT.search(second)
        assert again and again.group(1) == fingerprint.group(1)
        assert SETUP.search(second).group(1) != setup.group(1)  # a fresh link; the old one is void
        assert (
            httpx.get(f"{server.base_url}/setup/{setup.group(1)}", verify=False).status_code == 404
        )
    finally:
        server.stop()


def test_plain_http_port_only_redirects(tmp_path: Path) -> None:
    redirect_port = free_port()
    server = LiveServer(
        tmp_path / "data", tmp_path, env={"CONCLAVE_SERVER__HTTP_REDIRECT_PORT": str(redirect_port)}
    )
    server.start()
    try:
        response = httpx.get(
            f"http://127.0.0.1:{redirect_port}/login?next=/x", follow_redirects=False
        )
        assert response.status_code == 308
        assert response.headers["location"] == f"{server.base_url}/login"
        assert response.content == b""
        posted = httpx.post(f"http://127.0.0.1:{redirect_port}/login", data={"password": "x"})
        assert posted.status_code == 308
    finally:
        server.stop()


def test_the_https_port_does_not_speak_plain_http(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", tmp_path)
    server.start()
    try:
        try:
            response = httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
        except httpx.HTTPError:
            return  # refused at the TLS layer: good
        assert response.status_code != 200
    finally:
        server.stop()


def test_logs_hold_no_passwords_tokens_or_full_addresses(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", tmp_path)
    server.start()
    try:
        setup_token = SETUP.search((tmp_path / "server-1.out").read_text()).group(1)
        with httpx.Client(base_url=server.base_url, verify=False) as client:
            page = client.get(f"/setup/{setup_token}").text
            csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page).group(1)
            created = client.post(
                f"/setup/{setup_token}",
                data={"csrf_token": csrf, "username": "root", "password": PASSWORD},
            )
            assert created.status_code == 303
            session = client.cookies.get("__Host-conclave-session")
            client.post(
                "/login",
                data={"csrf_token": csrf, "username": "root", "password": "wrong-" + PASSWORD},
            )
    finally:
        server.stop()
    err = "".join(p.read_text() for p in tmp_path.glob("server-*.err"))
    for secret in (PASSWORD, setup_token, session or "no-session"):
        assert secret not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    clients = {entry["client"] for entry in lines if "client" in entry}
    assert clients == {"127.0.0.0/24"}
    listening = [e for e in lines if "127.0.0.1" in json.dumps(e)]
    assert all(e["msg"].startswith("Uvicorn running on") for e in listening), listening
    assert '"route": "/setup/{token}"' in err
