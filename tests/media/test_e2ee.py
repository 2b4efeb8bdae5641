"""End-to-end encryption in real browsers: everyone decrypts everyone, a participant
without the key sees nothing, a removed participant cannot read what is sent after its
removal, a server in the middle changes the security code, chat is ciphertext."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from conclave.e2ee import sframe
from conclave.meetings.service import MeetingDraft
from conclave.store.records import Meeting
from tests.media.conftest import Site
from tests.support.e2ee_taps import KEY_CAPTURE, captured_keys, install_worker_tap
from tests.support.room import (
    CALL_SECONDS,
    in_call,
    join,
    join_all,
    media_flowing,
    sends_opus_dtx,
    total_frames,
)
from tests.support.web import PASSWORD

TIMEOUT_MS = CALL_SECONDS * 1000
SUITE = 4
CODE = re.compile(r"^\d{5}( \d{5}){5}$")


def _meeting(site: Site, *members: str) -> Meeting:
    accounts = site.services.accounts
    host = accounts.create_user("hannah", "Hannah", PASSWORD)
    meeting = site.services.meetings.create(host, MeetingDraft("Board", None, None, "off", None))
    for name in members:
        accounts.create_user(name, name.title(), PASSWORD)
        site.services.invitations.invite_member(host, meeting.id, name)
    return meeting


def _code(page: Page) -> str:
    code = page.locator("#security-code")
    expect(code).to_have_text(CODE, timeout=TIMEOUT_MS)
    return code.inner_text()


def _wait_for(page: Page, script: str, arg: Any = None) -> Any:
    """Poll a condition in the page (a deadline, not a sleep)."""
    return page.wait_for_function(script, arg=arg, timeout=TIMEOUT_MS, polling=200).json_value()


def test_three_participants_decrypt_each_other_and_share_one_code(
    site: Site, browser: Browser
) -> None:
    meeting = _meeting(site, "ivan", "jana")
    pages = [site.person(browser, name) for name in ("hannah", "ivan", "jana")]
    join_all(pages, site.server.base_url, meeting.id)
    for page in pages:
        seen = media_flowing(page, 2)
        assert all(s["frames"] > 0 and s["audio"] > 0 for s in seen), seen
        transformed = page.evaluate(
            "window.__pcs.filter(pc => pc.connectionState !== 'closed').every(pc =>"
            " pc.getReceivers().every(r => r.transform) && pc.getSenders().every(s => s.transform))"
        )
        assert transformed, "every sender and receiver goes through the SFrame worker"
        assert sends_opus_dtx(page, 2), "Opus DTX negotiated on both connections (room/dtx.js)"
        expect(page.locator("#e2ee-state")).to_have_text("End-to-end encrypted, not verified")
    codes = {_code(page) for page in pages}
    assert len(codes) == 1, codes
    pages[0].get_by_role("button", name="The codes match").click()
    expect(pages[0].locator("#e2ee-state")).to_have_text("End-to-end encrypted, verified")


# Waits (up to a deadline) until 90 video frames were decoded; their count and how many
# of them the receiver took for key frames.
VIDEO_FRAMES = """async (seconds) => {
  const deadline = performance.now() + seconds * 1000;
  let decoded = 0, key = 0;
  while (decoded < 90 && performance.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 200));
    decoded = 0; key = 0;
    for (const pc of window.__pcs) (await pc.getStats()).forEach(r => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        decoded += r.framesDecoded || 0; key += r.keyFramesDecoded || 0; }
    });
  }
  return {decoded, key};
}"""


def test_receivers_tell_key_frames_from_delta_frames_in_encrypted_video(
    site: Site, browser: Browser
) -> None:
    """The receiver's depacketiser reads the VP8 frame tag; encrypted, it would be random and
    about half of all frames would pass for key frames (and a lost packet would stall the
    picture). The tag travels in the clear, authenticated, so the counts are right."""
    meeting = _meeting(site, "ivan")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    join_all((host, ivan), site.server.base_url, meeting.id)
    seen = ivan.evaluate(VIDEO_FRAMES, CALL_SECONDS)
    assert seen["decoded"] >= 90, seen
    # A call starts with a key frame and sends more only when asked; 90 frames are 3 s.
    assert 1 <= seen["key"] <= seen["decoded"] // 10, seen


def _drop_keys(route: WebSocketRoute) -> None:
    server = route.connect_to_server()
    route.on_message(lambda message: server.send(message))

    def from_server(message: str | bytes) -> None:
        data = json.loads(message)
        payload = data.get("payload", {}) if data.get("type") == "signal" else {}
        if payload.get("e2ee", {}).get("type") == "key":
            return  # withheld: this participant never gets anyone's media key
        route.send(message)

    server.on_message(from_server)


def test_participant_without_the_key_decodes_nothing(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "ivan", "jana")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    jana = site.person(browser, "jana")
    jana.route_web_socket(re.compile(r".*/ws/meetings/.*"), _drop_keys)
    join_all((host, ivan, jana), site.server.base_url, meeting.id)
    # Those with keys see and hear everyone, Jana included (she sends her key)...
    seen = media_flowing(host, 2)
    assert all(s["frames"] > 0 for s in seen), seen
    warnings = jana.locator('[data-e2ee="failing"]')
    expect(warnings).to_have_count(2, timeout=TIMEOUT_MS)  # shown loudly, for both senders
    expect(jana.locator("#e2ee-state")).to_have_text(
        "Warning: encryption problem, see the participants"
    )
    # ...while every frame Jana received was dropped, none decoded.
    received = jana.evaluate(
        """async () => { let packets = 0, frames = 0;
        for (const pc of window.__pcs) (await pc.getStats()).forEach(r => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') { packets += r.packetsReceived || 0; frames += r.framesDecoded || 0; }
        }); return {packets, frames}; }"""
    )
    assert received["packets"] > 0 and received["frames"] == 0, received
    expect(host.locator('[data-e2ee="they_fail"]')).to_have_count(1, timeout=TIMEOUT_MS)
    assert total_frames(host) > 0


def _substitute_identity(route: WebSocketRoute, meeting_id: str, victim_name: str) -> None:
    """A malicious server: replaces the victim's key announcement with its own, properly
    signed with its own identity key."""
    attacker_identity = ec.generate_private_key(ec.SECP256R1())
    attacker_ephemeral = ec.generate_private_key(ec.SECP256R1())
    identity = base64.b64encode(
        attacker_identity.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    ephemeral = base64.b64encode(
        attacker_ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    ).decode()
    uids: dict[str, str] = {}
    server = route.connect_to_server()
    route.on_message(lambda message: server.send(message))

    def from_server(message: str | bytes) -> None:
        data = json.loads(message)
        people = [*data.get("participants", []), data.get("participant") or {}]
        uids.update({p["pid"]: p["uid"] for p in people if p.get("name") == victim_name})
        payload = data.get("payload", {}) if data.get("type") == "signal" else {}
        if payload.get("e2ee", {}).get("type") == "hello" and data["from"] in uids:
            pid = data["from"]
            statement = f"conclave e2ee v1\n{meeting_id}\n{uids[pid]}\n{pid}\n{ephemeral}".encode()
            r, s = decode_dss_signature(
                attacker_identity.sign(statement, ec.ECDSA(hashes.SHA256()))
            )
            signature = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
            payload["e2ee"] = {
                "type": "hello",
                "identity": identity,
                "ephemeral": ephemeral,
                "signature": signature,
            }
            message = json.dumps(data)
        route.send(message)

    server.on_message(from_server)


def test_a_server_substituting_a_key_changes_the_security_code(
    site: Site, browser: Browser
) -> None:
    meeting = _meeting(site, "ivan", "jana")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    jana = site.person(browser, "jana")
    jana.route_web_socket(
        re.compile(r".*/ws/meetings/.*"),
        lambda route: _substitute_identity(route, meeting.id, "Hannah"),
    )
    join_all((host, ivan, jana), site.server.base_url, meeting.id)
    for page in (host, ivan, jana):  # every hello has been processed: the codes are final
        expect(page.locator("#people [data-e2ee]")).to_have_count(2, timeout=TIMEOUT_MS)
        expect(page.locator('#people [data-e2ee="waiting"]')).to_have_count(0, timeout=TIMEOUT_MS)
    honest = _code(host)
    assert _code(ivan) == honest
    assert _code(jana) != honest
    # Jana cannot open Hannah's key, which was wrapped for the real key: shown loudly.
    expect(jana.locator('#people [data-e2ee="invalid"]')).to_have_count(1, timeout=TIMEOUT_MS)
    expect(host.locator('#people [data-e2ee="invalid"]')).to_have_count(1, timeout=TIMEOUT_MS)


def _ratchets(key: bytes, steps: int) -> list[bytes]:
    keys = [key]
    for _ in range(steps):
        hkdf = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"conclave ratchet v1")
        keys.append(hkdf.derive(keys[-1]))
    return keys


def test_removed_participant_cannot_decrypt_what_is_sent_afterwards(
    site: Site, browser: Browser
) -> None:
    _removal(site, browser)


def test_through_the_sfu_too_only_ciphertext_passes_and_removal_rekeys(
    sfu_site: Site, browser: Browser
) -> None:
    """Janus forwards what the receiver's tap sees before decryption: SFrame only."""
    sfu_site.server.wait_for_sfu()
    _removal(sfu_site, browser, sfu=True)


