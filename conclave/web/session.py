"""The session cookie and the request's signed-in user."""

from __future__ import annotations

from fastapi import Request, Response

from conclave.accounts.service import SignedIn
from conclave.errors import N_, NotAuthenticated, NotAuthorised
from conclave.privacy.addresses import truncate_ip
from conclave.services import Services
from conclave.store.records import User

COOKIE = "__Host-conclave-session"
LANG_COOKIE = "conclave-lang"


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def client_network(request: Request) -> str:
    return truncate_ip(request.client.host if request.client else None)


def signed_in(request: Request) -> SignedIn | None:
    """Resolve the cookie once per request (cached on ``request.state``)."""
    if not hasattr(request.state, "signed_in"):
        token = request.cookies.get(COOKIE, "")
        request.state.signed_in = (
            services(request).accounts.resolve_session(token) if token else None
        )
    found: SignedIn | None = request.state.signed_in
    return found


def current_user(request: Request) -> User | None:
    found = signed_in(request)
    return found.user if found else None


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise NotAuthenticated(N_("Please sign in."), reason="no_session")
    return user


def require_member(request: Request) -> User:
    user = require_user(request)
    if user.is_guest:
        raise NotAuthorised(N_("Guest accounts cannot do this."), reason="guest")
    return user


def require_admin(request: Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise NotAuthorised(N_("Only administrators can do this."), reason="not_admin")
    return user


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    hours = services(request).settings.security.session_absolute_hours
    response.set_cookie(
        COOKIE,
        token,
        max_age=hours * 3600,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="lax")
