"""Forms shown again after a refusal: a throttled or busy password check is a 429 with
Retry-After, whichever page it came from."""

from __future__ import annotations

from fastapi.responses import Response

from conclave.errors import ConclaveError, RateLimited


def form_status(error: ConclaveError, default: int = 400) -> int:
    return 429 if isinstance(error, RateLimited) else default


def with_retry_after(response: Response, error: ConclaveError) -> Response:
    if isinstance(error, RateLimited):
        response.headers["retry-after"] = str(error.retry_after)
    return response
