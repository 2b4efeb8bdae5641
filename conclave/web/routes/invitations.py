"""The personal invitation link: an external guest creates a guest account."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from conclave.audit import events
from conclave.errors import ConclaveError, InvalidInput, NotAuthenticated, RateLimited
from conclave.web import csrf
from conclave.web.audit import audit
from conclave.web.errors import STATUS, error_page
from conclave.web.forms import DisplayName, Password
from conclave.web.refusals import with_retry_after
from conclave.web.render import render
from conclave.web.session import client_network, services, set_session_cookie

log = logging.getLogger("conclave.invitations")
router = APIRouter()


@router.get("/invite/{token}")
def invitation_page(request: Request, token: str) -> Response:
    try:
        pending = services(request).invitations.pending(token)
    except ConclaveError as error:
        return error_page(request, error)
    return render(request, "invite_accept.html", pending=pending, token=token)


@router.post("/invite/{token}", dependencies=[Depends(csrf.verify)])
def accept_invitation(
    request: Request, token: str, password: Password, display_name: DisplayName = ""
) -> Response:
    svc = services(request)
    try:
        pending = svc.invitations.pending(token)
    except ConclaveError as error:
        return error_page(request, error)
    try:
        accepted = svc.invitations.accept(token, display_name, password, client_network(request))
    except (InvalidInput, NotAuthenticated, RateLimited) as error:
        page = render(
            request,
            "invite_accept.html",
            status_code=STATUS[type(error)],
            pending=pending,
            token=token,
            error=error,
        )
        return with_retry_after(page, error)
    except ConclaveError as error:
        return error_page(request, error)
    guest = accepted.account
    log.info("invitation accepted", extra={"user_id": guest.id})
    if accepted.created:
        audit(request, events.USER_CREATED, actor_id=guest.id, role="guest", via="invitation")
    response = RedirectResponse(f"/m/{pending.meeting.id}", status_code=303)
    set_session_cookie(response, request, svc.accounts.start_session(guest))
    return response
