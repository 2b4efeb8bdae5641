"""Every page loads everything from the server's own origin, and breaks nothing under its CSP.

The GDPR promise "your browser loads nothing from any other site" (the privacy notice says
so), checked in Debian's Chromium against a real ``conclave serve``: every page a user can
reach, signed in as administrator, as a member and not signed in, in English and German
(switched with the page's own language button). Every request the browser makes is
recorded, static assets included, and its origin must be the server's; each page must come
with a CSP of ``default-src 'self'`` without ``unsafe-inline``, and no CSP violation may be
reported (console errors and ``securitypolicyviolation`` events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response, expect

from tests.browser.conftest import NewPerson
from tests.browser.flows import (
    MEMBER,
    create_first_admin,
    create_meeting,
    create_member,
    invite_guest,
    invite_member,
)
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

TITLE = "Works council"
MEETING_PASSWORD = "works council 2026"
GUEST_EMAIL = "guest@example.org"
UNKNOWN_PATH = "/no/such/page"
# Reports violations of the page's CSP to the test (init scripts and bindings are not
# subject to the page's CSP, so this observes without changing what the page may do).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = location.href;
  window.__cspViolation(`${event.violatedDirective} blocked ${event.blockedURI} on ${where}`);
}, true);
"""
LANGUAGE_BUTTON = {"en": "Auf Deutsch umschalten", "de": "Switch to English"}
# Text on each page that shows the language took effect (the same key, two languages).
SIGN_IN = {"en": "Sign in", "de": "Anmelden"}


@dataclass
class Recorder:
    """Everything one browser profile fetched or reported."""

    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    documents: list[Response] = field(default_factory=list)
    csp_console: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    pages_seen: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.on("request", lambda request: self._request(request))
        context.on("response", lambda response: self._response(response))
        context.expose_function("__cspViolation", self._violation)
        context.add_init_script(REPORT_CSP_VIOLATIONS)

    def watch_page(self, page: Page) -> None:
        # Page-level as well: requests of the page's workers, WebSockets, console messages.
        page.on("request", lambda request: self._request(request))
        page.on("websocket", lambda socket: self.websockets.append(socket.url))
        page.on("console", lambda message: self._console(message))

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _violation(self, text: str) -> None:
        self.violations.append(text)

    def _response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.append(response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_console.append(f"{message.location.get('url')}: {message.text}")


def origin(url: str) -> str:
    """scheme://host:port of an URL (blob: URLs: of the URL inside)."""
    if url.startswith("blob:"):
        url = url[len("blob:") :]
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "wss": 443, "http": 80, "ws": 80}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def visit(page: Page, recorder: Recorder, url: str, lang: str, status: int = 200) -> None:
    """Open ``url`` as if typed into the address bar and wait until the page has loaded."""
    response = page.goto(url, wait_until="load")
    assert response is not None, url
    assert response.status == status, f"{url}: {response.status}"
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("button", name=LANGUAGE_BUTTON[lang])).to_be_visible()
    recorder.pages_seen.append(f"{lang} {page.url} {status}")


def switch_language(page: Page, to: str) -> None:
    """Press the page's language button; the same page comes back in the other language."""
    before = page.url
    current = "de" if to == "en" else "en"
    page.get_by_role("button", name=LANGUAGE_BUTTON[current]).click()
    expect(page.locator("html")).to_have_attribute("lang", to)
    assert page.url == before


