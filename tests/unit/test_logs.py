"""The log filter on what dependencies say: handshake lines reduced, addresses cut to their
network without the port, dependencies' debug output dropped (conclave/logs.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from conclave.logs import JsonFormatter, PrivateLog
from conclave.privacy.addresses import scrub_addresses


@pytest.fixture
def written() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PrivateLog())
    yield out, handler
    handler.close()


def _emit(handler: logging.Handler, name: str, level: int, msg: str, *args: object) -> None:
    handler.handle(logging.LogRecord(name, level, __file__, 1, msg, args, None))


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_uvicorns_handshake_lines_keep_only_route_outcome_and_network(
    written: tuple[io.StringIO, logging.Handler],
) -> None:
    out, handler = written
    line = '%s - "WebSocket %s" [accepted]'
    _emit(
        handler, "uvicorn.error", logging.INFO, line, "203.0.113.57:49356", "/ws/meetings/Ab3?x=1"
    )
    _emit(
        handler,
        "uvicorn.error",
        logging.INFO,
        '%s - "WebSocket %s" 403',
        "2001:db8:1:2::9:443",
        "/ws/x",
    )
    first, second = _lines(out)
    assert first["msg"] == "websocket handshake" and first["status"] == "accepted"
    assert first["route"] == "/ws/meetings/{meeting_id}" and first["client"] == "203.0.113.0/24"
    assert second["status"] == "403" and second["route"] == "unmatched"
    assert second["client"] == "2001:db8:1::/48"


def test_addresses_in_any_line_are_cut_and_dependency_debug_is_dropped(
    written: tuple[io.StringIO, logging.Handler],
) -> None:
    out, handler = written
    _emit(handler, "asyncio", logging.WARNING, "lost %s", "198.51.100.23:40000")
    _emit(handler, "uvicorn.error", logging.DEBUG, "< cookie: %s", "__Host-conclave-session=x")
    _emit(handler, "conclave.janus", logging.DEBUG, "janus: via [2001:db8::7]:5000")
    assert [line["msg"] for line in _lines(out)] == [
        "lost 198.51.100.0/24",
        "janus: via 2001:db8::/48",
    ]


def test_scrub_leaves_times_fingerprints_and_networks_alone() -> None:
    for text in ("at 09:30:15.123", "AB:CD:EF:01:23:45:67:89:10", "10.0.0.0/24", "2001:db8::/48"):
        assert scrub_addresses(text) == text
    assert scrub_addresses("::ffff:192.0.2.7 and 192.0.2.8:80") == "192.0.2.0/24 and 192.0.2.0/24"
