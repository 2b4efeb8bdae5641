"""Three people meet in Chromium: they see and hear each other, the host moderates,
chat reaches everyone and leaves no trace, and a server restart does not end the call."""

from __future__ import annotations

import secrets
import subprocess

from playwright.sync_api import Browser, Page, expect

from conclave.meetings.service import MeetingDraft
from conclave.store.records import Meeting
from tests.media.conftest import Site
from tests.support.room import (
    CALL_SECONDS,
    in_call,
    join,
    join_all,
    media_flowing,
    total_frames,
    video_streams,
)
from tests.support.web import PASSWORD

TIMEOUT_MS = CALL_SECONDS * 1000


def _meeting(site: Site, lobby: str = "off", *members: str) -> Meeting:
    accounts = site.services.accounts
    host = accounts.create_user("hannah", "Hannah", PASSWORD)
    meeting = site.services.meetings.create(host, MeetingDraft("Weekly", None, None, lobby, None))
    for name in members:
        accounts.create_user(name, name.title(), PASSWORD)
        site.services.invitations.invite_member(host, meeting.id, name)
    return meeting


def _three(site: Site, browser: Browser, meeting: Meeting) -> list[Page]:
    pages = [site.person(browser, name) for name in ("hannah", "ivan", "jana")]
    join_all(pages, site.server.base_url, meeting.id)
    return pages


def _assert_media(pages: list[Page]) -> None:
    for page in pages:
        seen = media_flowing(page, 2)
        assert len(seen) == 2, seen
        assert all(s["frames"] > 0 and s["audio"] > 0 for s in seen), seen


def test_three_participants_see_and_hear_each_other(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "off", "ivan", "jana")
    pages = _three(site, browser, meeting)
    _assert_media(pages)
    host = pages[0]
    people = host.locator("#people li")
    expect(people).to_have_count(3)
    expect(people.filter(has_text="Ivan")).to_contain_text("microphone on")
    expect(host.locator("#grid figure")).to_have_count(3)


def test_a_shared_screen_reaches_the_other_side(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "off", "ivan")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    join_all((host, ivan), site.server.base_url, meeting.id)
    assert video_streams(ivan, 1) == 1  # the camera
    host.get_by_role("button", name="Share screen").click()
    expect(host.get_by_role("button", name="Share screen")).to_have_attribute(
        "aria-pressed", "true"
    )
    screen = ivan.locator('#grid figure[data-pid$=":screen"]')
    expect(screen).to_contain_text("Hannah", timeout=TIMEOUT_MS)
    assert video_streams(ivan, 2) == 2  # camera and screen, both decrypted and decoded
    expect(ivan.locator("#people li").filter(has_text="Hannah")).to_contain_text(
        "shares the screen"
    )
    host.get_by_role("button", name="Share screen").click()  # stop sharing
    expect(screen).to_have_count(0, timeout=TIMEOUT_MS)
    # Now Ivan shares, on the connection's screen transceiver that Hannah's share added.
    ivan.get_by_role("button", name="Share screen").click()
    expect(host.locator('#grid figure[data-pid$=":screen"]')).to_contain_text(
        "Ivan", timeout=TIMEOUT_MS
    )
    assert video_streams(host, 2) == 2


def test_lobby_admit_deny_and_host_only_controls(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "everyone", "ivan")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    join(host, site.server.base_url, meeting.id, media=False)
    in_call(host, 1)
    expect(host.locator("#count")).to_have_text("1 participant")
    join(ivan, site.server.base_url, meeting.id, media=False)
    expect(ivan.locator("#lobby")).to_be_visible(timeout=TIMEOUT_MS)
    expect(ivan.get_by_text("A host will let you in shortly.")).to_be_visible()
    host.get_by_role("button", name="Deny Ivan").click()
    expect(ivan.locator("#over-message")).to_have_text(
        "A host did not let you in.", timeout=TIMEOUT_MS
    )

    ivan.get_by_role("link", name="Join again").click()
    join(ivan, site.server.base_url, meeting.id, media=False)
    expect(ivan.locator("#lobby")).to_be_visible(timeout=TIMEOUT_MS)
    host.get_by_role("button", name="Admit Ivan").click()
    in_call(ivan, 2)
    in_call(host, 2)
    expect(host.locator("#count")).to_have_text("2 participants")
    for control in ("Lock meeting", "End meeting for everyone"):  # the host's alone
        expect(host.get_by_role("button", name=control)).to_be_visible()
        expect(ivan.get_by_role("button", name=control)).to_be_hidden()


REMOVE_QUESTION = (
    "Remove Ivan from the meeting? They cannot come back unless a host invites them again."
)


