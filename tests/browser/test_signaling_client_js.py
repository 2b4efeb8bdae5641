"""The signaling client, conclave/web/static/js/room/protocol.js, in Debian's Chromium.

The room page opens its socket while the pre-join screen is shown and says hello only on
the click: such a socket says nothing before, what the server tells it before hello (a
refusal, the ten-minute timeout) reaches nobody, the first hello carries the fields given
to `connect` and later ones (reconnecting) do not, and leaving while a socket is still
connecting sends no hello. A scripted stand-in for WebSocket plays the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.static_site import fresh_page

pytestmark = pytest.mark.browser

WAIT_MS = 10_000  # a deadline for conditions, not a sleep

# window.t: the sockets the client made (each records what was sent and whether it was
# closed), the events the client dispatched, and the client itself.
SETUP = """async () => {
  const { SignalingClient } = await import("/js/room/protocol.js");
  class Scripted extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closed = false;
      window.t.sockets.push(this);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.closed = true; this.readyState = 3; }
    open() { this.readyState = 1; this.dispatchEvent(new Event("open")); }
    say(message) {
      this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
    }
    drop(code) {
      this.readyState = 3;
      const event = new Event("close");
      event.code = code;
      this.dispatchEvent(event);
    }
  }
  window.t = { sockets: [], events: [] };
  const client = new SignalingClient("wss://example.invalid/ws", { WebSocketClass: Scripted });
  client.addEventListener("message", (e) => window.t.events.push(["message", e.detail.type]));
  client.addEventListener("state", (e) => window.t.events.push(["state", e.detail.state]));
  window.t.client = client;
}"""

# Waits (a deadline, not a sleep) until the client made `count` sockets; how many it made.
UNTIL_SOCKETS = """async ([count, ms]) => {
  const deadline = performance.now() + ms;
  while (window.t.sockets.length < count && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return window.t.sockets.length;
}"""

FIRST = {"media": {"mic": True, "cam": False}, "offer": {"type": "offer", "sdp": "v=0"}}


@pytest.fixture
def page(browser: Browser, static_origin: str) -> Iterator[Page]:
    with fresh_page(browser, static_origin, SETUP) as opened:
        yield opened


def _sockets(page: Page) -> list[dict[str, Any]]:
    sockets: list[dict[str, Any]] = page.evaluate(
        "window.t.sockets.map((s) => ({sent: s.sent, closed: s.closed}))"
    )
    return sockets


def _events(page: Page) -> list[list[str]]:
    events: list[list[str]] = page.evaluate("window.t.events")
    return events


def test_a_preconnected_socket_says_hello_only_on_connect(page: Page) -> None:
    page.evaluate("window.t.client.preconnect(); window.t.sockets[0].open()")
    assert _sockets(page) == [{"sent": [], "closed": False}]
    assert _events(page) == []
    page.evaluate("(first) => window.t.client.connect(first)", FIRST)
    [socket] = _sockets(page)
    assert socket["sent"] == [{"type": "hello", "version": 1, **FIRST}]
    page.evaluate("window.t.sockets[0].say({type: 'welcome', you: 'p1', resume: 'tok-1'})")
    assert _events(page) == [["state", "connecting"], ["state", "open"], ["message", "welcome"]]

    # The connection drops: the next socket says hello with the resume token only.
    page.evaluate("window.t.sockets[0].drop(1006)")
    assert page.evaluate(UNTIL_SOCKETS, [2, WAIT_MS]) == 2  # after the retry delay
    page.evaluate("window.t.sockets[1].open()")
    assert _sockets(page)[1]["sent"] == [{"type": "hello", "version": 1, "resume": "tok-1"}]


def test_what_a_socket_hears_before_hello_reaches_nobody(page: Page) -> None:
    """The server refuses a fifth waiting socket of a session, or times one out after ten
    minutes: the pre-join screen must not show that, and Join opens a new socket."""
    page.evaluate("""() => {
      const socket = (window.t.client.preconnect(), window.t.sockets[0]);
      socket.open();
      socket.say({type: "error", code: "timeout", message: "No hello within 10 minutes."});
      socket.drop(4013);
    }""")
    assert _events(page) == []
    page.evaluate("(first) => window.t.client.connect(first)", FIRST)
    page.evaluate("window.t.sockets[1].open()")
    first, second = _sockets(page)
    assert first["sent"] == []
    assert second["sent"] == [{"type": "hello", "version": 1, **FIRST}]
    assert _events(page) == [["state", "connecting"]]


def test_leaving_while_connecting_sends_no_hello(page: Page) -> None:
    page.evaluate("window.t.client.connect({}); window.t.client.leave()")
    page.evaluate("window.t.sockets[0].open()")  # the socket opens all the same
    [socket] = _sockets(page)
    assert socket == {"sent": [], "closed": True}
    assert _events(page)[-1] == ["state", "closed"]
