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
    """Adds the security headers to every HTTP response, errors included."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.headers}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
