"""Calls forced through a real coturn (`media.ice_transport_policy = "relay"`), with the
credentials Conclave hands each participant; expired credentials are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute

from conclave.meetings.service import MeetingDraft
from conclave.store.records import Meeting
from tests.media.conftest import Site, make_site
from tests.support.coturn import ADDRESS, PORT, running_coturn
from tests.support.room import CALL_SECONDS, in_call, join, media_flowing
from tests.support.web import PASSWORD

SECRET = secrets.token_hex(32)

# Records ICE candidate errors and the types of the local candidates each connection found.
RECORD_ICE = """
window.__ice = {errors: [], types: []};
const Made = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new Made(...args);
  pc.addEventListener("icecandidateerror", (e) => window.__ice.errors.push(e.errorCode));
  pc.addEventListener("icecandidate", (e) => { if (e.candidate) window.__ice.types.push(e.candidate.type); });
  return pc;
};
window.RTCPeerConnection.prototype = Made.prototype;
"""

# The candidate types of the pair each connected connection uses.
SELECTED = """
async () => {
  const types = [];
  for (const pc of window.__pcs.filter(pc => pc.connectionState === "connected")) {
    const stats = await pc.getStats();
    stats.forEach(r => {
      if (r.type !== "transport" || !r.selectedCandidatePairId) return;
      const pair = stats.get(r.selectedCandidatePairId);
      types.push([stats.get(pair.localCandidateId).candidateType,
                  stats.get(pair.remoteCandidateId).candidateType]);
    });
  }
  return types;
}
"""

# Waits until every connection finished gathering candidates (or the deadline passes).
GATHERED = """
async (seconds) => {
  const deadline = performance.now() + seconds * 1000;
  const done = () => window.__pcs.length > 0 && window.__pcs.every(pc => pc.iceGatheringState === "complete");
  while (!done() && performance.now() < deadline) await new Promise(r => setTimeout(r, 200));
  return {done: done(), states: window.__pcs.map(pc => pc.connectionState), ...window.__ice};
}
"""


@pytest.fixture
def relay_site(tmp_path: Path, namespace: None) -> Iterator[Site]:
    folder = tmp_path / "coturn"
    folder.mkdir()
    with running_coturn(folder, SECRET):
        yield from make_site(
            tmp_path,
            CONCLAVE_MEDIA__JANUS__MANAGED="off",
            CONCLAVE_MEDIA__TURN__URLS=json.dumps([f"turn:{ADDRESS}:{PORT}?transport=udp"]),
            CONCLAVE_MEDIA__TURN__SECRET=SECRET,
            CONCLAVE_MEDIA__ICE_TRANSPORT_POLICY="relay",
        )


def _meeting(site: Site) -> Meeting:
    accounts = site.services.accounts
    host = accounts.create_user("hannah", "Hannah", PASSWORD)
    meeting = site.services.meetings.create(host, MeetingDraft("Board", None, None, "off", None))
    accounts.create_user("ivan", "Ivan", PASSWORD)
    site.services.invitations.invite_member(host, meeting.id, "ivan")
    return meeting


def _pair(site: Site, browser: Browser, setup: Callable[[BrowserContext], None]) -> list[Page]:
    meeting = _meeting(site)
    pages = [site.person(browser, name, setup) for name in ("hannah", "ivan")]
    for page in pages:
        join(page, site.server.base_url, meeting.id)
    for page in pages:
        in_call(page, 2)
    return pages


def test_a_relay_only_call_goes_through_coturn(relay_site: Site, browser: Browser) -> None:
    pages = _pair(relay_site, browser, lambda context: context.add_init_script(RECORD_ICE))
    for page in pages:
        seen = media_flowing(page, 1)
        assert seen and seen[0]["frames"] > 0 and seen[0]["audio"] > 0, seen
        selected: list[list[str]] = page.evaluate(SELECTED)
        assert selected and all(pair == ["relay", "relay"] for pair in selected), selected
        assert set(page.evaluate("window.__ice.types")) == {"relay"}  # no address leaves


def _expire_turn_credentials(route: WebSocketRoute) -> None:
    """Rewrite the TURN credentials in `session` as they were an hour too old (correctly
    signed with coturn's secret: what a client holding stale credentials would send)."""
    server = route.connect_to_server()
    route.on_message(lambda message: server.send(message))

    def from_server(message: str | bytes) -> None:
        data = json.loads(message)
        if data.get("type") == "session":
            for entry in data["ice_servers"]:
                _, pseudonym = entry["username"].split(":")
                username = f"{int(time.time()) - 3600}:{pseudonym}"
                digest = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
                entry.update(username=username, credential=base64.b64encode(digest).decode())
            message = json.dumps(data)
        route.send(message)

    server.on_message(from_server)


def test_expired_turn_credentials_are_refused(relay_site: Site, browser: Browser) -> None:
    def setup(context: BrowserContext) -> None:
        context.add_init_script(RECORD_ICE)
        context.route_web_socket(re.compile(r".*/ws/meetings/.*"), _expire_turn_credentials)

    pages = _pair(relay_site, browser, setup)
    for page in pages:
        seen: dict[str, Any] = page.evaluate(GATHERED, CALL_SECONDS)
        assert seen["done"], seen
        assert 401 in seen["errors"], seen  # coturn: unauthorised
        assert seen["types"] == [] and "connected" not in seen["states"], seen
