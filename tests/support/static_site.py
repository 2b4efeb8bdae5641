"""Conclave's static directory on 127.0.0.1 (a secure context), for browser tests of the
ES modules alone: `.js` as text/javascript, Conclave's CSP, extra fixed pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

from playwright.sync_api import Browser, Page

STATIC = Path(__file__).resolve().parents[2] / "conclave" / "web" / "static"

Pages = dict[str, tuple[str, bytes]]  # path -> (content type, body)
BLANK: Pages = {"/": ("text/html", b"<!doctype html><title>Conclave module tests</title>")}


class _Handler(SimpleHTTPRequestHandler):
    pages: ClassVar[Pages] = {}

    def guess_type(self, path: str | PathLike[str]) -> str:
        return "text/javascript" if str(path).endswith(".js") else super().guess_type(path)

    def do_GET(self) -> None:
        if self.path not in self.pages:
            super().do_GET()
            return
        content_type, body = self.pages[self.path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_site(pages: Pages) -> Iterator[str]:
    """Serve the static directory and ``pages`` until the block ends; yields the origin."""
    handler = type("Handler", (_Handler,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=STATIC))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def fresh_page(browser: Browser, origin: str, setup: str | None = None) -> Iterator[Page]:
    """A page in a new browser context (a fresh profile) on ``origin``'s ``/``, with the
    script ``setup`` evaluated there; the context is closed after the block."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{origin}/")
        if setup is not None:
            page.evaluate(setup)
        yield page
    finally:
        context.close()
