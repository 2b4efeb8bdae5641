"""A real managed Janus, started by the tests inside the test network namespace
(`scripts/netns-run.sh`): its API on 127.0.0.1, its media on the veth interface v0."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conclave.config import JanusSettings
from conclave.media.janus_managed import ManagedJanus

RTP_PORTS = (40000, 40199)


@pytest.fixture(scope="session")
def namespace() -> None:
    if os.environ.get("CONCLAVE_NETNS") != "1":
        pytest.skip(
            "Janus tests run inside the test network namespace: "
            "scripts/netns-run.sh .venv/bin/python -m pytest tests/janus"
        )
    addresses = subprocess.run(["ip", "-brief", "addr"], capture_output=True, text=True).stdout
    if "10.99.0.1" not in addresses:
        pytest.skip("the test network namespace has no veth pair (v0 with 10.99.0.1)")
    if shutil.which("janus") is None:
        pytest.skip("the janus binary is not installed (apt install janus)")


@pytest.fixture(scope="module")
def runner(namespace: None) -> Iterator[asyncio.Runner]:
    """One event loop for the module, so the managed Janus and its supervisor outlive
    a single test."""
    with asyncio.Runner() as loop:
        yield loop


def janus_settings(**options: float) -> JanusSettings:
    """The test Janus: media on v0; restarts after 0.1 s, at most 1 s (or ``options``)."""
    return JanusSettings(
        ice_enforce_list=["v0"],
        rtp_port_min=RTP_PORTS[0],
        rtp_port_max=RTP_PORTS[1],
        **{"restart_delay_min": 0.1, "restart_delay_max": 1.0, **options},
    )


@pytest.fixture(scope="module")
def managed(
    runner: asyncio.Runner, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ManagedJanus]:
    data: Path = tmp_path_factory.mktemp("janus-data")
    janus = ManagedJanus(janus_settings(), data)
    runner.run(janus.start())
    yield janus
    runner.run(janus.stop())
