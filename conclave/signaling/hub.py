"""The WebSocket hub: admits connections, owns every room's state, carries out actions.

Everything here runs on the event loop. A room's state changes only inside ``_apply``,
which never awaits, so events of one room are applied one at a time without locks. Each
connection's socket is written only by its own writer task (``connection.py``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from fastapi.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from conclave.audit import events as audit_events
from conclave.errors import InvalidInput, NotFound, RateLimited
from conclave.media.sfu import Sfu
from conclave.media.turn import ice_servers, turn_pseudonym
from conclave.meetings.access import Decision
from conclave.meetings.resume import TTL as RESUME_TTL
from conclave.meetings.resume import ResumeTokens
from conclave.services import Services
from conclave.signaling import protocol as p
from conclave.signaling.connection import Connection
from conclave.signaling.endings import Endings
from conclave.signaling.protocol import CloseCode, ProtocolError
from conclave.signaling.room import Broadcast as BroadcastAction
from conclave.signaling.room import (
    Close,
    Disconnect,
    Event,
    Join,
    Reinvited,
    Resume,
    RevokeAccess,
    RoomState,
    Send,
    apply,
    from_client_message,
)
from conclave.signaling.sfu_relay import SFU_MESSAGES, SfuMessage, SfuRelay
from conclave.signaling.voids import Voids
from conclave.store.records import User

log = logging.getLogger("conclave.signaling")

# A page opens its socket while its user is still on the pre-join screen and says hello on
# "Join"; so a socket may wait this long for hello, and a session may keep this many waiting.
HELLO_SECONDS = 600.0
MAX_WAITING_PER_SESSION = 4
MAX_WAITING = 2000  # in all: beyond, pages open their socket on the click, as before
SESSION_FRESH_SECONDS = 10.0  # the session checked at the upgrade is checked again after this
IDLE_SECONDS = 25.0  # no message, not even a pong, for this long: the client is gone
# Every meeting connection's login session is checked this often: one that ended out of
# band (``conclave user set-password``, expiry) closes its connections; the others are
# kept fresh, since a person in a meeting is active though the page makes no requests.
SESSION_SWEEP_SECONDS = 30.0
MAX_STRIKES = 5  # malformed messages tolerated before the connection is closed
RATE_PER_SECOND = 50.0
RATE_BURST = 200.0
# Reactions and hand toggles reach everyone in the room: a tighter budget of their own, so
# one person cannot flood a meeting with them (beyond it: error ``rate_limited``, dropped).
SHOWN_PER_SECOND = 2.0
SHOWN_BURST = 10.0
SHOWN_TO_EVERYONE = (p.ClientReaction, p.ClientHand)

REFUSALS = {
    "not_invited": "You are not invited to this meeting.",
    "wrong_password": "The meeting password is wrong.",
    "account_disabled": "This account is disabled.",
    "invitation_expired": "Your invitation has expired.",
    "removed": "You were removed from this meeting.",
    "guests_not_allowed": "Guests may not enter meetings on this server.",
    "ended": "The meeting has ended.",
}
SIGNED_OUT = "signed out"


@dataclass
class RoomRuntime:
    state: RoomState
    connections: dict[str, Connection] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.connections and not self.state.participants and not self.state.lobby


class TokenBucket:
    __slots__ = ("burst", "clock", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = burst, clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass(frozen=True)
class Entry:
    """Who is connecting, as the web layer established it."""

    user: User
    session_id: int
    meeting_id: str
    client: str
    at: float = field(default_factory=time.time)  # when the session was looked up


class Hub:
    def __init__(self, services: Services, sfu: Sfu | None = None) -> None:
        self.services = services
        self.relay = SfuRelay(sfu or Sfu.unavailable(), self._deliver, self._broadcast)
        self.rooms: dict[str, RoomRuntime] = {}
        self.resume = ResumeTokens(services.secret)
        self.voids = Voids()  # what a resume token or a waiting socket no longer gets past
        self.endings = Endings(services)
        self._revoking: set[tuple[str, int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.idle_seconds = IDLE_SECONDS
        self._uid_key = hmac.new(services.secret, b"conclave uid", hashlib.sha256).digest()
        self._uids: dict[str, int] = {}
        self._waiting: dict[int, int] = {}  # session id -> sockets that wait for hello
        self._waiting_in_all = 0

    # -- connection lifecycle --------------------------------------------------------
    async def run(self, websocket: WebSocket, entry: Entry) -> None:
        """Serve one accepted WebSocket until it closes."""
        connection = await self._admit(websocket, entry)
        if connection is None:
            return
        writer = asyncio.create_task(connection.write_loop())
        try:
            await self._read_loop(connection)
        finally:
            self._gone(connection)
            connection.close(CloseCode.NORMAL, "bye")
            await writer
        log.info("left", extra={"event": "leave", "user_id": connection.user_id})

    async def _admit(self, websocket: WebSocket, entry: Entry) -> Connection | None:
        """``hello``, the identity key, the access decision; the connection in its room, or
        None (refused). What only admission needs ends with this frame, not with the
        connection (a meeting holds many connections for hours)."""
        opened = time.monotonic()
        hello = await self._receive_hello(websocket, entry.session_id)
        if hello is None:
            return None
        if time.monotonic() - opened > SESSION_FRESH_SECONDS and not await self._still_signed_in(
            websocket, entry
        ):
            return None
        if hello.identity is not None and not await self._register(
            websocket, entry, hello.identity
        ):
            return None
        decision = await self._decide(websocket, entry, hello)
        if decision is None:
            return None
        if (entry.meeting_id, entry.user.id) in self._revoking:  # removed while we decided
            await _refuse(websocket, CloseCode.REFUSED, "removed", REFUSALS["removed"])
            return None
        # Signed out while the socket waited for hello or we decided.
        if self.voids.session_over(entry.session_id, entry.user.id, entry.at):
            code = CloseCode.NOT_AUTHENTICATED
            await _refuse(websocket, code, "not_authenticated", "Please sign in.")
            return None
        connection = Connection(
            websocket,
            pid=secrets.token_urlsafe(9),
            user_id=entry.user.id,
            session_id=entry.session_id,
            meeting_id=entry.meeting_id,
            resume=self.resume,
            idle_seconds=self.idle_seconds,
            on_silent=self._gone,
        )
        try:
            self._enter(connection, entry, decision, hello)
        except BaseException:
            self._gone(connection)
            raise
        return connection

    async def _still_signed_in(self, websocket: WebSocket, entry: Entry) -> bool:
        """The session checked at the upgrade again: the user may have signed out (or the
        session expired) while the socket waited for hello."""
        if await run_in_threadpool(self.services.accounts.session_alive, entry.session_id):
            return True
        code = CloseCode.NOT_AUTHENTICATED
        await _refuse(websocket, code, "not_authenticated", "Please sign in.")
        return False

    async def _receive_hello(self, websocket: WebSocket, session_id: int) -> p.ClientHello | None:
        waiting = self._waiting.get(session_id, 0)
        if waiting >= MAX_WAITING_PER_SESSION or self._waiting_in_all >= MAX_WAITING:
            text = "Too many connections wait for hello."
            await _refuse(websocket, CloseCode.RATE_LIMITED, "rate_limited", text)
            return None
        self._waiting[session_id] = waiting + 1
        self._waiting_in_all += 1
        try:
            return await self._read_hello(websocket)
        finally:
            self._waiting_in_all -= 1
            left = self._waiting[session_id] - 1
            if left:
                self._waiting[session_id] = left
            else:
                del self._waiting[session_id]

    async def _read_hello(self, websocket: WebSocket) -> p.ClientHello | None:
        try:
            async with asyncio.timeout(HELLO_SECONDS):
                frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return None
            raw = frame.get("text")
            if raw is None:
                raise ProtocolError("not_json", "binary frames are not part of the protocol")
            message = p.parse_client_message(raw)
        except TimeoutError:
            text = f"No hello within {HELLO_SECONDS / 60:.0f} minutes."
            await _refuse(websocket, CloseCode.TIMEOUT, "timeout", text)
            return None
        except ProtocolError as error:
            await _refuse(websocket, _close_code(error), error.code, error.message)
            return None
        except (WebSocketDisconnect, RuntimeError):
            return None
        if not isinstance(message, p.ClientHello):
            await _refuse(websocket, CloseCode.PROTOCOL_ERROR, "hello_expected", "Say hello first.")
            return None
        if message.version != p.PROTOCOL_VERSION:
            text = f"This server speaks protocol version {p.PROTOCOL_VERSION}."
            await _refuse(websocket, CloseCode.PROTOCOL_ERROR, "unsupported_version", text)
            return None
        return message

    async def _decide(
        self, websocket: WebSocket, entry: Entry, hello: p.ClientHello
    ) -> Decision | None:
        room = self.rooms.get(entry.meeting_id)
        if (entry.meeting_id, entry.user.id) in self._revoking:
            await _refuse(websocket, CloseCode.REFUSED, "removed", REFUSALS["removed"])
            return None
        resumed = hello.resume is not None and self._resume_valid(entry, hello.resume)
        started = time.time()
        try:
            decision = await run_in_threadpool(
                self.services.access.decide,
                entry.user.id,
                entry.meeting_id,
                hello.password,
                locked=bool(room and room.state.locked) and not resumed,
                client=entry.client,
                check_password=not resumed,
            )
        except NotFound:
            await _refuse(websocket, CloseCode.NOT_FOUND, "not_found", "No such meeting.")
            return None
        except RateLimited as error:
            await _refuse(websocket, CloseCode.RATE_LIMITED, "rate_limited", error.text)
            return None
        # Ended a moment ago (not yet written), or while the decision was being made.
        ending = self.endings.being_written(entry.meeting_id) or self.voids.ended_since(
            entry.meeting_id, started
        )
        if ending and decision.outcome != "refuse" and not decision.host:
            decision = Decision("refuse", "ended", decision.meeting)
        if decision.outcome == "refuse":
            log.info("refused", extra={"event": "refuse", "reason": decision.reason})
            message = REFUSALS.get(decision.reason, "You may not enter this meeting.")
            code = CloseCode.ENDED if decision.reason == "ended" else CloseCode.REFUSED
            await _refuse(websocket, code, decision.reason, message)
            return None
        if decision.host and (
            ending or (decision.meeting is not None and decision.meeting.ended_at is not None)
        ):
            await self.endings.reopen(entry.meeting_id)
            # Tokens from before the end stay void, though a restart forgot the end.
            self.voids.meeting_started(entry.meeting_id, time.time())
        if resumed:
            return Decision("admit", "resumed", decision.meeting, decision.host)
        return decision

    async def _register(self, websocket: WebSocket, entry: Entry, identity: str) -> bool:
        try:
            await run_in_threadpool(self.services.identities.register, entry.user.id, identity)
        except InvalidInput as error:
            await _refuse(websocket, CloseCode.PROTOCOL_ERROR, "invalid", error.text)
            return False
        return True

    def uid(self, user_id: int) -> str:
        """A stable pseudonym of the account, shown to other participants."""
        digest = hmac.new(self._uid_key, str(user_id).encode(), hashlib.sha256).digest()
        uid = base64.urlsafe_b64encode(digest[:12]).decode()
        self._uids[uid] = user_id
        return uid

    def _resume_valid(self, entry: Entry, token: str) -> bool:
        issued = self.resume.issued_at(token, entry.meeting_id, entry.user.id, entry.session_id)
        return issued is not None and self.voids.token_usable(
            issued, entry.meeting_id, entry.user.id
        )

    def _enter(
        self, connection: Connection, entry: Entry, decision: Decision, hello: p.ClientHello
    ) -> None:
        room = self._room(entry.meeting_id)
        user_key = self.uid(entry.user.id)
        if user_key in room.state.removed:
            self._apply(room, Reinvited(user_key))  # the access decision says: invited again
        previous = self._same_session(room, connection.session_id)
        room.connections[connection.pid] = connection
        connection.send(self._session_message(entry.user, entry.meeting_id).to_json())
        token = self.resume.issue(entry.meeting_id, entry.user.id, entry.session_id)
        returning = decision.reason == "resumed"  # here a moment ago: not news to the others
        common = {
            "pid": connection.pid,
            "user_id": user_key,
            "name": entry.user.display_name,
            "role": entry.user.role,
            "host": decision.host,
            "resume_token": token,
            "mic": hello.media.mic,
            "cam": hello.media.cam,
        }
        event: Event
        if previous is not None and previous in room.state.participants:
            event = Resume(previous_pid=previous, **common)  # type: ignore[arg-type]
        else:
            if previous is not None:
                self._apply(room, Disconnect(previous))
                self._close(room, previous, CloseCode.REPLACED, "connected again elsewhere")
            outcome: Literal["admit", "lobby"] = "admit" if decision.admitted else "lobby"
            offer = self._usable_offer(hello)
            event = Join(
                decision=outcome,
                reason=decision.reason,
                offer=offer,
                returning=returning,
                **common,  # type: ignore[arg-type]
            )
        log.info(
            "entered", extra={"event": "join", "user_id": entry.user.id, "reason": decision.reason}
        )
        self._apply(room, event)

    def _usable_offer(self, hello: p.ClientHello) -> str | None:
        """The SDP of hello's offer if a peer may take it: the client made it without ICE
        servers, so it fits only a configuration that has none (media.direct_without_servers)."""
        if hello.offer is None or not self.services.policy.current().media.direct_without_servers:
            return None
        return hello.offer.sdp

    @staticmethod
    def _same_session(room: RoomRuntime, session_id: int) -> str | None:
        for pid, other in room.connections.items():
            if other.session_id == session_id and not other.closing:
                return pid
        return None

    async def _read_loop(self, connection: Connection) -> None:
        bucket = TokenBucket(RATE_PER_SECOND, RATE_BURST, time.monotonic)
        shown = TokenBucket(SHOWN_PER_SECOND, SHOWN_BURST, time.monotonic)
        strikes = 0
        while not connection.closing:  # a silent client: the connection's timer closes it
            try:
                frame = await connection.websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if frame["type"] == "websocket.disconnect":
                return
            connection.heard()
            if not bucket.take():
                connection.close(CloseCode.RATE_LIMITED, "too many messages")
                return
            raw = frame.get("text")
            error: ProtocolError | None
            if raw is None:
                error = ProtocolError("not_json", "binary frames are not part of the protocol")
            else:
                error = self._handle(connection, raw, shown)
            if error is not None:
                strikes += 1
                connection.send(p.Error(code=error.code, message=error.message).to_json())
                if error.code == "too_large" or strikes >= MAX_STRIKES:
                    connection.close(_close_code(error), error.message)
                    return

    def _handle(self, connection: Connection, raw: str, shown: TokenBucket) -> ProtocolError | None:
        try:
            message = p.parse_client_message(raw)
        except ProtocolError as error:
            return error
        if isinstance(message, p.ClientHello):
            return ProtocolError("invalid", "hello was already sent")
        if isinstance(message, SHOWN_TO_EVERYONE) and not shown.take():
            text = "Too many reactions or hand changes at once; wait a moment."
            connection.send(p.Error(code="rate_limited", message=text).to_json())
            return None
        if isinstance(message, SFU_MESSAGES):
            self._relay_to_sfu(connection, message)
            return None
        event = from_client_message(connection.pid, message, int(time.time() * 1000))
        room = self.rooms.get(connection.meeting_id)
        if event is not None and room is not None:
            self._apply(room, event)
        return None

    def _relay_to_sfu(self, connection: Connection, message: SfuMessage) -> None:
        room = self.rooms.get(connection.meeting_id)
        if room is None or connection.pid not in room.state.participants:
            refusal = p.Error(code="not_participant", message="Join the meeting first.")
        elif room.state.media_mode != "sfu":
            refusal = p.Error(code="not_sfu", message="This meeting's media does not use the SFU.")
        elif not self.relay.submit(connection.meeting_id, connection.pid, message):
            refusal = p.Error(code="rate_limited", message="Too many media requests at once.")
        else:
            return
        connection.send(refusal.to_json())

    def _deliver(self, meeting_id: str, pid: str, message: p.ServerMessage) -> None:
        room = self.rooms.get(meeting_id)
        connection = room.connections.get(pid) if room else None
        if connection is not None:
            connection.send(message.to_json())

    def _broadcast(self, meeting_id: str, message: p.ServerMessage) -> None:
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        text = message.to_json()
        for pid in room.state.participants:
            if pid in room.connections:
                room.connections[pid].send(text)

    def _gone(self, connection: Connection) -> None:
        room = self.rooms.get(connection.meeting_id)
        if room is None or room.connections.get(connection.pid) is not connection:
            return
        del room.connections[connection.pid]
        self._apply(room, Disconnect(connection.pid))

    # -- rooms ---------------------------------------------------------------------
    def _room(self, meeting_id: str) -> RoomRuntime:
        room = self.rooms.get(meeting_id)
        if room is None:
            state = RoomState(meeting_id=meeting_id, max_participants=self.capacity())
            room = self.rooms[meeting_id] = RoomRuntime(state)
            self.services.retention.rooms.opened(meeting_id)  # retention: room in use
        return room

    def capacity(self) -> int:
        media = self.services.settings.media
        largest = self.services.policy.current().meetings.max_participants
        if media.mode == "p2p":
            return 2
        if self._sfu_from():
            return largest
        return min(media.mesh_limit, largest)

    def _sfu_from(self) -> int:
        """How many participants move a meeting to the SFU (0: never, there is none)."""
        mode = self.services.settings.media.mode
        if mode not in ("auto", "sfu") or not self.relay.available:
            return 0
        return 3 if mode == "auto" else 1

    def _apply(self, room: RoomRuntime, event: Event) -> None:
        if isinstance(event, Join | Resume):  # the SFU may have come or gone meanwhile
            room.state = replace(
                room.state, sfu_from=self._sfu_from(), max_participants=self.capacity()
            )
        before = room.state
        sender = room.connections.get(getattr(event, "sender", ""))
        actor = sender.user_id if sender else None  # looked up first: an end closes it
        room.state, actions = apply(room.state, event)
        if before.media_mode == "sfu":
            for pid in before.participants.keys() - room.state.participants.keys():
                self.relay.left(room.state.meeting_id, pid)
        for action in actions:
            match action:
                case Send(pid=pid, message=message):
                    connection = room.connections.get(pid)
                    if connection is not None:
                        if isinstance(message, p.Welcome):  # a participant: pings resume now
                            connection.resumable = True
                            # Issued now: one made at the knock predates the lobby entry.
                            fresh = self.resume.issue(
                                connection.meeting_id, connection.user_id, connection.session_id
                            )
                            message = message.model_copy(update={"resume": fresh})
                        elif isinstance(message, p.Lobby):  # earlier tokens stop skipping it
                            meeting, user = connection.meeting_id, connection.user_id
                            self.voids.entered_lobby(meeting, user, time.time())
                        connection.send(message.to_json())
                case BroadcastAction(message=message, exclude=exclude):
                    text = message.to_json()
                    for pid in room.state.participants:
                        if pid not in exclude and pid in room.connections:
                            room.connections[pid].send(text)
                case Close(pid=pid, code=code, reason=reason):
                    self._close(room, pid, code, reason)
                case RevokeAccess(user_id=uid):
                    if uid in self._uids:
                        self._revoke(room.state.meeting_id, self._uids[uid], actor)
                case _:  # MeetingEnded
                    self.voids.meeting_ended(room.state.meeting_id, time.time())
                    self.endings.record(room.state.meeting_id, actor)
        finished = room.empty or (room.state.ended and not room.connections)
        if finished and self.rooms.pop(room.state.meeting_id, None) is not None:
            if room.state.media_mode == "sfu":
                self.relay.closed(room.state.meeting_id)
            self.services.retention.rooms.closed(room.state.meeting_id)  # retention

    def _close(self, room: RoomRuntime, pid: str, code: int, reason: str) -> None:
        connection = room.connections.pop(pid, None)
        if connection is not None:
            connection.close(code, reason)

    def _revoke(self, meeting_id: str, user_id: int, by: int | None = None) -> None:
        key = (meeting_id, user_id)
        self._revoking.add(key)

        async def revoke() -> None:
            try:
                await run_in_threadpool(
                    self.services.invitations.remove_from_meeting, meeting_id, user_id
                )
                await run_in_threadpool(
                    lambda: self.services.audit.record(
                        audit_events.PARTICIPANT_REMOVED,
                        actor_id=by,
                        client=None,
                        subject_id=user_id,
                        details={"meeting": meeting_id},
                    )
                )
            finally:
                self._revoking.discard(key)

        task = asyncio.get_running_loop().create_task(revoke())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _session_message(self, user: User, meeting_id: str) -> p.Session:
        settings = self.services.policy.current()  # the policy in force (admin console)
        pseudonym = turn_pseudonym(self.services.secret, user.id, meeting_id)
        servers = tuple(
            p.IceServerInfo(urls=entry.urls, username=entry.username, credential=entry.credential)
            for entry in ice_servers(settings.media, pseudonym, now=self.services.clock())
        )
        return p.Session(
            name=user.display_name,
            ice_servers=servers,
            ice_transport_policy=settings.media.ice_transport_policy,
            simulcast=settings.media.simulcast,
            e2ee_required=settings.security.require_e2ee,
            media_mode="mesh" if settings.media.mode == "auto" else settings.media.mode,
            mesh_limit=self.capacity(),
        )

    # -- sessions that end ---------------------------------------------------------------
    def remove_user(self, user_id: int) -> int:
        """The account was deleted: close its connections in every room as if they had
        dropped; the meetings go on for everyone else. The number of connections closed."""
        return self._user_over(user_id, CloseCode.REFUSED, "account deleted")

    def disable_user(self, user_id: int) -> int:
        """The account was disabled: its connections close at once."""
        return self._user_over(user_id, CloseCode.REFUSED, "account disabled")

    def end_sessions_of(self, user_id: int) -> int:
        """Every session of the user ended (a password change): its connections close."""
        return self._user_over(user_id, CloseCode.NOT_AUTHENTICATED, SIGNED_OUT)

    def end_session(self, session_id: int) -> int:
        """One session ended (signing out): that session's connections close, and so does
        a socket of it that still waits for hello; the same person's other devices stay."""
        self.voids.session_ended(session_id, time.time())
        return self._close_where(
            lambda c: c.session_id == session_id, CloseCode.NOT_AUTHENTICATED, SIGNED_OUT
        )

    def _user_over(self, user_id: int, code: int, reason: str) -> int:
        self.voids.sessions_ended(user_id, time.time())  # sockets waiting for hello stay out
        return self._close_where(lambda c: c.user_id == user_id, code, reason)

    async def sweep_sessions(self) -> int:
        """Close the connections whose session ended without the hub being told (another
        process, expiry); keep the sessions of the others alive. Connections closed.
        Also forgets the moments that no resume token or waiting socket can predate any
        more (older than a token lives)."""
        self.voids.forget_before(time.time() - RESUME_TTL)
        held = {c.session_id for room in self.rooms.values() for c in room.connections.values()}
        if not held:
            return 0
        alive = await run_in_threadpool(self.services.accounts.keep_alive, held)
        ended = held - alive
        return self._close_where(
            lambda c: c.session_id in ended, CloseCode.NOT_AUTHENTICATED, SIGNED_OUT
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The hub's periodic session sweep, for the application's lifetime."""

        async def sweep_forever() -> None:
            while True:
                await asyncio.sleep(SESSION_SWEEP_SECONDS)
                try:
                    await self.sweep_sessions()
                except Exception:  # a database hiccup: the next round tries again
                    log.exception("session sweep failed")

        task = asyncio.get_running_loop().create_task(sweep_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _close_where(self, which: Callable[[Connection], bool], code: int, reason: str) -> int:
        """Close the matching connections in every room as if they had dropped; the
        meetings go on for everyone else. The number of connections closed."""
        closed = 0
        for room in list(self.rooms.values()):
            for pid in [pid for pid, c in room.connections.items() if which(c)]:
                self._close(room, pid, code, reason)
                self._apply(room, Disconnect(pid))
                closed += 1
        if closed:
            log.info("connections closed", extra={"event": "close", "reason": reason})
        return closed

    def connected(self, meeting_id: str) -> int:
        room = self.rooms.get(meeting_id)
        return len(room.state.participants) if room else 0


async def _refuse(websocket: WebSocket, code: int, error: str, message: str) -> None:
    try:
        await websocket.send_text(p.Error(code=error, message=message).to_json())
        await websocket.close(code, message[:120])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


def _close_code(error: ProtocolError) -> CloseCode:
    return CloseCode.TOO_LARGE if error.code == "too_large" else CloseCode.PROTOCOL_ERROR
