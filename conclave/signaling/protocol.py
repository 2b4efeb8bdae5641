"""The signaling wire format, version 1: JSON text frames over one WebSocket per participant.

Client messages are strict, frozen pydantic models in one discriminated union
(``ClientMessage``); ``parse_client_message`` turns a raw frame into one of them or raises
``ProtocolError`` with a code and a message that names the offending field. Server messages
are frozen pydantic models with ``to_json()``. ``docs/protocol.md`` is the prose version.
This module does no I/O and imports nothing from the rest of Conclave.
"""

from __future__ import annotations

import json
import math
import re
from enum import IntEnum
from typing import Annotated, Any, Final, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticCustomError

PROTOCOL_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_CHAT_CHARS: Final = 16384  # end-to-end encrypted: 4000 characters of text, sealed
MAX_REACTION_CHARS: Final = 512  # one emoji, sealed like chat
MAX_SIGNAL_BYTES: Final = 32 * 1024
MAX_SIGNAL_DEPTH: Final = 32
MAX_RESUME_CHARS: Final = 128
MAX_PASSWORD_CHARS: Final = 128
MAX_IDENTITY_CHARS: Final = 200
MAX_SDP_CHARS: Final = 60_000  # an offer with three media sections and simulcast is ~6000
MAX_CANDIDATE_CHARS: Final = 1024
BASE64_PATTERN: Final = r"^[A-Za-z0-9+/]+={0,2}$"
PID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,32}$"
RESUME_PATTERN: Final = r"^[A-Za-z0-9_-]{1,128}$"

Pid = Annotated[str, Field(pattern=PID_PATTERN)]
ParticipantRole = Literal["member", "guest"]
MediaMode = Literal["p2p", "sfu"]
SfuTarget = Literal["publisher", "subscriber"]
SfuLayer = Literal["low", "medium", "high"]
LeaveReason = Literal["left", "kicked", "disconnected"]
ProtocolErrorCode = Literal["too_large", "not_json", "not_object", "unknown_type", "invalid"]


class CloseCode(IntEnum):
    """Every WebSocket close code Conclave uses, and the only place they are defined."""

    NORMAL = 1000  # the participant sent ``leave``; nothing went wrong
    PROTOCOL_ERROR = 4000  # malformed or abusive traffic, or an unsupported version
    NOT_AUTHENTICATED = 4001  # no valid session cookie
    REFUSED = 4003  # not invited, wrong password, account disabled, removed from the meeting
    NOT_FOUND = 4004  # no such meeting (or the caller may not know it exists)
    TOO_LARGE = 4008  # a frame larger than MAX_MESSAGE_BYTES
    REPLACED = 4009  # the same participant connected again elsewhere (resume)
    KICKED = 4010  # a host removed the participant
    ENDED = 4011  # a host ended the meeting
    DENIED = 4012  # a host denied the lobby entry
    TIMEOUT = 4013  # no traffic (not even ``pong``) for too long
    RATE_LIMITED = 4029  # too many messages
    MEETING_FULL = 4030  # the room already holds ``max_participants``


class ProtocolError(Exception):
    """A frame that is not a valid client message. ``message`` is safe to send back."""

    def __init__(self, code: ProtocolErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ProtocolErrorCode = code
        self.message = message


# --- client -> server -----------------------------------------------------------------


class _ClientModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class HelloOffer(_ClientModel):
    """The offer of a connection the client made before it knew who is in the room. The
    server relays it as a ``signal``, so it is bounded like one (MAX_SIGNAL_BYTES)."""

    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)

    @field_validator("sdp")
    @classmethod
    def _fits_a_signal(cls, sdp: str) -> str:
        try:
            size = len(_compact({"description": {"type": "offer", "sdp": sdp}}).encode())
        except UnicodeEncodeError:  # a lone surrogate
            message = "The offer should be valid Unicode"
            raise PydanticCustomError("offer_not_text", message) from None
        if size > MAX_SIGNAL_BYTES:
            raise PydanticCustomError(
                "offer_too_large",
                "The offer should fit a signal of at most {limit} bytes",
                {"limit": MAX_SIGNAL_BYTES},
            )
        return sdp


class HelloMedia(_ClientModel):
    """Microphone and camera as the client enters (screen sharing starts in the call)."""

    mic: bool = False
    cam: bool = False


