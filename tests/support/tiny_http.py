"""A tiny HTTP(S) server on 127.0.0.x serving fixed pages, recording every request.

For tests of the compliance scan against pages that Conclave itself would never serve
(a foreign script, a page without security headers), and to prove that the scan asks
nobody but the origin it was given.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Page:
    body: str
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class TinyServer:
    base_url: str
    requests: list[str]


@contextmanager
def tiny_server(
    pages: dict[str, Page],
    *,
    host: str = "127.0.0.1",
    tls: tuple[Path, Path] | None = None,
    weak_tls: bool = False,
) -> Iterator[TinyServer]:
    """Serve ``pages`` (path → page; anything else is 404) until the block ends.
    ``tls``: (certificate, key) files to serve HTTPS; ``weak_tls``: also TLS 1.0 and 1.1
    and CBC suites (what Conclave refuses), for tests that a client or check sees it."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            page = pages.get(self.path.split("?", 1)[0], Page("not found", "text/plain", 404))
            body = page.body.encode()
            self.send_response(page.status)
            self.send_header("content-type", page.content_type)
            self.send_header("content-length", str(len(body)))
            for name, value in page.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        if weak_tls:
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TinyServer(f"{scheme}://{host}:{server.server_address[1]}", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
