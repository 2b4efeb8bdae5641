"""CSRF protection: a random ``__Host-`` cookie and an HMAC of it in every form."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from conclave import tokens
from conclave.errors import N_, NotAuthorised
from conclave.web import origin as origins

COOKIE = "__Host-conclave-csrf"
FIELD = "csrf_token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _sign(secret: bytes, cookie: str) -> str:
    return hmac.new(secret, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def form_token(request: Request) -> str:
    """The token for forms on this page; creates the cookie on first use."""
    cookie = request.cookies.get(COOKIE, "")
    if not tokens.looks_like_token(cookie):
        cookie = getattr(request.state, "new_csrf_cookie", None) or secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = cookie
    return _sign(request.app.state.services.secret, cookie)


async def verify(request: Request) -> None:
    """Dependency for every state-changing route."""
    if request.method not in UNSAFE:
        return
    # Browsers send "Origin: null" for form posts under Referrer-Policy: no-referrer; the
    # token below is what protects those. A named foreign origin is refused outright.
    origin = request.headers.get("origin")
    if origin not in (None, "null") and not origins.allowed(request, origin):
        raise NotAuthorised(N_("This request came from another site."), reason="cross_origin")
    form = await request.form()
    sent = form.get(FIELD)
    cookie = request.cookies.get(COOKIE, "")
    if (
        not isinstance(sent, str)
        or not tokens.looks_like_token(cookie)
        or not tokens.same(sent, _sign(request.app.state.services.secret, cookie))
    ):
        raise NotAuthorised(
            N_("The form has expired or was not sent by this site. Reload the page and try again."),
            reason="csrf",
        )
