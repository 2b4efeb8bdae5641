"""Administration of accounts: list, create, disable, enable, remove."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from conclave.errors import ConclaveError
from conclave.web import csrf
from conclave.web.forms import DisplayName, Password, Username
from conclave.web.render import render
from conclave.web.session import require_admin, services

log = logging.getLogger("conclave.admin")
router = APIRouter(prefix="/admin")
Protected = [Depends(csrf.verify)]


def _users_page(request: Request, status_code: int = 200, **extra: object) -> Response:
    users = services(request).accounts.list_users()
    return render(request, "admin_users.html", status_code=status_code, users=users, **extra)


@router.get("/users")
def users_page(request: Request) -> Response:
    require_admin(request)
    return _users_page(request)


@router.post("/users", dependencies=Protected)
def create_user(
    request: Request,
    username: Username,
    password: Password,
    display_name: DisplayName = "",
    role: Annotated[Literal["member", "admin"], Form()] = "member",
) -> Response:
    admin = require_admin(request)
    try:
        created = services(request).accounts.create_user(username, display_name, password, role)
    except ConclaveError as error:
        return _users_page(request, 400, error=error)
    log.info("user created", extra={"user_id": admin.id, "reason": f"created {created.id}"})
    return RedirectResponse("/admin/users?notice=user_created", status_code=303)


@router.post("/users/{user_id}/{action}", dependencies=Protected)
def change_user(
    request: Request, user_id: int, action: Literal["disable", "enable", "remove"]
) -> Response:
    admin = require_admin(request)
    accounts = services(request).accounts
    try:
        if action == "remove":
            accounts.remove(admin, user_id)
        else:
            accounts.set_disabled(admin, user_id, action == "disable")
    except ConclaveError as error:
        return _users_page(request, 409 if error.reason != "unknown_user" else 404, error=error)
    log.info("user changed", extra={"user_id": admin.id, "reason": action})
    return RedirectResponse(f"/admin/users?notice=user_{action}d", status_code=303)
