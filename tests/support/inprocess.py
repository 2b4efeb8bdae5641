"""A Conclave server inside the test process: uvicorn on its own thread and event loop,
with the same SFU (and managed Janus) as `conclave serve`. For tests that must act as the
server's operator could, e.g. ask Janus to copy a stream (`InProcessServer.run`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

import uvicorn

from conclave.config import Settings
from conclave.media.sfu import Sfu, build_sfu
from conclave.services import Services
from conclave.tls import ensure_tls, server_context
from conclave.web.app import create_app

START_SECONDS = 90.0  # deadlines, as for the server processes (tests/support/live.py)
CALL_SECONDS = 60.0
POLL_SECONDS = 0.05
T = TypeVar("T")


class InProcessServer:
    def __init__(self, settings: Settings, services: Services) -> None:
        self.settings = settings
        self.services = services
        self.base_url = settings.base_url
        self.sfu: Sfu = build_sfu(settings)
        self.loop = asyncio.new_event_loop()
        tls = ensure_tls(settings)
        config = uvicorn.Config(
            create_app(services, self.sfu),
            host="127.0.0.1",
            port=settings.server.port,
            ssl_context_factory=lambda _config, _default: server_context(tls),  # as serve()
            log_config=None,
            access_log=False,
            ws_max_size=256 * 1024,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.loop.run_until_complete(self.server.serve())

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        self._until(lambda: self.server.started, "the server did not start")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_SECONDS)

    def wait_for_sfu(self) -> None:
        self._until(lambda: self.sfu.available, "the SFU did not become ready")

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the server's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=CALL_SECONDS)

    def _until(self, condition: Any, message: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not condition():
            assert self.thread.is_alive(), "the server thread ended"
            assert time.monotonic() < deadline, message
            time.sleep(POLL_SECONDS)  # polling a condition with a deadline