def test_host_removes_a_participant_who_cannot_come_back(site: Site, browser: Browser) -> None:
    """*Remove* asks first; the removed person is told so, also when they try again."""
    meeting = _meeting(site, "off", "ivan")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    for page in (host, ivan):
        join(page, site.server.base_url, meeting.id, media=False)
    in_call(host, 2)
    asked: list[str] = []
    host.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    host.get_by_role("button", name="Remove Ivan").click()
    # Locking goes through the server after anything the click sent: once the host sees
    # the meeting locked, a removal sent by that click would have arrived before it.
    host.get_by_role("button", name="Lock meeting").click()
    expect(host.get_by_role("button", name="Unlock meeting")).to_be_visible()
    assert asked == [REMOVE_QUESTION]
    in_call(host, 2)
    expect(ivan.locator("#call")).to_be_visible()
    host.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    host.get_by_role("button", name="Remove Ivan").click()
    expect(ivan.locator("#over-message")).to_have_text(
        "A host removed you from the meeting.", timeout=TIMEOUT_MS
    )
    assert asked == [REMOVE_QUESTION, REMOVE_QUESTION]
    in_call(host, 1)
    expect(host.get_by_text("Ivan was removed from the meeting", exact=True)).to_be_visible()
    expect(ivan.get_by_role("link", name="Join again")).to_be_hidden()  # nothing to join
    ivan.goto(f"{site.server.base_url}/m/{meeting.id}/join")  # trying all the same
    expect(ivan.get_by_role("alert")).to_have_text("You were removed from this meeting.")
    expect(ivan.get_by_role("heading", level=1)).not_to_contain_text("Weekly")


NOTICE_GONE_MS = 15_000  # a passing notice stays a few seconds (room/ui/notices.js)
POLITE = "el => Boolean(el.closest('[aria-live=polite], [role=status]'))"


def test_join_and_leave_notices_are_announced_and_go_away(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "off", "ivan")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    join(host, site.server.base_url, meeting.id, media=False)
    in_call(host, 1)
    # The call bar's two device menus say which is which (their labels are not shown there).
    expect(host.locator("#call-audio-device option").first).to_have_text("Default microphone")
    expect(host.locator("#call-camera-device option").first).to_have_text("Default camera")
    join(ivan, site.server.base_url, meeting.id, media=False)
    for text in ("Ivan joined", "Ivan left"):
        notice = host.get_by_text(text, exact=True)
        expect(notice).to_be_visible(timeout=TIMEOUT_MS)
        assert notice.evaluate(POLITE), f"{text!r} is not in a polite live region"
        expect(notice, f"{text!r} stays on screen").to_have_count(0, timeout=NOTICE_GONE_MS)
        if text == "Ivan joined":
            ivan.get_by_role("button", name="Leave").last.click()
    in_call(host, 1)


def test_signing_out_in_another_tab_ends_the_call_and_says_so(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "off", "ivan")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    join_all([host, ivan], site.server.base_url, meeting.id, media=False)
    other_tab = ivan.context.new_page()
    other_tab.goto(f"{site.server.base_url}/dashboard")
    other_tab.get_by_role("button", name="Sign out").click()
    expect(ivan.locator("#over-message")).to_have_text(
        "You signed out. Sign in again to take part.", timeout=TIMEOUT_MS
    )
    expect(ivan.get_by_role("link", name="Sign in")).to_be_visible()
    in_call(host, 1)


def test_a_wrong_meeting_password_is_cleared_for_the_next_try(site: Site, browser: Browser) -> None:
    host = site.services.accounts.create_user("hannah", "Hannah", PASSWORD)
    draft = MeetingDraft("Board", None, None, "off", "the right one 123")
    meeting = site.services.meetings.create(host, draft)
    site.services.accounts.create_user("ivan", "Ivan", PASSWORD)
    site.services.invitations.invite_member(host, meeting.id, "ivan")
    ivan = site.person(browser, "ivan")
    join(ivan, site.server.base_url, meeting.id, media=False, password="not it 456")
    expect(ivan.get_by_role("alert")).to_have_text("The meeting password is wrong.")
    field = ivan.get_by_label("Meeting password")
    expect(field).to_have_value("")
    expect(field).to_be_focused()
    field.fill("the right one 123")
    ivan.get_by_role("button", name="Join").click()
    in_call(ivan, 1)


