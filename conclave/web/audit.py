"""Helpers for routes that audit, export or delete: the client address comes from the
request; the hub is reached on the event loop."""

from __future__ import annotations

from collections.abc import Callable

from anyio import from_thread
from fastapi import Request, Response

from conclave.web.session import services


def client_address(request: Request) -> str | None:
    """The raw client address; the audit service keeps only its network."""
    return request.client.host if request.client else None


def audit(
    request: Request,
    event: str,
    *,
    actor_id: int | None,
    subject_id: int | None = None,
    **details: str | int | bool,
) -> None:
    services(request).audit.record(
        event,
        actor_id=actor_id,
        client=client_address(request),
        details=details,
        subject_id=subject_id,
    )


def leave_meetings(request: Request, user_id: int) -> None:
    """From a route's worker thread: the account is gone; close its meeting connections."""
    on_hub(request, request.app.state.hub.remove_user, user_id)


def on_hub(request: Request, call: Callable[[int], int], value: int) -> None:
    """From a route's worker thread: run one of the hub's methods on the event loop, which
    owns every room (e.g. close the meeting connections of a session that just ended)."""
    from_thread.run_sync(call, value)


def json_download(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="application/json",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )
