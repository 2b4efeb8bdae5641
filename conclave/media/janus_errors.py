"""Typed Janus errors with messages that are safe to show.

Janus reports failures as ``{"janus": "error", "error": {"code", "reason"}}`` (the core)
or as ``plugindata.data.error_code`` / ``error`` (plugins). :func:`janus_error` turns
either into a :class:`JanusError`: ``message`` is Conclave's own text (marked for
translation), ``detail`` is Janus's text, for logs only: never show it to users.
"""

from __future__ import annotations

from conclave.errors import N_, ConclaveError

VIDEOROOM = "janus.plugin.videoroom"


class JanusError(ConclaveError):
    """A request to Janus failed. ``code`` is Janus's number (0: no answer from Janus)."""

    default_message = N_("The media server could not do this.")

    def __init__(self, code: int, detail: str = "", *, message: str | None = None) -> None:
        self.code = code
        self.detail = detail
        super().__init__(message or self.default_message, reason=f"janus_{code}")

    def __str__(self) -> str:
        return f"{self.text} (Janus error {self.code})"


class JanusUnreachable(JanusError):
    default_message = N_("The media server cannot be reached.")


class JanusTimeout(JanusError):
    default_message = N_("The media server did not answer in time.")


class SessionLost(JanusError):
    """The Janus session is gone (Janus restarted, timed out, or was unreachable too
    long): every handle of it is dead; create a new session."""

    default_message = N_("The connection to the media server was lost.")


class Unauthorized(JanusError):
    """Janus refused a secret: the ``api_secret`` (403), or a room's secret, PIN or the
    admin key (VideoRoom 433)."""

    default_message = N_("The media server refused access.")


class E2EERequired(JanusError):
    """The room requires end-to-end encryption and the offer did not say ``e2ee``."""

    default_message = N_("This meeting requires end-to-end encrypted media.")


class NoSuchRoom(JanusError):
    default_message = N_("The meeting's media room does not exist.")


class RoomExists(JanusError):
    default_message = N_("The meeting's media room exists already.")


class NoSuchFeed(JanusError):
    default_message = N_("This participant's video is not available.")


class PublishersFull(JanusError):
    default_message = N_("The meeting has as many people sending video as it can take.")


class HandleLost(JanusError):
    default_message = N_("The media connection is gone.")


class SdpRefused(JanusError):
    """Janus could not use an offer or answer (malformed, or nothing it supports)."""

    default_message = N_("The media server did not accept the media description.")


class WrongState(JanusError):
    """The request does not fit the connection's state (an answer nobody asked for, a
    candidate for an unknown stream, publishing twice)."""

    default_message = N_("The media connection is not ready for this.")


class SfuUnavailable(JanusError):
    """No Janus is ready for this request (none configured, starting, or restarting)."""

    default_message = N_("The media server is not available right now.")


# Janus core (janus/apierror.h) and VideoRoom (plugins/janus_videoroom.c) codes.
CORE_ERRORS: dict[int, type[JanusError]] = {
    403: Unauthorized,
    458: SessionLost,
    459: HandleLost,
    464: SdpRefused,  # unknown JSEP type
    465: SdpRefused,  # invalid SDP
    466: WrongState,  # trickle for an unknown stream
    469: WrongState,  # unexpected answer
    471: WrongState,  # WebRTC state
}
VIDEOROOM_ERRORS: dict[int, type[JanusError]] = {
    424: WrongState,  # join first
    426: NoSuchRoom,
    427: RoomExists,
    428: NoSuchFeed,
    431: SdpRefused,  # invalid SDP type
    432: PublishersFull,
    433: Unauthorized,
    434: WrongState,  # already published
    435: WrongState,  # not published
    437: SdpRefused,  # invalid SDP
}
_E2EE_MARKER = "end-to-end encrypt"


def janus_error(code: int, detail: str, plugin: str | None = None) -> JanusError:
    """The typed error for a Janus error code (``plugin`` None: a core error)."""
    if plugin is None:
        kind = CORE_ERRORS.get(code, JanusError)
    elif plugin == VIDEOROOM:
        kind = VIDEOROOM_ERRORS.get(code, JanusError)
        if code == 433 and _E2EE_MARKER in detail:
            kind = E2EERequired
    else:
        kind = JanusError
    return kind(code, detail)
