"""The meeting room: the page with the pre-join screen and call, and its WebSocket."""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.types import Scope

from conclave.privacy.addresses import truncate_ip
from conclave.signaling.hub import Entry, Hub
from conclave.signaling.protocol import CloseCode
from conclave.web import origin as origins
from conclave.web.render import render
from conclave.web.session import COOKIE, require_user, services

router = APIRouter()


@router.get("/m/{meeting_id}/join")
def room_page(request: Request, meeting_id: str) -> Response:
    user = require_user(request)
    meeting = services(request).meetings.visible(user, meeting_id)
    return render(request, "room.html", meeting=meeting, is_host=meeting.owner_id == user.id)


MEETING_SOCKET = re.compile(r"/ws/meetings/([^/]+)")


def meeting_socket(scope: Scope) -> str | None:
    """The meeting id of a meeting WebSocket's scope; None for anything else."""
    if scope["type"] != "websocket":
        return None
    match = MEETING_SOCKET.fullmatch(scope["path"])
    return match.group(1) if match else None


async def room_socket(websocket: WebSocket, meeting_id: str) -> None:
    entry = await _signed_in(websocket, meeting_id)
    if entry is not None:
        hub: Hub = websocket.app.state.hub
        await hub.run(websocket, entry)


async def _signed_in(websocket: WebSocket, meeting_id: str) -> Entry | None:
    """Origin and session checked, handshake completed; None: refused. (A function of its
    own so that the session record is not kept for the connection's lifetime.)"""
    # Cross-site WebSocket hijacking: refuse the handshake itself (docs/protocol.md).
    if not origins.allowed(websocket, websocket.headers.get("origin")):
        await websocket.close(code=CloseCode.REFUSED)
        return None
    accounts = websocket.app.state.services.accounts
    token = websocket.cookies.get(COOKIE, "")
    looked_up = time.time()  # a session that ends after this moment: the hub keeps it out
    signed_in = await run_in_threadpool(accounts.resolve_session, token) if token else None
    await websocket.accept()
    if signed_in is None:
        await websocket.close(CloseCode.NOT_AUTHENTICATED, "Please sign in.")
        return None
    client = truncate_ip(websocket.client.host if websocket.client else None)
    return Entry(signed_in.user, signed_in.session.id, meeting_id, client, at=looked_up)
