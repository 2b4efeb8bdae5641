"""Conclave's TURN credentials against a real coturn configured as docs/deployment.md says.

The coturn configuration block is read from the deployment guide itself (minus TLS, plus
the namespace's address), so the documented configuration is the tested one.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conclave.config import MediaSettings, TurnSettings
from conclave.media.turn import ice_servers

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
ADDRESS = "10.99.0.1"
SECRET = secrets.token_hex(32)


def documented_config() -> list[str]:
    text = GUIDE.read_text()
    block = re.search(r"```ini\n# conclave-coturn-config\n(.*?)```", text, re.DOTALL)
    assert block, "docs/deployment.md lost its coturn configuration block"
    return block.group(1).splitlines()


def test_the_documented_coturn_options_exist_in_this_coturn() -> None:
    if shutil.which("turnserver") is None:
        pytest.skip("coturn is not installed (apt install coturn)")
    usage = subprocess.run(["turnserver", "--help"], capture_output=True, text=True)
    known = set(re.findall(r"--([a-z0-9_-]+)", usage.stdout + usage.stderr))
    for line in documented_config():
        if line and not line.startswith("#"):
            assert line.split("=", 1)[0] in known, line


def _stun_answers(timeout: float) -> bool:
    request = bytes.fromhex("000100002112a442") + secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout)
        probe.sendto(request, (ADDRESS, 3478))
        try:
            reply, _ = probe.recvfrom(2048)
        except OSError:
            return False
    return reply[:2] == b"\x01\x01" and reply[8:20] == request[8:20]


@pytest.fixture(scope="module")
def coturn(namespace: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if shutil.which("turnserver") is None or shutil.which("turnutils_uclient") is None:
        pytest.skip("coturn is not installed (apt install coturn)")
    lines = [
        line
        for line in documented_config()
        if not line.startswith(("cert=", "pkey=", "tls-listening-port=", "no-tlsv1"))
    ]
    lines = [
        f"static-auth-secret={SECRET}" if line.startswith("static-auth-secret=") else line
        for line in lines
    ]
    lines += [
        f"listening-ip={ADDRESS}",
        f"relay-ip={ADDRESS}",
        f"allowed-peer-ip={ADDRESS}",  # the clients relay to each other on the veth
        "no-tls",
        "no-dtls",
    ]
    folder = tmp_path_factory.mktemp("coturn")
    config = folder / "turnserver.conf"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        ["turnserver", "-c", str(config), "--pidfile", str(folder / "turn.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=folder,
    )
    try:
        deadline = time.monotonic() + 15
        while not _stun_answers(0.2):
            assert process.poll() is None, "turnserver exited"
            assert time.monotonic() < deadline, "turnserver did not answer STUN"
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert sorted(p.name for p in folder.iterdir()) == ["turn.pid", "turnserver.conf"]


def _relay(now: datetime, secret: str = SECRET) -> tuple[int, str]:
    media = MediaSettings(
        turn=TurnSettings(urls=[f"turn:{ADDRESS}:3478"], secret=secret)  # type: ignore[arg-type]
    )
    (server,) = ice_servers(media, "c0ffee1234", now=now)
    assert server.username is not None and server.credential is not None
    client = ["turnutils_uclient", "-y", "-n", "2"]
    allocate = subprocess.run(
        [*client, "-u", server.username, "-w", server.credential, ADDRESS],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return allocate.returncode, allocate.stdout + allocate.stderr


def test_coturn_relays_with_fresh_credentials_only(coturn: None) -> None:
    now = datetime.now(UTC)
    status, output = _relay(now)
    assert status == 0, output
    assert "Total lost packets 0" in output  # relayed both ways
    for refused in (now - timedelta(hours=2), now):  # expired an hour ago; wrong secret
        secret = SECRET if refused != now else "not-the-shared-secret"
        status, output = _relay(refused, secret)
        assert status != 0 and "Cannot complete Allocation" in output, output


def test_nothing_is_logged_to_a_file(coturn: None) -> None:
    assert not [name for name in os.listdir("/dev") if name.startswith("null_")]
