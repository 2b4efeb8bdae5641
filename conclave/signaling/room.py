"""One meeting room as a pure state machine: ``apply(state, event) -> (state, actions)``.

No I/O, no clock, no randomness: the hub turns sockets into events, applies them one at a
time (one owner per room) and carries out the returned actions in order. Everything here is
frozen; every change makes a new ``RoomState``.

Decisions worth knowing (docs/protocol.md explains them for client authors):
- Resume tokens are made by the hub, not here: ``Join`` and ``Resume`` carry a fresh
  ``resume_token`` the hub generated for that connection; a lobby entry keeps it until it
  is admitted; the room only copies it into the ``welcome``. The hub learns that a token is
  live when it delivers the ``welcome`` that contains it, and then issues it afresh (a
  token made when someone knocked predates their time in the lobby, which voids it).
- ``Broadcast`` goes to the participants of the state returned by the same ``apply`` call,
  minus ``exclude``; never to the lobby.
- When the last host leaves nobody is promoted: the participants stay, the lobby waits until
  a host joins again. A host's promotion is remembered per user for the room's lifetime, so
  a promoted participant who reconnects is a host again.
- Removed (kicked) users stay refused until the hub applies ``Reinvited`` for them.
- The hub must give every connection a new pid; a ``Join`` whose pid is in use is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, TypeVar

from conclave.signaling import protocol as p
from conclave.signaling.protocol import CloseCode

AccountRole = Literal["admin", "member", "guest"]
Decision = Literal["admit", "lobby"]
_V = TypeVar("_V")


def frozen_map(items: Mapping[str, _V] | None = None) -> Mapping[str, _V]:
    """A read-only, insertion-ordered copy."""
    return MappingProxyType(dict(items or {}))


def participant_role(role: AccountRole) -> p.ParticipantRole:
    """What others see: administrators are members like anyone else in a meeting."""
    return "guest" if role == "guest" else "member"


# --- state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    pid: str
    user_id: str
    name: str
    role: p.ParticipantRole
    host: bool
    mic: bool = False
    cam: bool = False
    screen: bool = False
    hand: bool = False
    hand_order: int = 0

    def info(self) -> p.ParticipantInfo:
        return p.ParticipantInfo(
            pid=self.pid,
            uid=self.user_id,
            name=self.name,
            role=self.role,
            host=self.host,
            mic=self.mic,
            cam=self.cam,
            screen=self.screen,
            hand=self.hand,
            hand_order=self.hand_order,
        )


@dataclass(frozen=True)
class LobbyEntry:
    pid: str
    user_id: str
    name: str
    role: p.ParticipantRole
    reason: str
    resume_token: str = field(repr=False)

    def info(self) -> p.LobbyEntryInfo:
        return p.LobbyEntryInfo(pid=self.pid, name=self.name, role=self.role)


@dataclass(frozen=True)
class RoomState:
    meeting_id: str
    max_participants: int
    participants: Mapping[str, Participant] = field(default_factory=frozen_map)
    lobby: Mapping[str, LobbyEntry] = field(default_factory=frozen_map)
    locked: bool = False
    removed: frozenset[str] = frozenset()  # user ids kicked from this meeting
    promoted: frozenset[str] = frozenset()  # user ids made hosts during this meeting
    ended: bool = False
    chat_counter: int = 0
    hand_counter: int = 0  # raised hands so far: the order in which hands went up
    media_mode: p.MediaMode = "p2p"
    sfu_from: int = 0  # move to the SFU once this many take part (0: never; set by the hub)

    def hosts(self) -> list[str]:
        return [pid for pid, x in self.participants.items() if x.host]


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    """A new connection, already authorised by the access service (``decision``)."""

    pid: str
    user_id: str
    name: str
    role: AccountRole
    host: bool
    decision: Decision
    reason: str
    resume_token: str = field(repr=False)
    mic: bool = False
    cam: bool = False
    offer: str | None = field(default=None, repr=False)  # hello's offer (SDP), see _enter
    returning: bool = False  # resumed (a valid resume token): the others saw them a moment ago


@dataclass(frozen=True)
class Resume:
    """A reconnection with a valid resume token that the hub issued to ``previous_pid``."""

    pid: str
    user_id: str
    name: str
    role: AccountRole
    host: bool
    previous_pid: str
    resume_token: str = field(repr=False)
    mic: bool = False
    cam: bool = False


@dataclass(frozen=True)
class Reinvited:
    """The user was invited again, so a kick no longer keeps them out."""

    user_id: str


@dataclass(frozen=True)
class Disconnect:
    pid: str


@dataclass(frozen=True)
class ClientEvent:
    """Base of the events made from client messages; ``sender`` is the sender's pid."""

    sender: str


