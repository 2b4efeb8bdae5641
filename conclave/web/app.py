"""The ASGI application: routers, static files, middleware, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

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
    async with sfu.running(), purge_lifespan(app):
        yield


def create_app(services: Services, sfu: Sfu | None = None) -> FastAPI:
    """``sfu`` None: no SFU (``app.state.sfu.available`` is False)."""
    app = FastAPI(
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
    app.add_middleware(SecurityHeaders, settings=services.settings)
    app.add_middleware(room.MeetingSockets)  # outermost: see its docstring
    return app