def _removal(site: Site, browser: Browser, *, sfu: bool = False) -> None:
    meeting = _meeting(site, "ivan", "jana")

    def capture(context: BrowserContext) -> None:
        context.add_init_script(KEY_CAPTURE)

    def capture_and_tap(context: BrowserContext) -> None:
        capture(context)
        install_worker_tap(context)

    host = site.person(browser, "hannah")
    ivan = site.person(browser, "ivan", capture_and_tap)
    jana = site.person(browser, "jana", capture)
    join_all((host, ivan, jana), site.server.base_url, meeting.id)
    if sfu:
        expect(ivan.locator("#media-mode")).to_have_text("Through the media server")
    _wait_for(jana, "() => window.__keys.length >= 2")
    jana_keys = captured_keys(jana)

    host.once("dialog", lambda dialog: dialog.accept())  # *Remove* asks first
    host.get_by_role("button", name="Remove Jana").click()
    expect(jana.locator("#over-message")).to_have_text(
        "A host removed you from the meeting.", timeout=TIMEOUT_MS
    )
    known_kids = {k["kid"] for k in jana_keys}
    _wait_for(ivan, "(kids) => window.__keys.some(k => !kids.includes(k.kid))", sorted(known_kids))
    fresh = [k for k in captured_keys(ivan) if k["kid"] not in known_kids]
    fresh_by_kid = {k["kid"]: bytes(k["key"]) for k in fresh}
    # Frames Ivan received after the removal, still encrypted, under a key Jana never got.
    frames = _wait_for(
        ivan,
        """(kids) => { const hits = window.__tapped.filter(f => {
             const d = f.data; if (!(d[0] & 0x80)) return false;
             const n = ((d[0] >> 4) & 7) + 1; let kid = 0;
             for (let i = 1; i <= n; i++) kid = kid * 256 + d[i];
             return kids.includes(kid); });
           return hits.length >= 5 ? hits.map(f => f.data) : false; }""",
        sorted(fresh_by_kid),
    )
    old_keys = [k for entry in jana_keys for k in _ratchets(bytes(entry["key"]), 16)]
    for data in frames[:5]:
        frame = bytes(data)
        kid, _, _ = sframe.decode_header(frame)
        for key in old_keys:
            try:
                sframe.decrypt(SUITE, key, b"", frame)
            except sframe.DecryptError:
                continue
            raise AssertionError("a removed participant's key opened a later frame")
        assert sframe.decrypt(SUITE, fresh_by_kid[kid], b"", frame)  # the real key does
    # Every frame Ivan received at all was SFrame under a key of the meeting: nothing else.
    every_key = old_keys + [k for e in captured_keys(ivan) for k in _ratchets(bytes(e["key"]), 4)]
    tapped = [bytes(f["data"]) for f in ivan.evaluate("window.__tapped")]
    assert len(tapped) >= 5
    for frame in tapped:
        assert any(_opens(key, frame) for key in every_key), frame[:16].hex()


def _opens(key: bytes, frame: bytes) -> bool:
    try:
        sframe.decrypt(SUITE, key, b"", frame)
    except sframe.DecryptError:
        return False
    return True


def test_chat_crosses_the_server_as_ciphertext_only(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "ivan")
    relayed: list[dict[str, Any]] = []

    def watch(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        route.on_message(lambda message: server.send(message))

        def from_server(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "chat":
                relayed.append(data)
            route.send(message)

        server.on_message(from_server)

    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    ivan.route_web_socket(re.compile(r".*/ws/meetings/.*"), watch)
    for page in (host, ivan):
        join(page, site.server.base_url, meeting.id, media=False)
    for page in (host, ivan):
        in_call(page, 2)
    expect(ivan.locator('[data-e2ee="ok"]')).to_have_count(1, timeout=TIMEOUT_MS)
    host.get_by_role("button", name="Chat").click()
    host.get_by_label("Message").fill("the merger is off")
    host.get_by_role("button", name="Send").click()
    expect(ivan.locator("#chat-log")).to_contain_text("the merger is off", timeout=TIMEOUT_MS)
    (message,) = relayed
    assert message["text"].startswith("e2ee:")
    assert "merger" not in json.dumps(message)