@dataclass(frozen=True)
class Signal(ClientEvent):
    to: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Media(ClientEvent):
    mic: bool
    cam: bool
    screen: bool


@dataclass(frozen=True)
class Hand(ClientEvent):
    raised: bool


@dataclass(frozen=True)
class Chat(ClientEvent):
    text: str
    now_ms: int


@dataclass(frozen=True)
class Reaction(ClientEvent):
    reaction: str


@dataclass(frozen=True)
class Admit(ClientEvent):
    pid: str


@dataclass(frozen=True)
class AdmitAll(ClientEvent):
    pass


@dataclass(frozen=True)
class MuteAll(ClientEvent):
    pass


@dataclass(frozen=True)
class LowerHands(ClientEvent):
    pass


@dataclass(frozen=True)
class Deny(ClientEvent):
    pid: str


@dataclass(frozen=True)
class Lock(ClientEvent):
    locked: bool


@dataclass(frozen=True)
class Mute(ClientEvent):
    pid: str


@dataclass(frozen=True)
class AskUnmute(ClientEvent):
    pid: str


@dataclass(frozen=True)
class Kick(ClientEvent):
    pid: str


@dataclass(frozen=True)
class Promote(ClientEvent):
    pid: str


@dataclass(frozen=True)
class End(ClientEvent):
    pass


@dataclass(frozen=True)
class ClearChat(ClientEvent):
    pass


@dataclass(frozen=True)
class Leave(ClientEvent):
    pass


Event: TypeAlias = (
    Join
    | Resume
    | Reinvited
    | Disconnect
    | Signal
    | Media
    | Hand
    | Chat
    | Reaction
    | Admit
    | AdmitAll
    | MuteAll
    | LowerHands
    | Deny
    | Lock
    | Mute
    | AskUnmute
    | Kick
    | Promote
    | End
    | ClearChat
    | Leave
)


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    pid: str
    message: p.ServerMessage


@dataclass(frozen=True)
class Broadcast:
    """To every participant of the resulting state except ``exclude`` (never the lobby)."""

    message: p.ServerMessage
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Close:
    pid: str
    code: CloseCode
    reason: str


@dataclass(frozen=True)
class RevokeAccess:
    """Revoke the user's invitation to this meeting in the database."""

    user_id: str


@dataclass(frozen=True)
class MeetingEnded:
    pass


Action: TypeAlias = Send | Broadcast | Close | RevokeAccess | MeetingEnded
Outcome: TypeAlias = tuple[RoomState, list[Action]]
ENDED_REASON = "the meeting has ended"


def apply(state: RoomState, event: Event) -> Outcome:
    """The room's reaction to one event. Never raises for well-typed input."""
    # Imported here: the handlers module builds on the types above.
    from conclave.signaling.room_handlers import handle

    if state.ended:
        pid = _actor(event)
        return state, [] if pid is None else [Close(pid, CloseCode.ENDED, ENDED_REASON)]
    return handle(state, event)


def _actor(event: Event) -> str | None:
    if isinstance(event, ClientEvent):
        return event.sender
    if isinstance(event, Reinvited):
        return None
    return event.pid


def from_client_message(sender: str, message: p.ClientMessage, now_ms: int) -> Event | None:
    """The room event for a parsed client message; None for ``hello``/``pong`` (hub-level)."""
    match message:
        case p.ClientSignal(to=to, payload=payload):
            return Signal(sender, to, payload)
        case p.ClientMedia(mic=mic, cam=cam, screen=screen):
            return Media(sender, mic, cam, screen)
        case p.ClientHand(raised=raised):
            return Hand(sender, raised)
        case p.ClientChat(text=text):
            return Chat(sender, text, now_ms)
        case p.ClientLock(locked=locked):
            return Lock(sender, locked)
        case p.ClientReaction(reaction=reaction):
            return Reaction(sender, reaction)
        case p.ClientAdmit(pid=pid):
            return Admit(sender, pid)
        case p.ClientAdmitAll():
            return AdmitAll(sender)
        case p.ClientMuteAll():
            return MuteAll(sender)
        case p.ClientLowerHands():
            return LowerHands(sender)
        case p.ClientDeny(pid=pid):
            return Deny(sender, pid)
        case p.ClientMute(pid=pid):
            return Mute(sender, pid)
        case p.ClientAskUnmute(pid=pid):
            return AskUnmute(sender, pid)
        case p.ClientKick(pid=pid):
            return Kick(sender, pid)
        case p.ClientPromote(pid=pid):
            return Promote(sender, pid)
        case p.ClientEnd():
            return End(sender)
        case p.ClientClearChat():
            return ClearChat(sender)
        case p.ClientLeave():
            return Leave(sender)
    return None
