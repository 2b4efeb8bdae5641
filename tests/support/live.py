"""A real `conclave serve` process on 127.0.0.1, restartable on the same port and data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.net import free_port

START_SECONDS = 90.0  # a deadline for a start that takes ~1.3 s on a quiet machine
STOP_SECONDS = 10.0
POLL_SECONDS = 0.05


class LiveServer:
    def __init__(self, data_dir: Path, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CONCLAVE_SERVER__HOSTNAMES": '["127.0.0.1"]',
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        out = (self.log_dir / f"server-{self.starts}.out").open("wb")
        err = (self.log_dir / f"server-{self.starts}.err").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conclave",
                "--data-dir",
                str(self.data_dir),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=out,
            stderr=err,
            env=self.env,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log_text()}"
                )
            try:
                if (
                    httpx.get(f"{self.base_url}/healthz", verify=False, timeout=1).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(POLL_SECONDS)  # polling the readiness condition with a deadline
        raise RuntimeError("server did not become ready")

    def wait_for_sfu(self) -> None:
        """Until the server's SFU (a managed Janus) is ready, or fail at the deadline."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            health = httpx.get(f"{self.base_url}/healthz", verify=False, timeout=5).json()
            if health["sfu"] == "ready":
                return
            time.sleep(POLL_SECONDS)  # polling the readiness condition with a deadline
        raise RuntimeError(f"the SFU did not become ready: {self.log_text()}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.log_dir.glob("server-*.*"))
        )