class ClientHello(_ClientModel):
    type: Literal["hello"] = "hello"
    version: int
    identity: str | None = Field(None, max_length=MAX_IDENTITY_CHARS, pattern=BASE64_PATTERN)
    resume: str | None = Field(None, max_length=MAX_RESUME_CHARS, pattern=RESUME_PATTERN)
    password: str | None = Field(None, max_length=MAX_PASSWORD_CHARS, repr=False)
    media: HelloMedia = HelloMedia()
    offer: HelloOffer | None = Field(None, repr=False)


class ClientSignal(_ClientModel):
    type: Literal["signal"] = "signal"
    to: Pid
    payload: dict[str, Any]

    @field_validator("payload")
    @classmethod
    def _payload_fits(cls, payload: dict[str, Any]) -> dict[str, Any]:
        if _depth(payload) > MAX_SIGNAL_DEPTH:
            raise PydanticCustomError(
                "signal_too_deep",
                "Object should nest at most {depth} levels deep",
                {"depth": MAX_SIGNAL_DEPTH},
            )
        try:
            size = len(_compact(payload).encode("utf-8"))
        except (TypeError, ValueError):  # UnicodeEncodeError: a lone surrogate
            raise PydanticCustomError(
                "signal_not_json", "Object should contain only JSON values and valid Unicode"
            ) from None
        if size > MAX_SIGNAL_BYTES:
            raise PydanticCustomError(
                "signal_too_large",
                "Object should serialise to at most {limit} bytes, not {size}",
                {"limit": MAX_SIGNAL_BYTES, "size": size},
            )
        return payload


class ClientMedia(_ClientModel):
    type: Literal["media"] = "media"
    mic: bool
    cam: bool
    screen: bool


class ClientHand(_ClientModel):
    type: Literal["hand"] = "hand"
    raised: bool


class ClientChat(_ClientModel):
    type: Literal["chat"] = "chat"
    text: str = Field(min_length=1, max_length=MAX_CHAT_CHARS)


class ClientReaction(_ClientModel):
    """A brief reaction (one emoji), sealed like chat: the server relays it unread, so
    receivers check it against the allowed set; the server bounds its size and rate."""

    type: Literal["reaction"] = "reaction"
    reaction: str = Field(min_length=1, max_length=MAX_REACTION_CHARS)


class ClientAdmit(_ClientModel):
    type: Literal["admit"] = "admit"
    pid: Pid


class ClientAdmitAll(_ClientModel):
    type: Literal["admit_all"] = "admit_all"


class ClientMuteAll(_ClientModel):
    type: Literal["mute_all"] = "mute_all"


class ClientLowerHands(_ClientModel):
    type: Literal["lower_hands"] = "lower_hands"


class ClientDeny(_ClientModel):
    type: Literal["deny"] = "deny"
    pid: Pid


class ClientLock(_ClientModel):
    type: Literal["lock"] = "lock"
    locked: bool


class ClientMute(_ClientModel):
    type: Literal["mute"] = "mute"
    pid: Pid


class ClientAskUnmute(_ClientModel):
    type: Literal["ask_unmute"] = "ask_unmute"
    pid: Pid


class ClientKick(_ClientModel):
    type: Literal["kick"] = "kick"
    pid: Pid


class ClientPromote(_ClientModel):
    type: Literal["promote"] = "promote"
    pid: Pid


class ClientEnd(_ClientModel):
    type: Literal["end"] = "end"


class ClientClearChat(_ClientModel):
    type: Literal["clear_chat"] = "clear_chat"


class ClientLeave(_ClientModel):
    type: Literal["leave"] = "leave"


class ClientPong(_ClientModel):
    type: Literal["pong"] = "pong"


class IceCandidate(_ClientModel):
    """``RTCIceCandidate.toJSON()``."""

    candidate: str = Field(max_length=MAX_CANDIDATE_CHARS)
    sdpMid: str | None = Field(None, max_length=64)
    sdpMLineIndex: int | None = Field(None, ge=0, le=1024)
    usernameFragment: str | None = Field(None, max_length=256)


class ClientSfuPublish(_ClientModel):
    """SFU mode: the offer of the participant's sending connection (again for ICE restarts)."""

    type: Literal["sfu_publish"] = "sfu_publish"
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class ClientSfuAnswer(_ClientModel):
    """SFU mode: the answer to the latest ``sfu_offer`` (the receiving connection)."""

    type: Literal["sfu_answer"] = "sfu_answer"
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class ClientSfuCandidate(_ClientModel):
    """SFU mode: a trickled ICE candidate of one of the two connections; null: no more."""

    type: Literal["sfu_candidate"] = "sfu_candidate"
    target: SfuTarget
    candidate: IceCandidate | None


