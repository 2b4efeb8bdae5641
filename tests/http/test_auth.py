"""Login, sessions, CSRF, throttling and the first-admin setup, in-process."""

from __future__ import annotations

import re

from conclave.services import Services
from conclave.web.session import COOKIE
from tests.conftest import FakeClock
from tests.support.web import PASSWORD, Browser, make_user, signed_in


def test_login_sets_a_secure_http_only_session_cookie(services: Services) -> None:
    make_user(services, "alice")
    response = Browser(services).login("alice")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE))
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert attribute.lower() in cookie.lower()


def test_session_token_is_stored_only_as_hash(services: Services) -> None:
    make_user(services, "alice")
    browser = signed_in(services, make_user(services, "bob"))
    token = browser.client.cookies[COOKIE]
    db_file = services.settings.data_dir / "conclave.db"
    services.db.dispose()
    blob = b"".join(p.read_bytes() for p in db_file.parent.glob("conclave.db*"))
    assert token.encode() not in blob


def test_wrong_password_and_unknown_user_get_the_same_answer(services: Services) -> None:
    make_user(services, "alice")
    wrong = Browser(services).login("alice", "not the password at all")
    unknown = Browser(services).login("nobody", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    message = "Wrong user name or password."
    assert message in wrong.text and message in unknown.text


def test_login_is_throttled_without_revealing_whether_the_account_exists(
    services: Services,
) -> None:
    # Who is and is not locked out, from which network: tests/http/test_throttles.py.
    make_user(services, "alice")
    limit = services.settings.security.login_max_failures
    attacker = Browser(services)
    for _ in range(limit):
        assert attacker.login("alice", "wrong password 123").status_code == 401
    blocked = Browser(services).login("alice")  # the right password, from the same network
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Too many failed attempts" in blocked.text
    # An unknown account is throttled the same way: no enumeration through 429s.
    for _ in range(limit):
        Browser(services).login("ghost", "wrong password 123")
    assert Browser(services).login("ghost", "wrong password 123").status_code == 429


def test_disabled_account_cannot_sign_in(services: Services) -> None:
    admin = make_user(services, "root", "admin")
    alice = make_user(services, "alice")
    services.accounts.set_disabled(admin, alice.id, True)
    response = Browser(services).login("alice")
    assert response.status_code == 401
    assert "This account is disabled." in response.text


def test_logout_ends_the_session_on_the_server(services: Services) -> None:
    browser = signed_in(services, make_user(services, "alice"))
    token = browser.client.cookies[COOKIE]
    assert browser.post("/logout", page="/dashboard").status_code == 303
    thief = Browser(services)
    thief.client.cookies.set(COOKIE, token)
    assert thief.get("/dashboard").headers["location"].startswith("/login")


def test_idle_and_absolute_expiry(services: Services, clock: FakeClock) -> None:
    alice = make_user(services, "alice")
    browser = signed_in(services, alice)
    idle = services.settings.security.session_idle_minutes
    clock.advance(minutes=idle - 1)
    assert browser.get("/dashboard").status_code == 200
    clock.advance(minutes=idle + 1)
    assert browser.get("/dashboard").status_code == 303
    busy = signed_in(services, alice)
    hours = services.settings.security.session_absolute_hours
    for _ in range(hours * 60 // max(idle - 1, 1) + 1):
        clock.advance(minutes=idle - 1)
        if busy.get("/dashboard").status_code != 200:
            break
    assert busy.get("/dashboard").status_code == 303


def test_password_change_revokes_every_session(services: Services) -> None:
    alice = make_user(services, "alice")
    laptop, phone = signed_in(services, alice), signed_in(services, alice)
    new = "a brand new secret phrase"
    response = laptop.post("/account/password", {"current": PASSWORD, "new": new}, page="/account")
    assert response.status_code == 303
    assert laptop.get("/dashboard").status_code == 200  # the changing session goes on
    assert phone.get("/dashboard").status_code == 303
    assert Browser(services).login("alice", new).status_code == 303


def test_password_policy_is_enforced_on_change(services: Services) -> None:
    alice = make_user(services, "alice")
    browser = signed_in(services, alice)
    short = browser.post("/account/password", {"current": PASSWORD, "new": "short"}, "/account")
    assert short.status_code == 400 and "at least 12 characters" in short.text
    named = browser.post(
        "/account/password", {"current": PASSWORD, "new": "xxALICE-is-great"}, "/account"
    )
    assert named.status_code == 400 and "must not contain the user name" in named.text


def test_state_changing_requests_need_the_csrf_token(services: Services) -> None:
    make_user(services, "alice")
    browser = Browser(services)
    browser.token()  # has the CSRF cookie, but sends no token
    response = browser.client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    forged = browser.client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    cross = browser.client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": browser.token()},
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert COOKIE not in browser.client.cookies


def test_malformed_cookies_are_treated_as_signed_out(services: Services) -> None:
    browser = Browser(services)
    for junk in ("", "x", "%C3%A4" * 20, "A" * 5000, "'; DROP TABLE users; --"):
        browser.client.cookies.set(COOKIE, junk)
        assert browser.get("/dashboard").status_code == 303


def test_open_redirects_are_refused(services: Services) -> None:
    make_user(services, "alice")
    response = Browser(services).post(
        "/login", {"username": "alice", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/dashboard"


def test_first_admin_setup_link_works_once(services: Services) -> None:
    token = services.accounts.issue_setup_token()
    assert token is not None
    browser = Browser(services)
    page = browser.get(f"/setup/{token}")
    assert page.status_code == 200
    form = {"username": "root", "display_name": "Root", "password": PASSWORD}
    created = browser.post(f"/setup/{token}", form, page=f"/setup/{token}")
    assert created.status_code == 303
    assert browser.get("/admin/users").status_code == 200
    again = Browser(services)
    assert again.get(f"/setup/{token}").status_code == 404
    second = again.post(f"/setup/{token}", {**form, "username": "mallory"}, page="/login")
    assert second.status_code == 404
    assert [u.username for u in services.accounts.list_users()] == ["root"]
    assert services.accounts.issue_setup_token() is None


def test_setup_link_expires(services: Services, clock: FakeClock) -> None:
    token = services.accounts.issue_setup_token()
    clock.advance(minutes=services.settings.security.setup_link_minutes + 1)
    assert Browser(services).get(f"/setup/{token}").status_code == 404


def test_a_new_setup_link_replaces_the_old_one(services: Services) -> None:
    old = services.accounts.issue_setup_token()
    new = services.accounts.issue_setup_token()
    assert Browser(services).get(f"/setup/{old}").status_code == 404
    assert Browser(services).get(f"/setup/{new}").status_code == 200


def test_language_follows_the_browser_and_can_be_switched(services: Services) -> None:
    browser = Browser(services)
    german = browser.get("/login", headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in german.text and "Anmelden" in german.text
    english = browser.get("/login", headers={"accept-language": "fr, en;q=0.8"})
    assert '<html lang="en">' in english.text
    switched = browser.post("/lang", {"lang": "de", "next": "/privacy"})
    assert switched.headers["location"] == "/privacy"
    remembered = browser.get("/privacy", headers={"accept-language": "en"})
    assert '<html lang="de">' in remembered.text
    assert re.search(r"Datenschutz", remembered.text)


def test_language_switch_from_a_page_that_answers_a_form_post_leads_to_a_real_page(
    services: Services,
) -> None:
    browser = signed_in(services, make_user(services, "alice"))
    refused = browser.post("/account/password", {"current": "wrong one", "new": "x"}, "/account")
    assert refused.status_code == 400
    assert '<input type="hidden" name="next" value="/account">' in refused.text
    admin = signed_in(services, make_user(services, "root", "admin"))
    page = admin.post("/admin/users/999/disable", {}, "/admin/users")
    assert '<input type="hidden" name="next" value="/admin/users">' in page.text
