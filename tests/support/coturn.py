"""A real coturn in the test network namespace, configured as docs/deployment.md says.

The coturn configuration block is read from the deployment guide itself (minus TLS, plus
the namespace's address), so the documented configuration is the tested one.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
ADDRESS = "10.99.0.1"  # the namespace's veth address (scripts/netns-run.sh)
PORT = 3478
START_SECONDS = 15.0


def documented_config() -> list[str]:
    text = GUIDE.read_text()
    block = re.search(r"```ini\n# conclave-coturn-config\n(.*?)```", text, re.DOTALL)
    assert block, "docs/deployment.md lost its coturn configuration block"
    return block.group(1).splitlines()


def stun_answers(timeout: float) -> bool:
    request = bytes.fromhex("000100002112a442") + secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout)
        probe.sendto(request, (ADDRESS, PORT))
        try:
            reply, _ = probe.recvfrom(2048)
        except OSError:
            return False
    return reply[:2] == b"\x01\x01" and reply[8:20] == request[8:20]


@contextmanager
def running_coturn(folder: Path, secret: str) -> Iterator[None]:
    """coturn with the documented configuration and ``secret``, until the block ends."""
    if shutil.which("turnserver") is None or shutil.which("turnutils_uclient") is None:
        pytest.skip("coturn is not installed (apt install coturn)")
    lines = [
        line
        for line in documented_config()
        if not line.startswith(("cert=", "pkey=", "tls-listening-port=", "no-tlsv1"))
    ]
    lines = [
        f"static-auth-secret={secret}" if line.startswith("static-auth-secret=") else line
        for line in lines
    ]
    lines += [
        f"listening-ip={ADDRESS}",
        f"relay-ip={ADDRESS}",
        f"allowed-peer-ip={ADDRESS}",  # the clients relay to each other on the veth
        "no-tls",
        "no-dtls",
    ]
    config = folder / "turnserver.conf"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        ["turnserver", "-c", str(config), "--pidfile", str(folder / "turn.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=folder,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not stun_answers(0.2):
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
