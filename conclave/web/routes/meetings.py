"""Meeting pages: create, view, edit, delete, invite, revoke."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from conclave.audit import events
from conclave.errors import ConclaveError
from conclave.meetings.service import MeetingDraft
from conclave.store.records import Meeting, User
from conclave.web import csrf
from conclave.web.audit import audit
from conclave.web.forms import RowId, parse_local_datetime
from conclave.web.refusals import form_status, with_retry_after
from conclave.web.render import render
from conclave.web.session import require_member, require_user, services

log = logging.getLogger("conclave.meetings")
router = APIRouter()
Protected = [Depends(csrf.verify)]
Title = Annotated[str, Form(max_length=400)]
Lobby = Annotated[str, Form(max_length=16)]
DateField = Annotated[str, Form(max_length=40)]


def _draft(
    title: str, starts_at: str, ends_at: str, tz_offset: str, lobby: str, password: str, remove: str
) -> MeetingDraft:
    return MeetingDraft(
        title=title,
        starts_at=parse_local_datetime(starts_at, tz_offset),
        ends_at=parse_local_datetime(ends_at, tz_offset),
        lobby_policy=lobby,
        password=password or None,
        remove_password=remove == "on",
    )


def _meeting_page(
    request: Request, user: User, meeting: Meeting, status_code: int = 200, **extra: object
) -> Response:
    svc = services(request)
    is_host = meeting.owner_id == user.id
    invitations = svc.invitations.for_meeting(user, meeting.id) if is_host else []
    return render(
        request,
        "meeting.html",
        status_code=status_code,
        meeting=meeting,
        is_host=is_host,
        invitations=invitations,
        url=f"{svc.settings.base_url}/m/{meeting.id}",
        mail_configured=svc.mailer.configured,
        **extra,
    )


@router.get("/meetings/new")
def new_meeting(request: Request) -> Response:
    require_member(request)
    default = services(request).policy.current().meetings.default_lobby
    return render(request, "meeting_form.html", meeting=None, lobby=default)


@router.post("/meetings", dependencies=Protected)
def create_meeting(
    request: Request,
    title: Title,
    lobby: Lobby = "guests",
    starts_at: DateField = "",
    ends_at: DateField = "",
    tz_offset: Annotated[str, Form(max_length=8)] = "0",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    user = require_member(request)
    try:
        draft = _draft(title, starts_at, ends_at, tz_offset, lobby, password, "")
        meeting = services(request).meetings.create(user, draft)
    except ConclaveError as error:  # a busy argon2 gate (the password's hash) is a 429
        page = render(
            request,
            "meeting_form.html",
            status_code=form_status(error),
            error=error,
            meeting=None,
            lobby=lobby,
        )
        return with_retry_after(page, error)
    log.info("meeting created", extra={"user_id": user.id})
    return RedirectResponse(f"/m/{meeting.id}", status_code=303)


@router.get("/m/{meeting_id}")
def meeting_page(request: Request, meeting_id: str) -> Response:
    user = require_user(request)
    meeting = services(request).meetings.visible(user, meeting_id)
    return _meeting_page(request, user, meeting)


@router.get("/m/{meeting_id}/edit")
def edit_page(request: Request, meeting_id: str) -> Response:
    user = require_user(request)
    meeting = services(request).meetings.hosted(user, meeting_id)
    return render(request, "meeting_form.html", meeting=meeting, lobby=meeting.lobby_policy)


@router.post("/m/{meeting_id}/edit", dependencies=Protected)
def edit_meeting(
    request: Request,
    meeting_id: str,
    title: Title,
    lobby: Lobby = "guests",
    starts_at: DateField = "",
    ends_at: DateField = "",
    tz_offset: Annotated[str, Form(max_length=8)] = "0",
    password: Annotated[str, Form(max_length=1024)] = "",
    remove_password: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    user = require_user(request)
    meetings = services(request).meetings
    meeting = meetings.hosted(user, meeting_id)
    try:
        draft = _draft(title, starts_at, ends_at, tz_offset, lobby, password, remove_password)
        meetings.update(user, meeting.id, draft)
    except ConclaveError as error:
        page = render(
            request,
            "meeting_form.html",
            status_code=form_status(error),
            error=error,
            meeting=meeting,
            lobby=lobby,
        )
        return with_retry_after(page, error)
    return RedirectResponse(f"/m/{meeting.id}", status_code=303)


@router.post("/m/{meeting_id}/delete", dependencies=Protected)
def delete_meeting(request: Request, meeting_id: str) -> Response:
    user = require_user(request)
    services(request).meetings.delete(user, meeting_id)
    log.info("meeting deleted", extra={"user_id": user.id})
    audit(request, events.MEETING_DELETED, actor_id=user.id, meeting=meeting_id)
    return RedirectResponse("/dashboard?notice=meeting_deleted", status_code=303)


@router.post("/m/{meeting_id}/invitations", dependencies=Protected)
async def invite(
    request: Request,
    meeting_id: str,
    invitee: Annotated[str, Form(min_length=1, max_length=254)],
) -> Response:
    user = await run_in_threadpool(require_user, request)
    svc = services(request)
    meeting = await run_in_threadpool(svc.meetings.hosted, user, meeting_id)
    try:
        if "@" not in invitee:
            await run_in_threadpool(svc.invitations.invite_member, user, meeting.id, invitee)
            return RedirectResponse(f"/m/{meeting.id}?notice=invited", status_code=303)
        issued = await run_in_threadpool(svc.invitations.invite_email, user, meeting.id, invitee)
    except ConclaveError as error:
        return await run_in_threadpool(_meeting_page, request, user, meeting, 400, error=error)
    link = f"{svc.settings.base_url}/invite/{issued.token}"
    mailed = svc.mailer.configured and await svc.mailer.send(
        issued.invitation.email or "",
        f"Invitation: {meeting.title}",
        _invitation_mail(user.display_name, meeting, link),
    )
    return await run_in_threadpool(
        _meeting_page, request, user, meeting, 200, new_link=None if mailed else link, mailed=mailed
    )


def _invitation_mail(host: str, meeting: Meeting, link: str) -> str:
    when = meeting.starts_at.strftime("%Y-%m-%d %H:%M UTC") if meeting.starts_at else "-"
    return (
        f'{host} invites you to the video meeting "{meeting.title}" ({when}).\n'
        f'{host} lädt Sie zur Videokonferenz "{meeting.title}" ein ({when}).\n\n'
        f"{link}\n\n"
        "This link is personal and works once. / Dieser Link ist persönlich und gilt einmal.\n"
    )


@router.post("/m/{meeting_id}/invitations/{invitation_id}/revoke", dependencies=Protected)
def revoke(request: Request, meeting_id: str, invitation_id: RowId) -> Response:
    user = require_user(request)
    services(request).invitations.revoke(user, meeting_id, invitation_id)
    return RedirectResponse(f"/m/{meeting_id}?notice=revoked", status_code=303)