def test_chat_reaches_everyone_and_is_stored_nowhere(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "off", "ivan", "jana")
    pages = [site.person(browser, name) for name in ("hannah", "ivan", "jana")]
    join_all(pages, site.server.base_url, meeting.id, media=False)
    secret = f"the launch code is {secrets.token_hex(8)}"
    sender = pages[1]
    sender.get_by_role("button", name="Chat").click()
    sender.get_by_label("Message").fill(secret)
    sender.get_by_role("button", name="Send").click()
    for page in pages:
        expect(page.locator("#chat-log")).to_contain_text(secret, timeout=TIMEOUT_MS)
    host = pages[0]
    asked: list[str] = []
    host.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    host.get_by_role("button", name="End meeting for everyone").click()
    for page in pages:
        expect(page.locator("#over-message")).to_have_text(
            "The meeting has ended.", timeout=TIMEOUT_MS
        )
        assert secret not in page.content()
    assert asked == ["End the meeting for everyone? Everyone leaves it at once."]
    # It stays ended: only its organiser is offered to start it again.
    expect(host.get_by_role("link", name="Start the meeting again")).to_be_visible()
    for page in pages[1:]:
        expect(page.get_by_role("link", name="Join again")).to_be_hidden()
        expect(page.get_by_text("Only its organiser can start it again.")).to_be_visible()
    site.server.stop()
    site.services.db.dispose()
    for path in site.server.data_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in site.server.log_text()


def test_everyone_is_back_after_a_server_restart(site: Site, browser: Browser) -> None:
    meeting = _meeting(site, "everyone", "ivan", "jana")
    host = site.person(browser, "hannah")
    join(host, site.server.base_url, meeting.id)
    in_call(host, 1)
    others = [site.person(browser, name) for name in ("ivan", "jana")]
    for page in others:
        join(page, site.server.base_url, meeting.id)
        name = "Ivan" if page is others[0] else "Jana"
        host.get_by_role("button", name=f"Admit {name}").click()
        in_call(page, 1 + others.index(page) + 1)
    pages = [host, *others]
    _assert_media(pages)

    site.server.stop(kill=True)
    for page in pages:
        expect(page.locator("#connection")).to_have_text(
            "Connection lost. Reconnecting…", timeout=TIMEOUT_MS
        )
    site.server.start()
    for page in pages:
        expect(page.locator("#connection")).to_have_text("Connected", timeout=TIMEOUT_MS)
        in_call(page, 3)  # straight back in: the lobby is not asked again
    before = [total_frames(page) for page in pages]
    _assert_media(pages)
    for page, earlier in zip(pages, before, strict=True):
        expect(page.locator("#lobby")).to_be_hidden()
        assert total_frames(page) > 0, earlier


# Inside the namespace both veth addresses are local: packets between them go through
# `lo` whatever the links' state. The media is cut by taking the links down and the
# addresses' local routes away, and comes back when both return (signaling is a
# WebSocket on 127.0.0.1 and goes on).
VETH = (("v0", "10.99.0.1"), ("v1", "10.99.0.2"))


def _cut_media() -> None:
    for link, address in VETH:
        subprocess.run(["ip", "link", "set", link, "down"], check=True, timeout=10)
        local = ["local", address, "dev", link, "table", "local"]
        subprocess.run(["ip", "route", "del", *local], check=True, timeout=10)


def _restore_media() -> None:
    for link, address in VETH:
        local = ["local", address, "dev", link, "table", "local"]
        subprocess.run(
            ["ip", "route", "replace", *local, "proto", "kernel", "scope", "host", "src", address],
            check=True,
            timeout=10,
        )
        subprocess.run(["ip", "link", "set", link, "up"], check=True, timeout=10)


def test_media_lost_and_back_is_shown_then_cleared(site: Site, browser: Browser) -> None:
    """The direct connection loses its network: the notice says so while it is lost and
    goes once the connection is back (it stayed for good)."""
    meeting = _meeting(site, "off", "ivan")
    host, ivan = site.person(browser, "hannah"), site.person(browser, "ivan")
    join_all((host, ivan), site.server.base_url, meeting.id)
    assert media_flowing(host, 1)[0]["frames"] > 0
    lost = host.get_by_text("Media connection lost. Reconnecting…")
    try:
        _cut_media()
        expect(lost).to_be_visible(timeout=TIMEOUT_MS)
    finally:
        _restore_media()
    expect(lost).to_have_count(0, timeout=TIMEOUT_MS)
    before = total_frames(host)
    more = host.evaluate(MORE_FRAMES, [before, CALL_SECONDS])
    assert more > before, f"no video decoded after the media came back ({before} frames)"


# Polls until more than `before` video frames are decoded, or the deadline; the count.
MORE_FRAMES = """
async ([before, seconds]) => {
  const deadline = performance.now() + seconds * 1000;
  let frames = 0;
  while (performance.now() < deadline) {
    frames = 0;
    for (const pc of window.__pcs.filter(pc => pc.connectionState === "connected")) {
      (await pc.getStats()).forEach(r => {
        if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
      });
    }
    if (frames > before) return frames;
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  return frames;
}
"""
