"""The policy console: view and change the data-protection settings at run time."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from conclave.policy.fields import BY_KEY, FORMS, FormName, in_form
from conclave.policy.service import PolicyInvalid, Value, value_of
from conclave.web import csrf
from conclave.web.audit import client_address
from conclave.web.render import render
from conclave.web.session import require_admin, services

log = logging.getLogger("conclave.admin")
router = APIRouter()  # included by routes/admin.py, under /admin
Protected = [Depends(csrf.verify)]
NOTICES = {"saved", "unchanged", "reset"}


def _page(
    request: Request,
    status_code: int = 200,
    *,
    error: PolicyInvalid | None = None,
    failed: FormName | None = None,
    submitted: dict[str, object] | None = None,
    notice: str = "",
) -> Response:
    svc = services(request)
    effective = svc.policy.current()
    values: dict[str, Any] = {key: _shown(value_of(effective, key)) for key in BY_KEY}
    for key, value in (submitted or {}).items():  # show what was typed, to correct it
        values[key] = value
    context: dict[str, Any] = {
        "forms": [(name, title, in_form(name)) for name, title in FORMS.items()],
        "values": values,
        "file_values": {key: _shown(svc.policy.file_value(key)) for key in BY_KEY},
        "overrides": svc.policy.overrides(),
        "usernames": {u.id: u.username for u in svc.accounts.list_users()},
        "problems": error.fields if error else {},
        "ids": {key: field.html_id for key, field in BY_KEY.items()},
        "failed": failed,
        "notice": notice if notice in NOTICES else "",
    }
    return render(request, "admin_policy.html", status_code=status_code, **context)


def _shown(value: Value) -> bool | int | str:
    """A value as a form control holds it (ICE servers: their URLs, one per line)."""
    if isinstance(value, list):
        return "\n".join(url for server in value for url in server.urls)
    return value


@router.get("/policy")
def policy_page(request: Request, notice: str = "") -> Response:
    require_admin(request)
    return _page(request, notice=notice)


@router.post("/policy/reset", dependencies=Protected)
def reset_setting(request: Request, key: Annotated[str, Form(max_length=64)]) -> Response:
    """One setting back to the configuration file's value."""
    admin = require_admin(request)
    services(request).policy.reset(key, actor_id=admin.id, client=client_address(request))
    return RedirectResponse(f"/admin/policy?notice=reset#{BY_KEY[key].html_id}", 303)


@router.post("/policy/{form}", dependencies=Protected)
async def change_policy(request: Request, form: FormName) -> Response:
    """Every field of one form, validated and stored together."""
    admin = await run_in_threadpool(require_admin, request)
    data = await request.form()
    submitted = {
        f.key: value for f in in_form(form) if isinstance(value := data.get(f.key, ""), str)
    }
    confirm = data.get("confirm_e2ee_off") == "on"
    confirm_ice = data.get("confirm_foreign_ice") == "on"
    try:
        changes = await run_in_threadpool(
            lambda: services(request).policy.update(
                form,
                submitted,
                actor_id=admin.id,
                client=client_address(request),
                confirm_e2ee_off=confirm,
                confirm_foreign_ice=confirm_ice,
            )
        )
    except PolicyInvalid as refused:
        error = refused
    else:
        log.info("policy form", extra={"user_id": admin.id, "count": len(changes)})
        notice = "saved" if changes else "unchanged"
        return RedirectResponse(f"/admin/policy?notice={notice}#policy-{form}", 303)
    shown: dict[str, object] = {
        k: (v == "on" if BY_KEY[k].kind == "bool" else v) for k, v in submitted.items()
    }
    return await run_in_threadpool(
        lambda: _page(request, 400, error=error, failed=form, submitted=shown)
    )