def test_every_page_loads_only_from_the_server_and_keeps_to_its_csp(
    server: RunningServer, new_person: NewPerson
) -> None:
    base = server.base_url
    assert server.setup_url
    admin_recorder, visitor_recorder, member_recorder = Recorder(), Recorder(), Recorder()

    # An administrator sets the server up: a meeting, a member and a guest invited.
    admin = new_person(locale="en-GB")
    admin_recorder.watch(admin)
    page = admin.new_page()
    admin_recorder.watch_page(page)
    create_first_admin(page, server.setup_url)
    create_member(page, MEMBER)
    page.goto(f"{base}/dashboard")
    meeting_id = create_meeting(page, TITLE, MEETING_PASSWORD)
    invite_member(page, meeting_id, MEMBER.username)
    link = invite_guest(page, meeting_id, GUEST_EMAIL)

    # The member signs in through the login form.
    member = new_person(locale="en-GB")
    member_recorder.watch(member)
    member_page = member.new_page()
    member_recorder.watch_page(member_page)
    member_page.goto(f"{base}/m/{meeting_id}")
    member_page.wait_for_url(f"{base}/login?next=/m/{meeting_id}")
    member_page.get_by_label("User name or e-mail address").fill(MEMBER.username)
    member_page.get_by_label("Password").fill(MEMBER.password)
    member_page.get_by_role("button", name=SIGN_IN["en"]).click()
    member_page.wait_for_url(f"{base}/m/{meeting_id}")

    # Someone not signed in (e.g. the guest before accepting the invitation).
    visitor = new_person(locale="en-GB")
    visitor_recorder.watch(visitor)
    visitor_page = visitor.new_page()
    visitor_recorder.watch_page(visitor_page)

    admin_pages = [
        ("/", 200),  # redirects to the dashboard
        ("/dashboard", 200),
        ("/meetings/new", 200),
        (f"/m/{meeting_id}", 200),
        (f"/m/{meeting_id}/edit", 200),
        (f"/m/{meeting_id}/join", 200),
        ("/account", 200),
        ("/admin/users", 200),
        ("/admin/compliance", 200),  # runs the compliance report, its own scan included
        ("/admin/policy", 200),
        ("/admin/audit", 200),
        ("/privacy", 200),
        (server.setup_url.removeprefix(base), 404),  # the setup link, used
        (UNKNOWN_PATH, 404),
    ]
    member_pages = [
        ("/dashboard", 200),
        (f"/m/{meeting_id}", 200),
        (f"/m/{meeting_id}/join", 200),
        ("/account", 200),
        ("/admin/users", 403),
        ("/admin/compliance", 403),
        ("/admin/policy", 403),
        ("/admin/audit", 403),
    ]
    visitor_pages = [
        ("/", 200),  # redirects to the login page
        ("/login", 200),
        ("/privacy", 200),
        (link.removeprefix(base), 200),  # the invitation, not accepted yet
        (server.setup_url.removeprefix(base), 404),
        (UNKNOWN_PATH, 404),
    ]
    people = [
        (page, admin_recorder, admin_pages),
        (member_page, member_recorder, member_pages),
        (visitor_page, visitor_recorder, visitor_pages),
    ]
    for lang in ("en", "de"):
        for person, recorder, paths in people:
            if lang == "de":
                switch_language(person, "de")
            for path, status in paths:
                visit(person, recorder, base + path, lang, status)
    # The German pages are German, not only marked so.
    visit(visitor_page, visitor_recorder, f"{base}/login", "de")
    expect(visitor_page.get_by_role("heading", level=1)).to_have_text(SIGN_IN["de"])
    expect(visitor_page.get_by_role("link", name="Zum Inhalt springen")).to_have_count(1)

    everyone = (admin_recorder, member_recorder, visitor_recorder)
    requests = [url for recorder in everyone for url in recorder.requests]
    assert any(url.endswith("/static/css/app.css") for url in requests), requests
    assert any(url.endswith("/static/js/forms.js") for url in requests), requests
    assert any(url.endswith("/static/js/room/main.js") for url in requests), requests
    foreign = sorted({url for url in requests if origin(url) != origin(base)})
    assert foreign == [], f"requests to other origins than {base}: {foreign}"
    sockets = [url for recorder in everyone for url in recorder.websockets]
    foreign_sockets = [
        url for url in sockets if origin(url) != origin(base).replace("https", "wss")
    ]
    assert foreign_sockets == [], foreign_sockets

    documents = [response for recorder in everyone for response in recorder.documents]
    seen = sum(len(recorder.pages_seen) for recorder in everyone)
    assert len(documents) >= seen
    for response in documents:
        policy = response.headers.get("content-security-policy", "")
        directives = [part.strip() for part in policy.split(";")]
        assert "default-src 'self'" in directives, f"{response.url}: CSP {policy!r}"
        assert "unsafe-inline" not in policy, f"{response.url}: CSP {policy!r}"
        assert "unsafe-eval" not in policy, f"{response.url}: CSP {policy!r}"

    csp_errors = [text for recorder in everyone for text in recorder.csp_console]
    assert csp_errors == [], csp_errors
    violations = [text for recorder in everyone for text in recorder.violations]
    assert violations == [], violations
