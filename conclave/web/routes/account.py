"""The signed-in user's own account: password, data download, deletion."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from conclave.audit import events
from conclave.errors import ConclaveError
from conclave.web import csrf
from conclave.web.audit import (
    audit,
    client_address,
    json_download,
    leave_meetings,
    on_hub,
)
from conclave.web.forms import Password
from conclave.web.refusals import form_status, with_retry_after
from conclave.web.render import render
from conclave.web.session import (
    clear_session_cookie,
    client_network,
    require_user,
    services,
    set_session_cookie,
)

router = APIRouter()
EXPORT_FILE = "conclave-personal-data.json"


@router.get("/account")
def account_page(request: Request) -> Response:
    require_user(request)
    return render(request, "account.html")


@router.post("/account/password", dependencies=[Depends(csrf.verify)])
def change_password(request: Request, current: Password, new: Password) -> Response:
    user = require_user(request)
    try:
        token = services(request).accounts.change_own_password(
            user, current, new, client_network(request)
        )
    except ConclaveError as error:
        page = render(request, "account.html", status_code=form_status(error), error=error)
        return with_retry_after(page, error)
    audit(request, events.PASSWORD_CHANGED, actor_id=user.id)
    on_hub(request, request.app.state.hub.end_sessions_of, user.id)  # every old session ended
    response = RedirectResponse("/account?notice=password_changed", status_code=303)
    set_session_cookie(response, request, token)
    return response


@router.post("/account/export", dependencies=[Depends(csrf.verify)])
def export_data(request: Request) -> Response:
    """GDPR Art. 15 and 20: everything held about the user, as a JSON download."""
    user = require_user(request)
    body = services(request).data_rights.export_json(
        user.id, actor_id=user.id, client=client_address(request), via="self"
    )
    return json_download(body, EXPORT_FILE)


@router.post("/account/delete", dependencies=[Depends(csrf.verify)])
def delete_account(request: Request, password: Password) -> Response:
    """GDPR Art. 17: the user deletes their account, confirmed with the password."""
    user = require_user(request)
    try:
        services(request).data_rights.delete_own(user, password, client_address(request))
    except ConclaveError as error:
        page = render(request, "account.html", status_code=form_status(error), error=error)
        return with_retry_after(page, error)
    leave_meetings(request, user.id)
    response = RedirectResponse("/login?notice=account_deleted", status_code=303)
    clear_session_cookie(response)
    return response
