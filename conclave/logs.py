"""Structured logging that never carries secrets or full client addresses.

Callers pass facts as ``extra={...}``; only keys listed in ``SAFE_FIELDS`` are written,
so a password, token, chat text or key handed to a logger by mistake is dropped.

Dependencies log too, through the same handler, and :class:`PrivateLog` filters what
they say before it is written: uvicorn's WebSocket handshake line
(``'127.0.0.1:49356 - "WebSocket /ws/meetings/…?…" [accepted]'``) becomes
``websocket handshake`` with the route and the client's network; every address left in
any line is cut to its network, without the port; and a dependency's debug output
(websockets logs every header, cookies included, and every frame) is not written at all.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from conclave.privacy.addresses import scrub_addresses, truncate_ip

SAFE_FIELDS = frozenset(
    {
        "event",
        "reason",
        "method",
        "route",
        "status",
        "client",
        "user_id",
        "meeting",
        "duration_ms",
        "transaction",
        "fingerprint",
        "url",
        "count",
        "code",
        "participants",
    }
)


# uvicorn's line for a WebSocket handshake: client "host:port", the path with its query
# string, and "[accepted]" or the refusing status.
_HANDSHAKE = re.compile(r'^(?P<client>\S+) - "WebSocket (?P<path>[^"]*)" (?P<outcome>\S+)$')
_MEETING_SOCKET = re.compile(r"^/ws/meetings/[^/?]+$")


class PrivateLog(logging.Filter):
    """On the handler: what any logger says passes only in a form without full addresses,
    ports, meeting ids or tokens (the module's docstring says how)."""

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == "conclave" or record.name.startswith("conclave.")
        if not own and record.levelno < logging.INFO:
            return False
        message = record.getMessage()
        handshake = None if own else _HANDSHAKE.match(message)
        if handshake is not None:
            path = handshake.group("path").split("?", 1)[0]
            record.msg, record.args = "websocket handshake", ()
            record.route = (
                "/ws/meetings/{meeting_id}" if _MEETING_SOCKET.match(path) else "unmatched"
            )
            record.status = handshake.group("outcome").strip("[]")
            record.client = truncate_ip(handshake.group("client").rsplit(":", 1)[0])
            return True
        cleaned = scrub_addresses(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k in SAFE_FIELDS})
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        facts = " ".join(f"{k}={v}" for k, v in vars(record).items() if k in SAFE_FIELDS)
        error = ""
        if record.exc_info and record.exc_info[0] is not None:
            error = f" error={record.exc_info[0].__name__}"
        return f"{record.levelname.lower():7} {record.name}: {record.getMessage()} {facts}{error}"


def configure(level: str = "info", fmt: str = "json") -> None:
    """Route Conclave's and uvicorn's logs through one safe formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(PrivateLog())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log writes full client addresses: Conclave logs requests itself.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request (Janus's API, long polls included) with its URL: noise that
    # names session and handle ids. Its warnings and errors still come through.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
