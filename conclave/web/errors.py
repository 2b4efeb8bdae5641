"""The one place where service errors become HTTP responses."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from conclave.errors import (
    N_,
    ConclaveError,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotAuthorised,
    NotFound,
    RateLimited,
    StorageFull,
)
from conclave.web.render import render

log = logging.getLogger("conclave.web")

STATUS: dict[type[ConclaveError], int] = {
    InvalidInput: 400,
    NotAuthenticated: 401,
    NotAuthorised: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}

HTTP_MESSAGES = {
    404: N_("This page does not exist."),
    405: N_("This method is not allowed here."),
    400: N_("The request was malformed."),
}


def install(app: FastAPI) -> None:
    app.add_exception_handler(ConclaveError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(StorageFull, _storage_full)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def error_page(request: Request, error: ConclaveError) -> Response:
    status = STATUS.get(type(error), 400)
    log.info("refused", extra={"status": status, "reason": error.reason})
    response = render(request, "error.html", status_code=status, error=error)
    if isinstance(error, RateLimited):
        response.headers["retry-after"] = str(error.retry_after)
    return response


async def _service_error(request: Request, error: ConclaveError) -> Response:
    if (
        isinstance(error, NotAuthenticated)
        and error.reason == "no_session"
        and request.method == "GET"
    ):
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    return error_page(request, error)


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    fields = sorted({str(err["loc"][-1]) for err in exc.errors() if err.get("loc")})
    error = InvalidInput(
        N_("Some fields are missing or invalid: {fields}."),
        reason="validation",
        fields=", ".join(fields),
    )
    return error_page(request, error)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    message = HTTP_MESSAGES.get(exc.status_code, N_("The request was malformed."))
    error = ConclaveError(message, reason=f"http_{exc.status_code}")
    log.info("refused", extra={"status": exc.status_code, "reason": error.reason})
    return render(request, "error.html", status_code=exc.status_code, error=error)


async def _storage_full(request: Request, exc: StorageFull) -> Response:
    """The disk is full: 503, and when to try again (the log has said why)."""
    error = ConclaveError(StorageFull.message, reason="storage_full")
    response = render(request, "error.html", status_code=503, error=error)
    response.headers["retry-after"] = str(StorageFull.retry_after)
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error", exc_info=exc)
    error = ConclaveError(N_("Something went wrong on the server."), reason="internal")
    return render(request, "error.html", status_code=500, error=error)
