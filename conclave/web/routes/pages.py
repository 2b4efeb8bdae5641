"""Start page, dashboard, privacy notice and health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from conclave.privacy.notice import privacy_notice
from conclave.web.render import render
from conclave.web.session import current_user, require_user, services

router = APIRouter()


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """For monitoring (docs/deployment.md, Monitoring): 200 with ``status`` "ok", or 503
    with "failing" while writes fail because the disk is full (``storage`` "full");
    ``sfu``: "ready", "restarting" (the managed Janus died: from that moment until it
    answers again), "down" (Janus is configured but not reachable, e.g. still starting)
    or "none"."""
    state = request.app.state.sfu.health
    storage = "full" if services(request).db.write_health.full else "ok"
    ok = storage == "ok"
    return JSONResponse(
        {"status": "ok" if ok else "failing", "sfu": state, "storage": storage},
        status_code=200 if ok else 503,
    )


@router.get("/")
def home(request: Request) -> Response:
    target = "/dashboard" if current_user(request) else "/login"
    return RedirectResponse(target, status_code=303)


@router.get("/dashboard")
def dashboard(request: Request, notice: str = "") -> Response:
    user = require_user(request)
    board = services(request).meetings.dashboard(user)
    return render(request, "dashboard.html", board=board, notice=notice)


@router.get("/privacy")
def privacy(request: Request) -> Response:
    notice = privacy_notice(services(request).policy.current())
    return render(request, "privacy.html", notice=notice)
