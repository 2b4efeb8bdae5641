"""Structured logging that never carries secrets or full client addresses.

Callers pass facts as ``extra={...}``; only keys listed in ``SAFE_FIELDS`` are written,
so a password, token, chat text or key handed to a logger by mistake is dropped.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

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
