"""Login, logout, first-admin setup and the language switch."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from conclave.audit import events
from conclave.errors import N_, ConclaveError, NotFound, RateLimited
from conclave.i18n import LANGUAGES
from conclave.web import csrf
from conclave.web.audit import audit, on_hub
from conclave.web.errors import error_page
from conclave.web.forms import DisplayName, OptionalText, Password, Username, safe_next
from conclave.web.refusals import with_retry_after
from conclave.web.render import render
from conclave.web.session import (
    COOKIE,
    LANG_COOKIE,
    clear_session_cookie,
    client_network,
    current_user,
    services,
    set_session_cookie,
)

log = logging.getLogger("conclave.auth")
router = APIRouter()
Protected = [Depends(csrf.verify)]


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    if current_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next))


@router.post("/login", dependencies=Protected)
def login(
    request: Request,
    username: Username,
    password: Password,
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    accounts = services(request).accounts
    try:
        user = accounts.authenticate(username, password, client_network(request))
    except ConclaveError as error:
        log.info("login refused", extra={"reason": error.reason, "client": client_network(request)})
        refused = isinstance(error, RateLimited)  # throttled or busy: nothing was checked
        if not refused:
            audit(request, events.LOGIN_FAILED, actor_id=None, reason=error.reason)
        response = render(
            request,
            "login.html",
            status_code=429 if refused else 401,
            error=error,
            next=safe_next(next),
        )
        return with_retry_after(response, error)
    log.info("login", extra={"user_id": user.id})
    audit(request, events.LOGIN, actor_id=user.id)
    redirect = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(redirect, request, accounts.start_session(user))
    return redirect


@router.post("/logout", dependencies=Protected)
def logout(request: Request) -> Response:
    ended = services(request).accounts.end_session(request.cookies.get(COOKIE, ""))
    if ended is not None:
        on_hub(request, request.app.state.hub.end_session, ended.id)
        audit(request, events.LOGOUT, actor_id=ended.user_id)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/setup/{token}")
def setup_page(request: Request, token: str) -> Response:
    if not services(request).accounts.setup_token_valid(token):
        error = NotFound(
            N_("This setup link is not valid: it was used already or has expired."),
            reason="bad_setup_token",
        )
        return error_page(request, error)
    return render(request, "setup.html", token=token)


@router.post("/setup/{token}", dependencies=Protected)
def setup(
    request: Request,
    token: str,
    username: Username,
    password: Password,
    display_name: DisplayName = "",
) -> Response:
    accounts = services(request).accounts
    try:
        user = accounts.complete_setup(token, username, display_name, password)
    except NotFound as error:
        return error_page(request, error)
    except ConclaveError as error:
        return render(request, "setup.html", status_code=400, token=token, error=error)
    log.info("first administrator created", extra={"user_id": user.id})
    audit(request, events.USER_CREATED, actor_id=user.id, role="admin", via="setup")
    response = RedirectResponse("/dashboard", status_code=303)
    set_session_cookie(response, request, accounts.start_session(user))
    return response


@router.post("/lang", dependencies=Protected)
def set_language(
    request: Request,
    lang: Annotated[str, Form(max_length=8)],
    next: OptionalText = "/",
) -> Response:
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, path="/", secure=True, samesite="lax"
        )
    return response