class ClientSfuQuality(_ClientModel):
    """SFU mode: which simulcast layer of a participant's camera fits its tile."""

    type: Literal["sfu_quality"] = "sfu_quality"
    pid: Pid
    layer: SfuLayer


ClientMessage: TypeAlias = Annotated[
    ClientHello
    | ClientSignal
    | ClientMedia
    | ClientHand
    | ClientChat
    | ClientReaction
    | ClientAdmit
    | ClientAdmitAll
    | ClientMuteAll
    | ClientLowerHands
    | ClientDeny
    | ClientLock
    | ClientMute
    | ClientAskUnmute
    | ClientKick
    | ClientPromote
    | ClientEnd
    | ClientClearChat
    | ClientLeave
    | ClientPong
    | ClientSfuPublish
    | ClientSfuAnswer
    | ClientSfuCandidate
    | ClientSfuQuality,
    Field(discriminator="type"),
]
_CLIENT_ADAPTER: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
CLIENT_MESSAGE_TYPES: Final = frozenset(
    get_args(model.model_fields["type"].annotation)[0]
    for model in get_args(get_args(ClientMessage)[0])
)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Parse one frame. Raises ``ProtocolError`` (and nothing else) on any bad input."""
    data = _decode(raw)
    if not isinstance(data, dict):
        raise ProtocolError("not_object", f"a message must be a JSON object, not {_kind(data)}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("unknown_type", 'a message must have a string "type" field')
    if kind not in CLIENT_MESSAGE_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {_quote(kind)}")
    try:
        return _CLIENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ProtocolError("invalid", _describe(exc)) from None


class _NotJson(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"number {text[:20]} is out of range")
    return value


def _constant(text: str) -> Any:
    raise _NotJson(f"{text} is not JSON")


def _decode(raw: str | bytes) -> Any:
    if len(raw) > MAX_MESSAGE_BYTES or (
        isinstance(raw, str) and len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES
    ):
        raise ProtocolError("too_large", f"a message must be at most {MAX_MESSAGE_BYTES} bytes")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("not_json", "message is not valid UTF-8") from None
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at position {exc.pos}"
        raise ProtocolError("not_json", f"message is not JSON: {detail}") from None
    except _NotJson as exc:
        raise ProtocolError("not_json", f"message is not JSON: {exc}") from None
    except ValueError:  # an integer with more digits than int() converts
        raise ProtocolError("not_json", "message is not JSON: a number is too long") from None
    except RecursionError:
        raise ProtocolError("not_json", "message is not JSON: nested too deeply") from None


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(_field(p) for p in e['loc'])}: {e['msg']}" for e in errors[:3]]
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more")
    return "; ".join(parts)


def _field(part: str | int) -> str:
    """A location part, printable and short even when a client invents the field name."""
    text = str(part)
    return text if _PLAIN_FIELD.fullmatch(text) else _quote(text)


_PLAIN_FIELD: Final = re.compile(r"[A-Za-z0-9_]{1,40}")


def _kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _quote(text: str) -> str:
    return json.dumps(text if len(text) <= 40 else text[:40] + "...")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value (iterative: deep input must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


# --- server -> client -----------------------------------------------------------------


class _ServerModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_json(self) -> str:
        """Compact JSON text for one WebSocket frame."""
        return self.model_dump_json(by_alias=True)


class ParticipantInfo(_ServerModel):
    """One participant as the others see it. ``host``: may moderate. ``uid``: a stable,
    pseudonymous id of the account (clients pin identity keys to it)."""

    pid: str
    uid: str
    name: str
    role: ParticipantRole
    host: bool
    mic: bool
    cam: bool
    screen: bool
    hand: bool
    hand_order: int = 0  # raised hands in the order of raising: 1, 2, ...; 0 when down


class LobbyEntryInfo(_ServerModel):
    pid: str
    name: str
    role: ParticipantRole


class Welcome(_ServerModel):
    type: Literal["welcome"] = "welcome"
    version: int = PROTOCOL_VERSION
    you: str
    uid: str
    role: ParticipantRole
    host: bool
    participants: tuple[ParticipantInfo, ...]
    locked: bool
    resume: str = Field(repr=False)
    media_mode: MediaMode = "p2p"
    offer_to: str | None = None


class Lobby(_ServerModel):
    type: Literal["lobby"] = "lobby"
    reason: str


class Admitted(_ServerModel):
    type: Literal["admitted"] = "admitted"


class Denied(_ServerModel):
    type: Literal["denied"] = "denied"
    reason: str


class ParticipantJoined(_ServerModel):
    type: Literal["participant_joined"] = "participant_joined"
    participant: ParticipantInfo
    returning: bool = False  # back after a reconnect or a server restart: not news


class ParticipantUpdated(_ServerModel):
    type: Literal["participant_updated"] = "participant_updated"
    participant: ParticipantInfo


class ParticipantLeft(_ServerModel):
    type: Literal["participant_left"] = "participant_left"
    pid: str
    reason: LeaveReason


class LobbyWaiting(_ServerModel):
    type: Literal["lobby_waiting"] = "lobby_waiting"
    entries: tuple[LobbyEntryInfo, ...]


class SignalRelay(_ServerModel):
    type: Literal["signal"] = "signal"
    from_: str = Field(alias="from")
    payload: dict[str, Any]


class ChatRelay(_ServerModel):
    type: Literal["chat"] = "chat"
    from_: str = Field(alias="from")
    name: str
    text: str
    id: int
    ts: int


class ReactionRelay(_ServerModel):
    type: Literal["reaction"] = "reaction"
    from_: str = Field(alias="from")
    reaction: str


class ChatCleared(_ServerModel):
    type: Literal["chat_cleared"] = "chat_cleared"
    by: str


class Muted(_ServerModel):
    type: Literal["muted"] = "muted"
    by: str


class UnmuteRequested(_ServerModel):
    type: Literal["unmute_requested"] = "unmute_requested"
    by: str


class Locked(_ServerModel):
    type: Literal["locked"] = "locked"
    locked: bool
    by: str


class Ended(_ServerModel):
    type: Literal["ended"] = "ended"
    by: str


class Kicked(_ServerModel):
    type: Literal["kicked"] = "kicked"
    by: str


class Error(_ServerModel):
    """``code`` is machine-readable (see docs/protocol.md), ``message`` is for people."""

    type: Literal["error"] = "error"
    code: str
    message: str


class Ping(_ServerModel):
    """Sent every few seconds; ``resume`` refreshes the participant's resume token."""

    type: Literal["ping"] = "ping"
    resume: str | None = Field(None, repr=False)


