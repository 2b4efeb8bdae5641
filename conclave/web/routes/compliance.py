"""The compliance report in the administration pages: run every check, show or download."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from conclave.web.render import language, render
from conclave.web.session import COOKIE, require_admin, services

router = APIRouter()  # included by routes/admin.py, under /admin


@router.get("/compliance")
def compliance_page(
    request: Request, format: Literal["html", "markdown", "text", "json"] | None = None
) -> Response:
    """Runs the checks (the origin scan fetches this server's own pages over its own
    listening address, the signed-in pages with the administrator's session)."""
    require_admin(request)
    # Imported here: the report machinery is not needed to start the server (issue 2).
    from conclave.compliance.render import MEDIA_TYPES, SUFFIXES, render_report, translated
    from conclave.compliance.report import make_report, probe_log, scan_self

    svc = services(request)
    cookie = request.cookies.get(COOKIE)
    scan = scan_self(svc.settings, (COOKIE, cookie) if cookie else None)
    purge = getattr(request.app.state, "purge", None)  # the purge job, when it started
    report = make_report(
        svc.settings,
        scan,
        services=svc,
        now=svc.clock(),
        server_purge_runs=purge.runs if purge is not None else -1,
        log_probe=probe_log(svc.settings),
    )
    lang = language(request)
    if format is None:
        return render(
            request, "admin_compliance.html", report=translated(report, lang, svc.catalogs)
        )
    body = render_report(report, format, lang, svc.catalogs)
    name = f"conclave-compliance-{report.generated_at:%Y%m%d-%H%M}.{SUFFIXES[format]}"
    return Response(
        body,
        media_type=MEDIA_TYPES[format],
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )
