"""The signed-in user's own account."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from conclave.errors import ConclaveError
from conclave.web import csrf
from conclave.web.forms import Password
from conclave.web.render import render
from conclave.web.session import require_user, services, set_session_cookie

router = APIRouter()


@router.get("/account")
def account_page(request: Request) -> Response:
    require_user(request)
    return render(request, "account.html")


@router.post("/account/password", dependencies=[Depends(csrf.verify)])
def change_password(request: Request, current: Password, new: Password) -> Response:
    user = require_user(request)
    try:
        token = services(request).accounts.change_own_password(user, current, new)
    except ConclaveError as error:
        return render(request, "account.html", status_code=400, error=error)
    response = RedirectResponse("/account?notice=password_changed", status_code=303)
    set_session_cookie(response, request, token)
    return response
