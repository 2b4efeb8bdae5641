"""A real ``conclave serve`` subprocess on 127.0.0.1, for tests that drive it from outside.

    with running_server(tmp_path) as server:
        page.goto(server.setup_url)

The server gets a fresh data directory and a free port; its base URL is
``https://127.0.0.1:PORT`` (``CONCLAVE_SERVER__HOSTNAMES``). Extra keyword arguments are
extra environment variables, e.g. ``running_server(tmp_path, CONCLAVE_SMTP__HOST="127.0.0.1")``.
Start-up waits for conditions with deadlines, never for a fixed time: the first-admin link
on stdout, then ``GET /healthz`` answering 200, all while checking that the process lives.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.net import free_port

# Generous: on a loaded test machine importing the application alone can take seconds.
START_SECONDS = 90.0
STOP_SECONDS = 15.0
POLL_SECONDS = 0.05  # interval between checks of a condition, always under a deadline
HEALTH_REQUEST_SECONDS = 5.0

SETUP_ANNOUNCEMENT = "No users yet. Create the first administrator"
SETUP_URL = re.compile(r"^\s+(https://\S+/setup/[A-Za-z0-9_-]+)\s*$", re.MULTILINE)


class ServerFailed(RuntimeError):
    """The server exited early or did not become ready in time; the message has its logs."""


class RunningServer:
    """One ``conclave serve`` process. Use :func:`running_server` to get a started one."""

    def __init__(
        self,
        tmp_path: Path,
        env: dict[str, str] | None = None,
        *,
        data_dir: Path | None = None,
        expect_setup_link: bool = True,
    ) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.base_url = f"https://{self.host}:{self.port}"
        self.data_dir = data_dir or tmp_path / f"data-{self.port}"
        self.stdout_path = tmp_path / f"server-{self.port}.out"
        self.stderr_path = tmp_path / f"server-{self.port}.err"
        self.expect_setup_link = expect_setup_link
        self.setup_url: str | None = None
        self.env = {
            **os.environ,
            "CONCLAVE_SERVER__HOSTNAMES": f'["{self.host}"]',
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def origin(self) -> str:
        """scheme://host:port, as a browser's ``location.origin`` spells it."""
        return self.base_url

    def start(self) -> None:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conclave",
                    "--data-dir",
                    str(self.data_dir),
                    "serve",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                ],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=self.env,
            )
        try:
            deadline = time.monotonic() + START_SECONDS
            if self.expect_setup_link:
                self.setup_url = self._wait_for_setup_url(deadline)
            self._wait_until_healthy(deadline)
        except BaseException:
            self.stop()
            raise

    def _alive(self, waiting_for: str) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise ServerFailed(
                f"the server exited with {self.process.returncode} while waiting for "
                f"{waiting_for}\n--- stdout\n{self.stdout_text()}\n--- stderr\n{self.log_text()}"
            )

    def _timed_out(self, waiting_for: str) -> ServerFailed:
        return ServerFailed(
            f"no {waiting_for} within {START_SECONDS} s\n"
            f"--- stdout\n{self.stdout_text()}\n--- stderr\n{self.log_text()}"
        )

    def _wait_for_setup_url(self, deadline: float) -> str:
        while time.monotonic() < deadline:
            self._alive("the setup link")
            text = self.stdout_text()
            _, announced, after = text.partition(SETUP_ANNOUNCEMENT)
            if announced:
                match = SETUP_URL.search(after)
                if match:
                    return match.group(1)
            time.sleep(POLL_SECONDS)  # polling the stdout file for a line, under a deadline
        raise self._timed_out("setup link on stdout")

    def _wait_until_healthy(self, deadline: float) -> None:
        # trust_env=False: no proxy from the environment, the request goes to 127.0.0.1.
        with httpx.Client(verify=False, trust_env=False, timeout=HEALTH_REQUEST_SECONDS) as http:
            while time.monotonic() < deadline:
                self._alive("GET /healthz")
                try:
                    if http.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(POLL_SECONDS)  # polling readiness, under a deadline
        raise self._timed_out("200 from GET /healthz")

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def log_text(self) -> str:
        """The server's stderr (its log) so far."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL if it has not exited."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running_server(
    tmp_path: Path,
    *,
    data_dir: Path | None = None,
    expect_setup_link: bool = True,
    **env: str,
) -> Iterator[RunningServer]:
    """A started server; stopped on exit. ``env``: extra environment variables.

    ``expect_setup_link=False`` for a data directory that has users already (the server
    prints no first-admin link then); ``setup_url`` is None in that case.
    """
    server = RunningServer(tmp_path, env, data_dir=data_dir, expect_setup_link=expect_setup_link)
    server.start()
    try:
        yield server
    finally:
        server.stop()
