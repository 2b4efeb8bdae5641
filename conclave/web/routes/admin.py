"""Administration of accounts (list, create, disable, enable, export, remove) and the
audit log."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from conclave.audit import events
from conclave.errors import ConclaveError, InvalidInput, NotFound
from conclave.web import csrf
from conclave.web.audit import audit, client_address, json_download, leave_meetings, on_hub
from conclave.web.forms import DisplayName, Password, RowId, Username, parse_day
from conclave.web.render import render
from conclave.web.routes import compliance, policy
from conclave.web.session import require_admin, services

log = logging.getLogger("conclave.admin")
router = APIRouter(prefix="/admin")
Protected = [Depends(csrf.verify)]
ShortText = Annotated[str, Query(max_length=254)]


def _users_page(request: Request, status_code: int = 200, **extra: object) -> Response:
    users = services(request).accounts.list_users()
    sfu_status = request.app.state.sfu.status()
    return render(
        request,
        "admin_users.html",
        status_code=status_code,
        users=users,
        sfu_status=sfu_status,
        **extra,
    )


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
    audit(request, events.USER_CREATED, actor_id=admin.id, subject_id=created.id, role=role)
    return RedirectResponse("/admin/users?notice=user_created", status_code=303)


@router.post("/users/{user_id}/export", dependencies=Protected)
def export_user(request: Request, user_id: RowId) -> Response:
    """GDPR Art. 15 and 20 on the person's behalf: their data as a JSON download."""
    admin = require_admin(request)
    body = services(request).data_rights.export_json(
        user_id, actor_id=admin.id, client=client_address(request), via="admin"
    )
    return json_download(body, f"conclave-personal-data-{user_id}.json")


@router.post("/users/{user_id}/{action}", dependencies=Protected)
def change_user(
    request: Request, user_id: RowId, action: Literal["disable", "enable", "remove"]
) -> Response:
    admin = require_admin(request)
    svc = services(request)
    try:
        if action == "remove":
            svc.data_rights.delete(admin, user_id, client_address(request), "admin")
        else:
            svc.accounts.set_disabled(admin, user_id, action == "disable")
    except ConclaveError as error:
        return _users_page(request, 409 if error.reason != "unknown_user" else 404, error=error)
    if action == "remove":
        leave_meetings(request, user_id)
    else:
        if action == "disable":
            on_hub(request, request.app.state.hub.disable_user, user_id)
        event = events.USER_DISABLED if action == "disable" else events.USER_ENABLED
        audit(request, event, actor_id=admin.id, subject_id=user_id)
    log.info("user changed", extra={"user_id": admin.id, "reason": action})
    return RedirectResponse(f"/admin/users?notice=user_{action}d", status_code=303)


@router.get("/audit")
def audit_page(
    request: Request,
    event: ShortText = "",
    actor: ShortText = "",
    since: ShortText = "",
    until: ShortText = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The audit log, newest first: filter by event type, actor and days (UTC)."""
    require_admin(request)
    svc = services(request)
    usernames = {u.id: u.username for u in svc.accounts.list_users()}
    filters = {"event": event, "actor": actor, "since": since, "until": until}
    context: dict[str, Any] = {
        "filters": filters,
        "event_types": svc.audit.event_types(),
        "labels": events.LABELS,
        "usernames": usernames,
    }
    try:
        actor_id = svc.accounts.by_username(actor).id if actor.strip() else None
        start = parse_day(since, "since")
        end = parse_day(until, "until")
        found = svc.audit.query(
            event=event or None,
            actor_id=actor_id,
            since=start,
            until=end + timedelta(days=1) if end else None,
            page=page,
        )
    except (InvalidInput, NotFound) as error:
        return render(request, "admin_audit.html", status_code=400, error=error, **context)
    query = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "admin_audit.html",
        result=found,
        previous=urlencode({**query, "page": found.page - 1}) if found.page > 1 else None,
        following=urlencode({**query, "page": found.page + 1})
        if found.page < found.pages
        else None,
        **context,
    )


router.include_router(compliance.router)  # GET /admin/compliance
router.include_router(policy.router)  # /admin/policy: the policy console
