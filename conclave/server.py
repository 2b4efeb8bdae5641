"""``conclave serve``: TLS on every port, migrations, the first-admin link."""

from __future__ import annotations

import asyncio
import ctypes
import errno
import gc
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from conclave import logs
from conclave.config import Settings, warnings_for
from conclave.media.janus_managed import JanusNotFound
from conclave.media.sfu import build_sfu
from conclave.services import build_services
from conclave.signaling.websocket_protocol import SignalingWebSocketProtocol
from conclave.tls import ensure_tls, server_context
from conclave.web.app import create_app

log = logging.getLogger("conclave.server")

# The meeting WebSocket (docs/protocol.md, Transport; docs/performance.md, bench.signaling):
# - uvicorn's protocol on websockets' sans-I/O implementation: no task of its own per
#   connection (the legacy one runs several), with a lighter inbox (websocket_protocol.py).
# - No permessage-deflate. Compressing secrets (resume tokens, TURN credentials) in one
#   stream with text others choose (display names, chat) lets an observer of the
#   ciphertext's length guess the secrets (CRIME/BREACH); signaling messages are small, and
#   the compressor's state cost about 50 kB per connection.
# - No WebSocket-level pings: the protocol's own ping every 10 s keeps the connection alive
#   and the hub closes a client that sent nothing for 25 s.
SIGNALING_WEBSOCKET: dict[str, Any] = {
    "ws": SignalingWebSocketProtocol,
    "ws_per_message_deflate": False,
    "ws_ping_interval": None,
    "ws_max_size": 256 * 1024,
}

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (see _fixed_mmap_threshold)
MMAP_THRESHOLD_BYTES = 128 * 1024


def serve(settings: Settings) -> None:
    logs.configure(settings.logging.level, settings.logging.format)
    # The ports first: a port in use (another Conclave running) stops the start before it
    # announces anything or starts a managed Janus over the running one's configuration.
    main_socket = _listen(settings.server.host, settings.server.port)
    redirect_port = settings.server.http_redirect_port
    sockets = [main_socket] + (
        [_listen(settings.server.host, redirect_port)] if redirect_port else []
    )
    services = build_services(settings)
    tls = ensure_tls(settings)
    try:
        sfu = build_sfu(settings)
    except JanusNotFound as error:
        raise SystemExit(f"conclave: {error}") from None
    app = create_app(services, sfu)
    context = server_context(tls)
    _announce(settings, tls.fingerprint, tls.self_signed, services.accounts.issue_setup_token())
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.server.host,
                port=settings.server.port,
                # uvicorn builds an SSLContext of its own from ssl_certfile & co., with
                # OpenSSL's default versions and ciphers (uvicorn >= 0.48). Its public
                # ssl_context_factory hook (uvicorn >= 0.47) makes it serve Conclave's
                # instead: TLS 1.2+ and AEAD ciphers only (tls.py, docs/deployment.md).
                ssl_context_factory=lambda _config, _uvicorns: context,
                log_config=None,
                access_log=False,
                server_header=False,
                proxy_headers=False,
                **SIGNALING_WEBSOCKET,
            )
        )
    ]
    if settings.server.http_redirect_port:
        servers.append(
            uvicorn.Server(
                uvicorn.Config(
                    HttpsRedirect(settings.base_url),
                    host=settings.server.host,
                    port=settings.server.http_redirect_port,
                    log_config=None,
                    access_log=False,
                    server_header=False,
                )
            )
        )
    # Everything made so far lives as long as the server: keep it out of the collector's
    # full passes, which otherwise pause joins for 100 ms and more (docs/performance.md).
    gc.collect()
    gc.freeze()
    _fixed_mmap_threshold()
    try:
        # uvloop (with uvicorn[standard]) when present: a connection costs about a third of
        # the memory of asyncio's default loop (docs/performance.md, bench.signaling).
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_run(servers, sockets))
    finally:
        services.db.dispose()
        for sock in sockets:
            sock.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``, or a plain message and exit status 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        dual = family == socket.AF_INET6 and host == "::"  # IPv4 too, as uvicorn binds it
        return socket.create_server((host, port), family=family, backlog=2048, dualstack_ipv6=dual)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"conclave: port {port} is in use (is Conclave already running?); "
                "choose another with --port or CONCLAVE_SERVER__PORT"
            ) from None
        raise SystemExit(f"conclave: cannot listen on {host}:{port}: {error.strerror}") from None


def _fixed_mmap_threshold() -> None:
    """Large blocks from their own mappings, always (glibc only; elsewhere nothing).

    uvloop gives every TLS connection a 256 KiB read buffer, of which a few hundred bytes
    are used. glibc maps blocks that large on their own at first, but after the first is
    freed it raises its threshold and carves the next ones out of the heap, over memory that
    short-lived allocations (TLS handshakes, messages) have already touched: about 16 kB of
    each idle buffer then stays resident (docs/performance.md, finding 1). Fixing the
    threshold at glibc's own starting value keeps those buffers as untouched mappings.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):  # not glibc
        pass


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _run(servers: list[uvicorn.Server], sockets: list[socket.socket]) -> None:
    await asyncio.gather(
        *(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True))
    )


def _announce(settings: Settings, fingerprint: str, self_signed: bool, setup: str | None) -> None:
    out = sys.stdout
    print(f"Conclave listening on {settings.base_url}", file=out)
    kind = "self-signed certificate" if self_signed else "certificate"
    print(f"TLS {kind}, SHA-256 fingerprint:\n  {fingerprint}", file=out)
    if self_signed:
        print("  (compare it with what your browser shows before you trust it)", file=out)
    for note in warnings_for(settings):
        print(f"Note: {note}", file=out)
    if setup:
        minutes = settings.security.setup_link_minutes
        print(
            f"\nNo users yet. Create the first administrator (link works once, "
            f"valid {minutes} minutes):\n  {settings.base_url}/setup/{setup}\n",
            file=out,
        )
    out.flush()
    log.info("tls ready", extra={"fingerprint": fingerprint})


class HttpsRedirect:
    """The optional plain-HTTP port: it only ever redirects to HTTPS."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope.get("path", "/")
        if not path.startswith("/") or path.startswith("//"):
            path = "/"
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [
                    (b"location", (self.base_url + path).encode("utf-8", "replace")),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
