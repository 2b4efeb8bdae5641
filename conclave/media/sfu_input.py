"""What the SFU accepts from browsers (relayed by the hub) before anything reaches Janus.

SDP is bounded in size and must look like SDP; ICE candidates are reduced to the three
fields the browser's ``RTCIceCandidate.toJSON()`` has; each participant has a bounded
number of SFU requests in flight. Refusals are typed errors with messages safe to show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from conclave.errors import N_, InvalidInput, RateLimited

MAX_SDP = 200_000  # characters: a subscriber offer with 50 participants' streams fits
MAX_CANDIDATE = 1024
MAX_MID = 64
MAX_MLINE_INDEX = 1024
MAX_IN_FLIGHT = 8  # SFU requests of one participant awaiting Janus at the same time

BAD_SDP = N_("The media description is invalid.")
BAD_CANDIDATE = N_("The network candidate is invalid.")
NO_OFFER = N_("No media offer is waiting for this answer.")
BAD_REQUEST = N_("This media request is invalid.")
TOO_MANY = N_("Too many media requests at once. Please wait a moment.")

_ORIGIN = re.compile(r"^o=\S+ (\d+) \d+ ", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # SDP lines end in CR LF
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_sdp(sdp: Any) -> str:
    """The SDP text, or :class:`InvalidInput`."""
    if (
        not isinstance(sdp, str)
        or len(sdp) > MAX_SDP
        or not sdp.startswith("v=0")
        or _CONTROL.search(sdp)
    ):
        raise InvalidInput(BAD_SDP, reason="bad_sdp")
    return sdp


def sdp_session(sdp: str) -> str:
    """The ``o=`` line's session id: browsers keep it for every offer of one
    RTCPeerConnection and pick a new one for a new connection (RFC 3264 section 8)."""
    match = _ORIGIN.search(sdp)
    if match is None:
        raise InvalidInput(BAD_SDP, reason="bad_sdp")
    return match.group(1)


def check_candidate(candidate: Any) -> dict[str, Any] | None:
    """A trickled candidate as Janus takes it, or None for end-of-candidates (``None``
    or an empty ``candidate`` string); anything else is :class:`InvalidInput`."""
    if candidate is None:
        return None
    if not isinstance(candidate, dict):
        raise InvalidInput(BAD_CANDIDATE, reason="bad_candidate")
    text = candidate.get("candidate")
    mid = candidate.get("sdpMid")
    index = candidate.get("sdpMLineIndex")
    if (
        not isinstance(text, str)
        or len(text) > MAX_CANDIDATE
        or _ANY_CONTROL.search(text)
        or (text and not text.startswith("candidate:"))
        or (mid is not None and (not isinstance(mid, str) or len(mid) > MAX_MID))
        or (
            index is not None
            and (
                not isinstance(index, int)
                or isinstance(index, bool)
                or not 0 <= index < MAX_MLINE_INDEX
            )
        )
        or (mid is None and index is None)
    ):
        raise InvalidInput(BAD_CANDIDATE, reason="bad_candidate")
    if not text:
        return None
    cleaned: dict[str, Any] = {"candidate": text}
    if mid is not None:
        cleaned["sdpMid"] = mid
    if index is not None:
        cleaned["sdpMLineIndex"] = index
    return cleaned


class InFlight:
    """Counts each participant's SFU requests that are waiting for Janus; one more than
    ``limit`` is refused with :class:`RateLimited` instead of queueing."""

    def __init__(self, limit: int = MAX_IN_FLIGHT) -> None:
        self.limit = limit
        self._counts: dict[tuple[str, str], int] = {}

    @contextmanager
    def slot(self, meeting_id: str, pid: str) -> Iterator[None]:
        key = (meeting_id, pid)
        count = self._counts.get(key, 0)
        if count >= self.limit:
            raise RateLimited(TOO_MANY, retry_after=1, reason="sfu_flood")
        self._counts[key] = count + 1
        try:
            yield
        finally:
            left = self._counts[key] - 1
            if left:
                self._counts[key] = left
            else:
                del self._counts[key]
