"""Conclave's TURN credentials against a real coturn configured as docs/deployment.md says."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from conclave.config import MediaSettings, TurnSettings
from conclave.media.turn import ice_servers
from tests.support.coturn import ADDRESS, documented_config, running_coturn

SECRET = secrets.token_hex(32)


def test_the_documented_coturn_options_exist_in_this_coturn() -> None:
    if shutil.which("turnserver") is None:
        pytest.skip("coturn is not installed (apt install coturn)")
    usage = subprocess.run(["turnserver", "--help"], capture_output=True, text=True)
    known = set(re.findall(r"--([a-z0-9_-]+)", usage.stdout + usage.stderr))
    for line in documented_config():
        if line and not line.startswith("#"):
            assert line.split("=", 1)[0] in known, line


@pytest.fixture(scope="module")
def coturn(namespace: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    folder = tmp_path_factory.mktemp("coturn")
    with running_coturn(folder, SECRET):
        yield
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
