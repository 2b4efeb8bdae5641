"""ASGI middleware: security headers on every response, size limits, request log."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conclave.config import Settings
from conclave.privacy.addresses import truncate_ip

log = logging.getLogger("conclave.http")

MAX_BODY_BYTES = 64 * 1024

CSP = "; ".join(
    [
        "default-src 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
PERMISSIONS = "camera=(self), microphone=(self), display-capture=(self), geolocation=(), usb=()"


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    hsts = f"max-age={settings.security.hsts_max_age}; includeSubDomains"
    return [
        (b"content-security-policy", CSP.encode()),
        (b"strict-transport-security", hsts.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", PERMISSIONS.encode()),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]


class SecurityHeaders:
    """Adds the security headers to every response: HTTP responses (errors included) and
    the WebSocket handshake's, accepted or refused.

    It must wrap the whole application, outside Starlette's ``ServerErrorMiddleware``
    (which answers an unhandled exception with a 500 from outside every middleware added
    with ``add_middleware``): ``web/app.py`` calls it first of all. A WebSocket refused
    before its handshake (``websocket.close`` before ``websocket.accept``) is answered
    with a 403 response of its own, with the headers, where the server supports the ASGI
    WebSocket denial response (uvicorn does); the same for a 500 when the application
    fails before the handshake."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)
        self._names = {name for name, _ in self.headers}

    def _with_headers(self, message: Message) -> Message:
        kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self._names]
        return {**message, "headers": kept + self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.app(scope, receive, self._http_send(send))
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _http_send(self, send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = self._with_headers(message)
            await send(message)

        return send_with_headers

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        denial = "websocket.http.response" in scope.get("extensions", {})
        answered = False  # the handshake's response has gone out

        async def send_with_headers(message: Message) -> None:
            nonlocal answered
            if answered:
                await send(message)
                return
            kind = message["type"]
            if kind in ("websocket.accept", "websocket.http.response.start"):
                answered = True
                await send(self._with_headers(message))
            elif kind == "websocket.close" and denial:
                answered = True
                await self._deny(send, 403)
            else:
                await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if denial and not answered:
                answered = True
                await self._deny(send, 500)
            raise

    async def _deny(self, send: Send, status: int) -> None:
        start = {"type": "websocket.http.response.start", "status": status, "headers": []}
        await send(self._with_headers(start))
        await send({"type": "websocket.http.response.body", "body": b""})


class BodyLimit:
    """Refuses request bodies over ``MAX_BODY_BYTES`` with 413 before reading them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers", [])).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                await _plain(send, 413, b"Request too large.")
                return
            receive = _counting(receive)
        await self.app(scope, receive, send)


def _counting(receive: Receive) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > MAX_BODY_BYTES:
            raise ValueError("request body over the limit")
        return message

    return limited


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestLog:
    """One line per request: route template (never the raw path, which may hold a
    token), status, duration and the truncated client address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None) or _static_or_unmatched(scope)
            client = scope.get("client")
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "client": truncate_ip(client[0] if client else None),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )


def _static_or_unmatched(scope: Scope) -> str:
    """Static asset paths hold no secrets; anything else unrouted is not logged as is."""
    path = str(scope.get("path", ""))
    return path if path.startswith("/static/") and len(path) < 200 else "unmatched"
