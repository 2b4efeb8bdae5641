"""What ``conclave serve`` writes to its log when people connect: client addresses only as
their network (/24), never with a port, and no meeting id or token from a request, also
from the web server's own loggers (uvicorn's WebSocket handshake lines, websockets'
debug output) and at log level debug (docs/configuration.md, ``[logging]``)."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conclave.compliance.checks.minimisation import log_addresses
from conclave.compliance.facts import gather
from conclave.compliance.log_probe import LogProbe, probe_server_log
from conclave.compliance.report import scan_installed_files
from conclave.config import load_settings
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
    except ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 4001, closed
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


def _server_log_check(probe: LogProbe) -> tuple[str, str]:
    settings = load_settings(None, data_dir=Path("unused"))
    facts = dataclasses.replace(
        gather(settings, now=datetime.now(UTC), scan=scan_installed_files()), log_probe=probe
    )
    result = log_addresses(facts)
    return result.status, "\n".join(item.render(str) for item in result.evidence)


def test_the_compliance_check_passes_on_the_real_server() -> None:
    probe = probe_server_log(load_settings(None, logging={"level": "debug"}))
    assert probe.error is None, probe.log
    assert probe.handshakes == (101, 101, 403, 403)  # two accepted, two refused
    status, evidence = _server_log_check(probe)
    assert status == "pass", evidence
    assert "/ws/meetings/{meeting_id}" in probe.log  # the handshakes were logged, reduced


def test_the_compliance_check_fails_on_a_server_whose_log_is_not_filtered() -> None:
    leaky = (sys.executable, str(Path(__file__).parents[1] / "support" / "leaky_serve.py"))
    probe = probe_server_log(load_settings(None), command=leaky)
    assert probe.error is None, probe.log
    status, evidence = _server_log_check(probe)
    assert status == "fail"
    assert f"{probe.client}:" in evidence and '"WebSocket /ws/meetings/' in evidence
