"""The room's event handlers: one small function per event type and a dispatch table.

``room.apply`` is the public entry point (it also answers everything after the end with
``Close``); ``handle`` checks who may send what, then calls the handler. Split from
``room.py`` only to keep both files short; the types live there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from conclave.signaling import protocol as p
from conclave.signaling.protocol import CloseCode
from conclave.signaling.room import (
    ENDED_REASON,
    Action,
    Admit,
    AdmitAll,
    AskUnmute,
    Broadcast,
    Chat,
    ClearChat,
    ClientEvent,
    Close,
    Deny,
    Disconnect,
    End,
    Event,
    Hand,
    Join,
    Kick,
    Leave,
    LobbyEntry,
    Lock,
    LowerHands,
    Media,
    MeetingEnded,
    Mute,
    MuteAll,
    Outcome,
    Participant,
    Promote,
    Reaction,
    Reinvited,
    Resume,
    RevokeAccess,
    RoomState,
    Send,
    Signal,
    frozen_map,
    participant_role,
)

Gate = Literal["anyone", "participant", "host"]
_V = TypeVar("_V")
FULL = "the meeting is full"
REMOVED = "you were removed from this meeting"
DENIED = "a host denied your request to join"


def handle(state: RoomState, event: Event) -> Outcome:
    gate, handler = _TABLE[type(event)]
    if isinstance(event, ClientEvent) and gate != "anyone":
        refusal = _check_sender(state, event.sender, gate)
        if refusal is not None:
            return state, refusal
    return handler(state, event)


def _check_sender(state: RoomState, sender: str, gate: Gate) -> list[Action] | None:
    """None when ``sender`` may go on; else what to answer (nothing for a stale pid)."""
    who = state.participants.get(sender)
    if who is None:
        if sender in state.lobby:
            return [_error(sender, "not_admitted", "wait until a host admits you")]
        return []
    if gate == "host" and not who.host:
        return [_error(sender, "not_host", "only a host may do that")]
    return None


# --- helpers ------------------------------------------------------------------------------


def _error(pid: str, code: str, message: str) -> Send:
    return Send(pid, p.Error(code=code, message=message))


def _unknown(sender: str, pid: str, where: str = "in this meeting") -> list[Action]:
    return [_error(sender, "unknown_participant", f"{pid!r} is not {where}")]


def _refuse(pid: str, code: str, close: CloseCode, message: str) -> list[Action]:
    return [_error(pid, code, message), Close(pid, close, message)]


def _with(mapping: Mapping[str, _V], key: str, value: _V) -> Mapping[str, _V]:
    return frozen_map({**mapping, key: value})


def _without(mapping: Mapping[str, _V], keys: Iterable[str]) -> Mapping[str, _V]:
    gone = set(keys)
    return frozen_map({k: v for k, v in mapping.items() if k not in gone})


def _full(state: RoomState) -> bool:
    return len(state.participants) >= state.max_participants


def _in_use(state: RoomState, pid: str) -> bool:
    return pid in state.participants or pid in state.lobby


def _lobby_news(state: RoomState, pids: Iterable[str] | None = None) -> list[Action]:
    """``lobby_waiting`` to every host, or to ``pids``."""
    message = p.LobbyWaiting(entries=tuple(e.info() for e in state.lobby.values()))
    return [Send(pid, message) for pid in (state.hosts() if pids is None else pids)]


def _enter(
    state: RoomState,
    who: Participant,
    token: str,
    offer: str | None = None,
    *,
    returning: bool = False,
) -> Outcome:
    """Seat an admitted participant: welcome (listing the others), tell the others. The
    one who makes the meeting big enough for the SFU moves everyone there.

    ``offer``: the offer from the newcomer's ``hello``. In a direct call it goes to the
    participant who has been here longest, ahead of ``participant_joined``, so that the
    answer is under way while everyone's page shows the newcomer; ``welcome`` names the
    one who got it (``offer_to``). Otherwise it is dropped and the client offers anew.

    ``returning``: the participant was here a moment ago (a resume, also after a server
    restart); ``participant_joined`` says so, and pages do not announce them as news."""
    new = _media_mode_for(replace(state, participants=_with(state.participants, who.pid, who)))
    target = next(iter(state.participants), None) if new.media_mode == "p2p" else None
    offered: list[Action] = []
    if offer is not None and target is not None:
        payload = {"description": {"type": "offer", "sdp": offer}}
        offered = [Send(target, p.SignalRelay(from_=who.pid, payload=payload))]
    welcome = p.Welcome(
        you=who.pid,
        uid=who.user_id,
        role=who.role,
        host=who.host,
        locked=state.locked,
        resume=token,
        participants=tuple(x.info() for x in state.participants.values()),
        media_mode=new.media_mode,
        offer_to=target if offered else None,
    )
    joined = p.ParticipantJoined(participant=who.info(), returning=returning)
    actions: list[Action] = [Send(who.pid, welcome), *offered]
    actions.append(Broadcast(joined, frozenset({who.pid})))
    if new.media_mode != state.media_mode:
        actions.append(Broadcast(p.MediaModeChanged(mode=new.media_mode), frozenset({who.pid})))
    return new, actions


def _media_mode_for(state: RoomState) -> RoomState:
    """P2P until ``sfu_from`` people take part; then the SFU for the rest of the meeting
    (going back would interrupt everyone's media a second time for little gain)."""
    if state.media_mode == "p2p" and 0 < state.sfu_from <= len(state.participants):
        return replace(state, media_mode="sfu")
    return state


def _show_lobby_to(state: RoomState, who: Participant) -> list[Action]:
    return _lobby_news(state, [who.pid]) if who.host and state.lobby else []


def _update(state: RoomState, who: Participant) -> Outcome:
    """Replace a participant; ``participant_updated`` to everyone if anything changed."""
    if state.participants.get(who.pid) == who:
        return state, []
    new = replace(state, participants=_with(state.participants, who.pid, who))
    return new, [Broadcast(p.ParticipantUpdated(participant=who.info()))]


def _depart(state: RoomState, pid: str, reason: p.LeaveReason, bye: list[Action]) -> Outcome:
    if pid in state.participants:
        new = replace(state, participants=_without(state.participants, [pid]))
        return new, [*bye, Broadcast(p.ParticipantLeft(pid=pid, reason=reason))]
    if pid in state.lobby:
        new = replace(state, lobby=_without(state.lobby, [pid]))
        return new, [*bye, *_lobby_news(new)]
    return state, []


# --- connection events --------------------------------------------------------------------


def _join(state: RoomState, event: Join) -> Outcome:
    if _in_use(state, event.pid):
        return state, [Close(event.pid, CloseCode.PROTOCOL_ERROR, "participant id in use")]
    if event.user_id in state.removed:
        return state, _refuse(event.pid, "removed", CloseCode.REFUSED, REMOVED)
    host = event.host or event.user_id in state.promoted
    role = participant_role(event.role)
    if not host and (event.decision == "lobby" or state.locked):
        reason = event.reason if event.decision == "lobby" else "the meeting is locked"
        entry = LobbyEntry(event.pid, event.user_id, event.name, role, reason, event.resume_token)
        new = replace(state, lobby=_with(state.lobby, event.pid, entry))
        return new, [Send(event.pid, p.Lobby(reason=reason)), *_lobby_news(new)]
    if _full(state):
        return state, _refuse(event.pid, "meeting_full", CloseCode.MEETING_FULL, FULL)
    who = Participant(event.pid, event.user_id, event.name, role, host, event.mic, event.cam)
    new, actions = _enter(state, who, event.resume_token, event.offer, returning=event.returning)
    return new, [*actions, *_show_lobby_to(new, who)]


def _resume(state: RoomState, event: Resume) -> Outcome:
    if _in_use(state, event.pid):
        return state, [Close(event.pid, CloseCode.PROTOCOL_ERROR, "participant id in use")]
    if event.user_id in state.removed:
        return state, _refuse(event.pid, "removed", CloseCode.REFUSED, REMOVED)
    old = state.participants.get(event.previous_pid)
    if old is not None and old.user_id != event.user_id:
        old = None
    if len(state.participants) - (old is not None) >= state.max_participants:
        return state, _refuse(event.pid, "meeting_full", CloseCode.MEETING_FULL, FULL)
    actions: list[Action] = []
    if old is not None:
        state = replace(state, participants=_without(state.participants, [old.pid]))
        left = p.ParticipantLeft(pid=old.pid, reason="disconnected")
        actions += [
            Close(old.pid, CloseCode.REPLACED, "connected again elsewhere"),
            Broadcast(left, frozenset({event.pid})),
        ]
    host = event.host or event.user_id in state.promoted or (old is not None and old.host)
    role = participant_role(event.role)
    who = Participant(event.pid, event.user_id, event.name, role, host, event.mic, event.cam)
    new, entered = _enter(state, who, event.resume_token, returning=True)
    return new, [*actions, *entered, *_show_lobby_to(new, who)]


def _reinvited(state: RoomState, event: Reinvited) -> Outcome:
    return replace(state, removed=state.removed - {event.user_id}), []


def _disconnect(state: RoomState, event: Disconnect) -> Outcome:
    return _depart(state, event.pid, "disconnected", [])


def _leave(state: RoomState, event: Leave) -> Outcome:
    return _depart(state, event.sender, "left", [Close(event.sender, CloseCode.NORMAL, "left")])


# --- participant messages -----------------------------------------------------------------


def _signal(state: RoomState, event: Signal) -> Outcome:
    if event.to == event.sender:
        return state, [_error(event.sender, "invalid_target", "you cannot signal yourself")]
    if event.to not in state.participants:
        return state, _unknown(event.sender, event.to)
    relay = p.SignalRelay(from_=event.sender, payload=dict(event.payload))
    return state, [Send(event.to, relay)]


def _media(state: RoomState, event: Media) -> Outcome:
    who = state.participants[event.sender]
    return _update(state, replace(who, mic=event.mic, cam=event.cam, screen=event.screen))


def _hand(state: RoomState, event: Hand) -> Outcome:
    who = state.participants[event.sender]
    if who.hand == event.raised:
        return state, []
    if not event.raised:
        return _update(state, replace(who, hand=False, hand_order=0))
    order = state.hand_counter + 1
    raised = replace(who, hand=True, hand_order=order)
    return _update(replace(state, hand_counter=order), raised)


def _reaction(state: RoomState, event: Reaction) -> Outcome:
    relay = p.ReactionRelay(from_=event.sender, reaction=event.reaction)
    return state, [Broadcast(relay, frozenset({event.sender}))]


def _chat(state: RoomState, event: Chat) -> Outcome:
    who = state.participants[event.sender]
    number = state.chat_counter + 1
    chat = p.ChatRelay(from_=who.pid, name=who.name, text=event.text, id=number, ts=event.now_ms)
    return replace(state, chat_counter=number), [Broadcast(chat)]


# --- host messages ------------------------------------------------------------------------


def _admit(state: RoomState, event: Admit) -> Outcome:
    entry = state.lobby.get(event.pid)
    if entry is None:
        return state, _unknown(event.sender, event.pid, "waiting in the lobby")
    if _full(state):
        return state, [_error(event.sender, "meeting_full", FULL)]
    who = Participant(
        entry.pid, entry.user_id, entry.name, entry.role, host=entry.user_id in state.promoted
    )
    waiting = replace(state, lobby=_without(state.lobby, [entry.pid]))
    new, actions = _enter(waiting, who, entry.resume_token)
    return new, [Send(who.pid, p.Admitted()), *actions, *_lobby_news(new)]


def _admit_all(state: RoomState, event: AdmitAll) -> Outcome:
    """Everyone in the lobby, in the order they knocked, as far as the room has seats."""
    actions: list[Action] = []
    for pid in list(state.lobby):
        if _full(state):
            actions.append(_error(event.sender, "meeting_full", FULL))
            break
        state, admitted = _admit(state, Admit(event.sender, pid))
        actions += admitted
    return state, actions


def _mute_all(state: RoomState, event: MuteAll) -> Outcome:
    """Every open microphone but the host's own."""
    actions: list[Action] = []
    for pid, who in list(state.participants.items()):
        if pid != event.sender and who.mic:
            state, muted = _mute(state, Mute(event.sender, pid))
            actions += muted
    return state, actions


def _lower_hands(state: RoomState, event: LowerHands) -> Outcome:
    actions: list[Action] = []
    for who in list(state.participants.values()):
        if who.hand:
            state, lowered = _update(state, replace(who, hand=False, hand_order=0))
            actions += lowered
    return state, actions


def _deny(state: RoomState, event: Deny) -> Outcome:
    if event.pid not in state.lobby:
        return state, _unknown(event.sender, event.pid, "waiting in the lobby")
    new = replace(state, lobby=_without(state.lobby, [event.pid]))
    bye: list[Action] = [
        Send(event.pid, p.Denied(reason=DENIED)),
        Close(event.pid, CloseCode.DENIED, DENIED),
    ]
    return new, [*bye, *_lobby_news(new)]


def _lock(state: RoomState, event: Lock) -> Outcome:
    locked = p.Locked(locked=event.locked, by=event.sender)
    return replace(state, locked=event.locked), [Broadcast(locked)]


def _mute(state: RoomState, event: Mute) -> Outcome:
    target = state.participants.get(event.pid)
    if target is None:
        return state, _unknown(event.sender, event.pid)
    new, updates = _update(state, replace(target, mic=False))
    return new, [Send(target.pid, p.Muted(by=event.sender)), *updates]


def _ask_unmute(state: RoomState, event: AskUnmute) -> Outcome:
    if event.pid not in state.participants:
        return state, _unknown(event.sender, event.pid)
    return state, [Send(event.pid, p.UnmuteRequested(by=event.sender))]


def _kick(state: RoomState, event: Kick) -> Outcome:
    target = state.participants.get(event.pid)
    if target is None:
        return state, _unknown(event.sender, event.pid)
    user = target.user_id
    if user == state.participants[event.sender].user_id:
        return state, [_error(event.sender, "invalid_target", "you cannot remove yourself")]
    seated = [pid for pid, x in state.participants.items() if x.user_id == user]
    waiting = [pid for pid, x in state.lobby.items() if x.user_id == user]
    new = replace(
        state,
        participants=_without(state.participants, seated),
        lobby=_without(state.lobby, waiting),
        removed=state.removed | {user},
        promoted=state.promoted - {user},
    )
    actions: list[Action] = []
    for pid in [*seated, *waiting]:
        reason = "removed by a host"
        actions += [Send(pid, p.Kicked(by=event.sender)), Close(pid, CloseCode.KICKED, reason)]
    actions += [Broadcast(p.ParticipantLeft(pid=pid, reason="kicked")) for pid in seated]
    actions.append(RevokeAccess(user))
    return new, [*actions, *(_lobby_news(new) if waiting else [])]


def _promote(state: RoomState, event: Promote) -> Outcome:
    target = state.participants.get(event.pid)
    if target is None:
        return state, _unknown(event.sender, event.pid)
    host = replace(target, host=True)
    new, updates = _update(replace(state, promoted=state.promoted | {host.user_id}), host)
    return new, [*updates, *(_show_lobby_to(new, host) if updates else [])]


def _end(state: RoomState, event: End) -> Outcome:
    everyone = [*state.participants, *state.lobby]
    ended = p.Ended(by=event.sender)
    actions: list[Action] = [Send(pid, ended) for pid in everyone]
    actions += [Close(pid, CloseCode.ENDED, ENDED_REASON) for pid in everyone]
    actions.append(MeetingEnded())
    return replace(state, ended=True, participants=frozen_map(), lobby=frozen_map()), actions


def _clear_chat(state: RoomState, event: ClearChat) -> Outcome:
    return state, [Broadcast(p.ChatCleared(by=event.sender))]


_TABLE: Mapping[type, tuple[Gate, Callable[[RoomState, Any], Outcome]]] = MappingProxyType(
    {
        Join: ("anyone", _join),
        Resume: ("anyone", _resume),
        Reinvited: ("anyone", _reinvited),
        Disconnect: ("anyone", _disconnect),
        Leave: ("anyone", _leave),
        Signal: ("participant", _signal),
        Media: ("participant", _media),
        Hand: ("participant", _hand),
        Chat: ("participant", _chat),
        Reaction: ("participant", _reaction),
        Admit: ("host", _admit),
        AdmitAll: ("host", _admit_all),
        MuteAll: ("host", _mute_all),
        LowerHands: ("host", _lower_hands),
        Deny: ("host", _deny),
        Lock: ("host", _lock),
        Mute: ("host", _mute),
        AskUnmute: ("host", _ask_unmute),
        Kick: ("host", _kick),
        Promote: ("host", _promote),
        End: ("host", _end),
        ClearChat: ("host", _clear_chat),
    }
)