class MediaModeChanged(_ServerModel):
    """The meeting's media now goes this way (``sfu``: through the SFU, from the third
    participant on in ``auto`` mode). Clients close their peer connections and publish."""

    type: Literal["media_mode"] = "media_mode"
    mode: MediaMode


class SfuStream(_ServerModel):
    """One media section of the receiving connection: whose it is and which of their
    sending transceivers (``source_mid``: "0" microphone, "1" camera, "2" screen)."""

    mid: str
    pid: str
    kind: Literal["audio", "video"]
    source_mid: str


class SfuAnswer(_ServerModel):
    type: Literal["sfu_answer"] = "sfu_answer"
    sdp: str


class SfuOffer(_ServerModel):
    """A new or changed offer for the receiving connection; answer with ``sfu_answer``."""

    type: Literal["sfu_offer"] = "sfu_offer"
    sdp: str
    streams: tuple[SfuStream, ...]


class SfuRestart(_ServerModel):
    """The SFU lost the meeting's media (it restarted): publish again."""

    type: Literal["sfu_restart"] = "sfu_restart"


class IceServerInfo(_ServerModel):
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = Field(None, repr=False)


class Session(_ServerModel):
    """The server's settings for this participant, sent before ``welcome``/``lobby``."""

    type: Literal["session"] = "session"
    name: str
    ice_servers: tuple[IceServerInfo, ...]
    ice_transport_policy: Literal["all", "relay"] = "all"
    simulcast: bool = True
    e2ee_required: bool
    media_mode: str
    mesh_limit: int


ServerMessage: TypeAlias = Annotated[
    Welcome
    | Lobby
    | Admitted
    | Denied
    | ParticipantJoined
    | ParticipantUpdated
    | ParticipantLeft
    | LobbyWaiting
    | SignalRelay
    | ChatRelay
    | ReactionRelay
    | ChatCleared
    | Muted
    | UnmuteRequested
    | Locked
    | Ended
    | Kicked
    | Error
    | Ping
    | Session
    | MediaModeChanged
    | SfuAnswer
    | SfuOffer
    | SfuRestart,
    Field(discriminator="type"),
]
_SERVER_ADAPTER: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """The inverse of ``to_json()``, for tests and Python clients (raises ValidationError)."""
    return _SERVER_ADAPTER.validate_json(raw)
