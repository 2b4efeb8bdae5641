"""The log of a real server: what ``conclave serve`` writes when people connect.

:func:`probe_server_log` starts a throw-away ``conclave serve`` in a subprocess (a
temporary data directory, a free port on 127.0.0.1, no Janus, nothing of the
installation's configuration but its ``[logging]`` settings), makes requests and meeting
WebSocket handshakes (accepted ones and refused ones) from a loopback address of its own,
with a meeting id and tokens of its own in the paths and cookies, stops the server and
returns what it wrote to stderr. The ``log-addresses`` check then looks for that address,
those ports, ids and tokens, or any other full address, in the log.

The probe talks to nothing but its own child process on the loopback interface.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conclave.config import Settings

START_SECONDS = 60.0
STOP_SECONDS = 15.0
REQUEST_SECONDS = 10.0
POLL_SECONDS = 0.05  # between readiness checks, always under START_SECONDS
SERVE = (sys.executable, "-m", "conclave")
SESSION_COOKIE = "__Host-conclave-session"
FOREIGN_ORIGIN = "https://compliance-probe.invalid"


@dataclass(frozen=True, slots=True)
class LogProbe:
    log: str  # what the server wrote to stderr
    client: str  # the address the probe connected from
    secrets: tuple[str, ...]  # meeting id, tokens and client ports it sent: never to appear
    exchanges: int = 0  # requests and handshakes made
    handshakes: tuple[int, ...] = ()  # the HTTP status of each WebSocket handshake
    error: str | None = None


def probe_server_log(settings: Settings, *, command: Sequence[str] = SERVE) -> LogProbe:
    """Start ``command`` (``conclave`` by default; its options are added) with the
    logging settings of ``settings``, connect, stop it and return its log."""
    meeting = secrets.token_urlsafe(12)
    invitation = secrets.token_urlsafe(32)
    session = secrets.token_urlsafe(32)
    client = _client_address()
    sent = (meeting, invitation, session)
    with tempfile.TemporaryDirectory(prefix="conclave-log-probe-") as folder:
        tmp = Path(folder)
        try:
            process, port = _start(settings, command, tmp)
        except (OSError, RuntimeError) as error:
            return LogProbe(_read(tmp / "stderr"), client, sent, error=str(error))
        ports: list[int] = []
        statuses: list[int] = []
        try:
            probe = _Probe(client, port, tmp / "data" / "tls" / "cert.pem")
            for path in ("/login", f"/m/{meeting}/join", f"/invite/{invitation}", "/nope"):
                ports.append(probe.http(f"GET {path} HTTP/1.1\r\n"))
            ports.append(probe.http("POST /login HTTP/1.1\r\n", body=b"username=probe"))
            socket_path = f"/ws/meetings/{meeting}?resume={invitation}"
            own = f"https://127.0.0.1:{port}"
            for origin, cookie in (
                (own, session),
                (own, None),
                (FOREIGN_ORIGIN, session),
                (None, None),
            ):
                status, used = probe.handshake(socket_path, origin, cookie)
                statuses.append(status)
                ports.append(used)
        except (OSError, ValueError) as error:
            _stop(process)
            return LogProbe(_read(tmp / "stderr"), client, sent, len(ports), error=str(error))
        _stop(process)
        log = _read(tmp / "stderr")
    marks = tuple(f"{client}:{used}" for used in ports) + tuple(f":{used}" for used in ports)
    return LogProbe(log, client, sent + marks, len(ports), tuple(statuses))


def _client_address() -> str:
    """A loopback address nothing else uses (all of 127.0.0.0/8 is local on Linux), so
    that any trace of it in the log comes from the probe; 127.0.0.1 where that fails."""
    candidate = "127.{}.{}.{}".format(*(secrets.randbelow(254) + 1 for _ in range(3)))
    with socket.socket() as sock:
        try:
            sock.bind((candidate, 0))
        except OSError:
            return "127.0.0.1"
    return candidate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(
    settings: Settings, command: Sequence[str], tmp: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """The server started and answering ``GET /healthz`` (any status)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCLAVE_")}
    env |= {
        "CONCLAVE_LOGGING__LEVEL": settings.logging.level,
        "CONCLAVE_LOGGING__FORMAT": settings.logging.format,
        "CONCLAVE_SERVER__HOSTNAMES": '["127.0.0.1"]',
        "CONCLAVE_MEDIA__JANUS__MANAGED": "off",
    }
    port = _free_port()
    argv = [*command, "--data-dir", str(tmp / "data"), "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port)]
    with (tmp / "stdout").open("wb") as out, (tmp / "stderr").open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - our own command, no shell
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=tmp
        )
    certificate = tmp / "data" / "tls" / "cert.pem"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test server exited with status {process.returncode}")
        if certificate.is_file():
            with contextlib.suppress(OSError):
                _Probe("127.0.0.1", port, certificate).http("GET /healthz HTTP/1.1\r\n")
                return process, port
        time.sleep(POLL_SECONDS)  # waiting for the server to answer, under a deadline
    _stop(process)
    raise RuntimeError(f"the test server did not answer within {START_SECONDS:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


class _Probe:
    """HTTP/1.1 exchanges by hand over TLS, from ``client``, one connection each."""

    def __init__(self, client: str, port: int, certificate: Path) -> None:
        self.client, self.port = client, port
        self.context = ssl.create_default_context(cafile=str(certificate))

    def _connect(self) -> tuple[ssl.SSLSocket, int]:
        raw = socket.create_connection(
            ("127.0.0.1", self.port), timeout=REQUEST_SECONDS, source_address=(self.client, 0)
        )
        used: int = raw.getsockname()[1]
        return self.context.wrap_socket(raw, server_hostname="127.0.0.1"), used

    def _headers(self) -> str:
        return f"Host: 127.0.0.1:{self.port}\r\nUser-Agent: conclave-compliance\r\n"

    def http(self, request_line: str, body: bytes = b"") -> int:
        tls, used = self._connect()
        with tls:
            head = request_line + self._headers() + "Connection: close\r\n"
            if body:
                head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n\r\n"
            tls.sendall(head.encode() + body)
            while tls.recv(65536):  # until the server closes
                pass
        return used

    def handshake(self, path: str, origin: str | None, cookie: str | None) -> tuple[int, int]:
        """A meeting WebSocket handshake; (HTTP status of the answer, client port)."""
        tls, used = self._connect()
        with tls:
            key = base64.b64encode(secrets.token_bytes(16)).decode()
            head = f"GET {path} HTTP/1.1\r\n" + self._headers()
            head += "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            head += f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            if origin is not None:
                head += f"Origin: {origin}\r\n"
            if cookie is not None:
                head += f"Cookie: {SESSION_COOKIE}={cookie}\r\n"
            tls.sendall((head + "\r\n").encode())
            answer = b""
            while b"\r\n" not in answer and len(answer) < 65536:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                answer += chunk
        status_line = answer.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            raise ValueError(f"no HTTP answer to the WebSocket handshake: {answer[:80]!r}")
        return int(status_line[1]), used
