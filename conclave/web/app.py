"""The ASGI application: routers, static files, middleware, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from conclave.media.sfu import Sfu
from conclave.retention.task import close_stale_rooms, purge_lifespan
from conclave.services import Services
from conclave.signaling.hub import Hub
from conclave.web import errors
from conclave.web.middleware import BodyLimit, RequestLog, SecurityHeaders
from conclave.web.render import make_environments
from conclave.web.routes import account, admin, auth, invitations, meetings, pages, room

STATIC = Path(__file__).with_name("static")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Rooms left open by a crash are closed first, then the SFU (a managed Janus starts
    in the background) and the purge job start. Closing the rooms before the SFU starts
    keeps the start of Janus from competing with it before the server listens (issue 2)."""
    await close_stale_rooms(app)
    sfu: Sfu = app.state.sfu
    hub: Hub = app.state.hub
    async with sfu.running(), purge_lifespan(app), hub.running():
        yield


class _App(FastAPI):
    """The meeting WebSocket goes straight to its handler (``routes/room.py``), past the
    middleware and routing: they do nothing for it, yet each layer would stay on the stack
    of every connection for its whole life (docs/performance.md, bench.signaling). Every
    other request, and any other WebSocket path (refused by the router), takes the usual
    way."""

    security_headers: SecurityHeaders  # set by create_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The security headers first of all, around every other layer, Starlette's
        handler of unexpected errors (500) included (``middleware.SecurityHeaders``)."""
        await self.security_headers(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        meeting_id = room.meeting_socket(scope)
        if meeting_id is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await room.room_socket(WebSocket(scope, receive, send), meeting_id)


def create_app(services: Services, sfu: Sfu | None = None) -> FastAPI:
    """``sfu`` None: no SFU (``app.state.sfu.available`` is False)."""
    app = _App(
        title="Conclave",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    app.state.services = services
    app.state.jinja = make_environments(services.catalogs)
    app.state.sfu = sfu if sfu is not None else Sfu.unavailable()
    app.state.hub = Hub(services, app.state.sfu)
    for module in (pages, auth, meetings, invitations, account, admin, room):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app)
    app.add_middleware(RequestLog)
    app.add_middleware(BodyLimit)
    app.security_headers = SecurityHeaders(app._dispatch, services.settings)
    return app
