"""An asyncio client of the Janus API over its HTTP transport.

- :class:`JanusClient` talks to one Janus server (``url`` such as
  ``http://127.0.0.1:8088/janus``); every request carries the ``api_secret``.
- :class:`JanusSession` is one Janus session. It runs one long-poll loop
  (``GET /janus/<session>?maxev=N``) that resolves pending transactions and puts every
  other event on the queue of the handle it is for, and one keepalive loop.
- :class:`PluginHandle` is one attached plugin handle with its own ``events`` queue.
  :meth:`PluginHandle.message` resolves a synchronous reply at once and an ``ack``
  when the event with the same (random) transaction arrives.
- When Janus restarts, times the session out, or stays unreachable longer than
  ``reconnect_grace``, the session is lost: pending requests and waiting event readers
  get :class:`SessionLost`; create a new session (after :meth:`JanusClient.wait_available`).
- :mod:`conclave.media.videoroom` wraps a handle of ``janus.plugin.videoroom`` with typed
  requests and frozen results.

Errors are :mod:`conclave.media.janus_errors` types; their message is safe to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import httpx

from conclave.media.janus_errors import (
    JanusError,
    JanusTimeout,
    JanusUnreachable,
    SessionLost,
    Unauthorized,
    janus_error,
)

log = logging.getLogger("conclave.janus")

JSON = dict[str, Any]
LOST = "lost"  # the kind of the event put on every handle queue when the session is lost
_ENVELOPE = frozenset({"janus", "session_id", "sender", "transaction", "jsep"})


# -- data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Jsep:
    """An SDP offer or answer; ``e2ee`` tells Janus the media is end-to-end encrypted."""

    type: Literal["offer", "answer"]
    sdp: str
    e2ee: bool = False

    def to_json(self) -> JSON:
        data: JSON = {"type": self.type, "sdp": self.sdp}
        if self.e2ee:
            data["e2ee"] = True
        return data

    @classmethod
    def from_json(cls, data: Any) -> Jsep | None:
        if not isinstance(data, dict) or data.get("type") not in ("offer", "answer"):
            return None
        return cls(data["type"], str(data.get("sdp", "")), bool(data.get("e2ee", False)))


@dataclass(frozen=True)
class JanusEvent:
    """One event for a handle. ``kind`` is Janus's ``janus`` field (``event``,
    ``webrtcup``, ``media``, ``slowlink``, ``hangup``, ``detached``, ``trickle``) or
    ``lost`` when the session is gone. ``data`` is the plugin's data for ``event``, and
    the event's own fields for the others (``candidate`` for ``trickle``, ``reason`` for
    ``hangup``, ``type`` and ``receiving`` for ``media``)."""

    kind: str
    handle_id: int | None
    data: JSON
    jsep: Jsep | None = None
    raw: JSON = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class PluginReply:
    data: JSON
    jsep: Jsep | None = None


@dataclass(frozen=True)
class ServerInfo:
    name: str
    version: int
    version_string: str
    plugins: tuple[str, ...]
    api_secret_required: bool
    session_timeout: int


# -- client --------------------------------------------------------------------------------


class JanusClient:
    """One Janus server. ``transport`` replaces the network (tests use a mock)."""

    def __init__(
        self,
        url: str,
        api_secret: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        request_timeout: float = 10.0,
        event_timeout: float = 15.0,
        poll_timeout: float = 45.0,
        keepalive_interval: float = 25.0,
        reconnect_grace: float = 10.0,
        max_events: int = 10,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_secret = api_secret
        self.request_timeout = request_timeout
        self.event_timeout = event_timeout
        self.poll_timeout = poll_timeout
        self.keepalive_interval = keepalive_interval
        self.reconnect_grace = reconnect_grace
        self.max_events = max_events
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
        self._http = httpx.AsyncClient(
            transport=transport, limits=limits, trust_env=False, verify=tls_verification(url)
        )
        self._sessions: set[JanusSession] = set()

    async def __aenter__(self) -> JanusClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every session's loops (without destroying them) and close the client."""
        for session in list(self._sessions):
            await session.close()
        await self._http.aclose()

    async def info(self) -> ServerInfo:
        reply = await self._send("GET", "/info", None, self.request_timeout)
        return ServerInfo(
            name=str(reply.get("name", "")),
            version=int(reply.get("version", 0)),
            version_string=str(reply.get("version_string", "")),
            plugins=tuple(sorted(reply.get("plugins", {}))),
            api_secret_required=bool(reply.get("api_secret", False)),
            session_timeout=int(reply.get("session-timeout", 0)),
        )

    async def wait_available(self, timeout: float, interval: float = 0.1) -> ServerInfo:
        """Poll ``/info`` until Janus answers or ``timeout`` seconds have passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                return await self.info()
            except (JanusUnreachable, JanusTimeout):
                if loop.time() + interval > deadline:
                    raise
            await asyncio.sleep(interval)

    async def create_session(self) -> JanusSession:
        reply = await self.request("", {"janus": "create"})
        session = JanusSession(self, int(reply["data"]["id"]))
        self._sessions.add(session)
        session.start()
        return session

    async def request(self, path: str, body: JSON, timeout: float | None = None) -> JSON:
        """POST one Janus API request; raise the typed error for a Janus error."""
        message = {**body, "transaction": body.get("transaction") or new_transaction()}
        if self.api_secret is not None:
            message["apisecret"] = self.api_secret
        reply = await self._send("POST", path, message, timeout or self.request_timeout)
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise janus_error(int(error.get("code", 0)), str(error.get("reason", "")))
        return reply

    async def _send(self, method: str, path: str, body: JSON | None, timeout: float) -> JSON:
        try:
            response = await self._http.request(method, self.url + path, json=body, timeout=timeout)
        except httpx.TimeoutException:
            raise JanusTimeout(0, f"{method} {path}: no answer within {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise JanusUnreachable(0, f"{method} {path}: {type(exc).__name__}") from None
        return _decode(response)

    def _forget(self, session: JanusSession) -> None:
        self._sessions.discard(session)


def tls_verification(url: str) -> ssl.SSLContext | bool:
    """What an httpx client for ``url`` verifies TLS with. httpx loads the system's CA
    bundle for every client it makes (some 50 ms of the event loop at start, issue 2),
    which a plain ``http://`` Janus (the managed one, on loopback) never uses: it gets a
    context that trusts no certificate at all, so that TLS could never go unverified."""
    if url.startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, with no CA to trust
    return True


def new_transaction() -> str:
    """A random transaction id: replies are matched by it, so it must not be guessable
    or repeat."""
    return secrets.token_urlsafe(12)


def _decode(response: httpx.Response, *, poll: bool = False) -> JSON:
    """Janus's reply as a dict (a long poll's list of events as ``{"janus": "events"}``).

    Janus answers a long poll for a session it does not know with an empty 404."""
    if response.status_code == 404:
        if poll:
            raise SessionLost(404, "HTTP 404: no such session")
        raise JanusError(404, f"HTTP 404 for {response.url.path}: not a Janus API URL?")
    if response.status_code == 403:
        raise janus_error(403, "HTTP 403: wrong or missing api_secret")
    if response.status_code != 200:
        raise JanusError(response.status_code, f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise JanusError(0, "reply is not JSON") from None
    if isinstance(data, list):
        return {"janus": "events", "events": data}
    if not isinstance(data, dict):
        raise JanusError(0, "reply is not a JSON object")
    return data


# -- session ---------------------------------------------------------------------------


class JanusSession:
    """A Janus session: its handles, pending transactions, long poll and keepalives."""

    def __init__(self, client: JanusClient, session_id: int) -> None:
        self.client = client
        self.id = session_id
        self.handles: dict[int, PluginHandle] = {}
        self._pending: dict[str, asyncio.Future[JSON]] = {}
        self._lost: SessionLost | None = None
        self._lost_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def lost(self) -> SessionLost | None:
        """The reason this session is gone, or None while it lives."""
        return self._lost

    async def wait_lost(self, timeout: float | None = None) -> SessionLost:
        """Wait until the session is gone; returns why (:class:`JanusTimeout` if not)."""
        try:
            async with asyncio.timeout(timeout):
                await self._lost_event.wait()
        except TimeoutError:
            raise JanusTimeout(0, f"session still alive after {timeout:g} s") from None
        return self._lost or SessionLost(0, "session lost")

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._poll_loop(), name=f"janus-poll-{self.id}"),
            asyncio.create_task(self._keepalive_loop(), name=f"janus-keepalive-{self.id}"),
        ]

    async def attach(self, plugin: str) -> PluginHandle:
        reply = await self.request({"janus": "attach", "plugin": plugin})
        handle = PluginHandle(self, int(reply["data"]["id"]), plugin)
        self.handles[handle.id] = handle
        return handle

    async def request(self, body: JSON, handle_id: int | None = None) -> JSON:
        """A request to this session (or one of its handles) that Janus answers at once."""
        self._check()
        path = f"/{self.id}" + (f"/{handle_id}" if handle_id is not None else "")
        try:
            return await self.client.request(path, body)
        except SessionLost as exc:
            self._lose(exc)
            raise

    async def transact(
        self, handle_id: int, body: JSON, timeout: float | None = None
    ) -> tuple[JSON, str]:
        """A request whose answer may come later as an event with the same transaction.

        Returns Janus's reply (``success`` or the event) and its kind."""
        self._check()
        transaction = new_transaction()
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        try:
            reply = await self.request({**body, "transaction": transaction}, handle_id)
            if reply.get("janus") != "ack":
                return reply, "success"
            wait = timeout if timeout is not None else self.client.event_timeout
            try:
                async with asyncio.timeout(wait):
                    return await future, "event"
            except TimeoutError:
                raise JanusTimeout(
                    0, f"no event for {body.get('janus')} within {wait:g} s"
                ) from None
        finally:
            self._pending.pop(transaction, None)

    async def destroy(self) -> None:
        """Destroy the session in Janus (its handles with it) and stop its loops."""
        if self._lost is None:
            with contextlib.suppress(JanusError):
                await self.client.request(f"/{self.id}", {"janus": "destroy"})
        await self.close(SessionLost(0, "session destroyed"))

    async def close(self, reason: SessionLost | None = None) -> None:
        """Stop the loops without telling Janus (it times the session out)."""
        self._lose(reason or SessionLost(0, "session closed"), log_it=False)
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.client._forget(self)

    def _check(self) -> None:
        if self._lost is not None:
            raise SessionLost(self._lost.code, self._lost.detail)

    def _lose(self, reason: SessionLost, *, log_it: bool = True) -> None:
        if self._lost is not None:
            return
        self._lost = reason
        self._lost_event.set()
        if log_it:
            log.warning("janus session lost", extra={"code": reason.code, "reason": reason.detail})
        for future in self._pending.values():
            if not future.done():
                future.set_exception(reason)
        for handle in self.handles.values():
            handle.events.put_nowait(JanusEvent(LOST, handle.id, {"reason": reason.detail}))
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def _poll_loop(self) -> None:
        client = self.client
        loop = asyncio.get_running_loop()
        failing_since: float | None = None
        delay = 0.05
        while self._lost is None:
            params: dict[str, str | int] = {"maxev": client.max_events}
            if client.api_secret is not None:
                params["apisecret"] = client.api_secret
            try:
                response = await client._http.get(
                    f"{client.url}/{self.id}", params=params, timeout=client.poll_timeout
                )
                reply = _decode(response, poll=True)
            except SessionLost as exc:
                self._lose(exc)
                return
            except Unauthorized:
                self._lose(SessionLost(403, "long poll refused: wrong or missing api_secret"))
                return
            except (httpx.TransportError, JanusError) as exc:
                now = loop.time()
                failing_since = failing_since if failing_since is not None else now
                if now - failing_since >= client.reconnect_grace:
                    self._lose(
                        SessionLost(0, f"Janus unreachable for {client.reconnect_grace:g} s")
                    )
                    return
                log.info("janus long poll failed", extra={"reason": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            failing_since, delay = None, 0.05
            events = reply["events"] if reply.get("janus") == "events" else [reply]
            for event in events:
                if isinstance(event, dict):
                    try:
                        self._dispatch(event)
                    except (KeyError, TypeError, ValueError):
                        kind = str(event.get("janus"))
                        log.warning("malformed janus event dropped", extra={"event": kind})

    def _dispatch(self, event: JSON) -> None:
        kind = str(event.get("janus", ""))
        if kind == "keepalive":
            return
        if kind == "timeout":
            self._lose(SessionLost(458, "session timed out in Janus"))
            return
        transaction = event.get("transaction")
        if isinstance(transaction, str) and kind == "event":
            future = self._pending.get(transaction)
            if future is not None:
                if not future.done():
                    future.set_result(event)
                return
            if transaction:
                log.info("janus reply after its timeout dropped", extra={"event": kind})
                return
        sender = event.get("sender")
        handle = self.handles.get(sender) if isinstance(sender, int) else None
        if handle is None:
            log.debug("janus event for an unknown handle", extra={"event": kind})
            return
        plugindata = event.get("plugindata")
        if isinstance(plugindata, dict):
            data = plugindata.get("data") or {}
        else:
            data = {key: value for key, value in event.items() if key not in _ENVELOPE}
        jsep = Jsep.from_json(event.get("jsep"))
        handle.events.put_nowait(JanusEvent(kind, handle.id, data, jsep, event))
        if kind == "detached":
            self.handles.pop(handle.id, None)

    async def _keepalive_loop(self) -> None:
        while self._lost is None:
            await asyncio.sleep(self.client.keepalive_interval)
            try:
                await self.request({"janus": "keepalive"})
            except SessionLost:
                return
            except JanusError as exc:
                log.info("janus keepalive failed", extra={"reason": type(exc).__name__})


# -- handle ------------------------------------------------------------------------------


class PluginHandle:
    """A handle attached to a plugin; its events arrive on ``events``."""

    def __init__(self, session: JanusSession, handle_id: int, plugin: str) -> None:
        self.session = session
        self.id = handle_id
        self.plugin = plugin
        self.events: asyncio.Queue[JanusEvent] = asyncio.Queue()

    async def message(
        self, body: JSON, jsep: Jsep | None = None, *, timeout: float | None = None
    ) -> PluginReply:
        """Send a plugin message; returns the plugin's answer, synchronous or not.

        A plugin error (``error_code`` in the answer) raises its typed error."""
        request: JSON = {"janus": "message", "body": body}
        if jsep is not None:
            request["jsep"] = jsep.to_json()
        reply, _kind = await self.session.transact(self.id, request, timeout)
        plugindata = reply.get("plugindata") or {}
        data = plugindata.get("data") or {}
        if "error_code" in data:
            plugin = str(plugindata.get("plugin", self.plugin))
            raise janus_error(int(data["error_code"]), str(data.get("error", "")), plugin)
        return PluginReply(data, Jsep.from_json(reply.get("jsep")))

    async def trickle(self, candidate: JSON | None) -> None:
        """Send one ICE candidate (``{candidate, sdpMid, sdpMLineIndex}``); None sends
        end-of-candidates."""
        await self.session.request(
            {"janus": "trickle", "candidate": candidate or {"completed": True}}, self.id
        )

    async def trickle_many(self, candidates: Sequence[JSON]) -> None:
        await self.session.request({"janus": "trickle", "candidates": list(candidates)}, self.id)

    async def hangup(self) -> None:
        await self.session.request({"janus": "hangup"}, self.id)

    async def detach(self) -> None:
        """Detach from the plugin; a lost session counts as detached."""
        with contextlib.suppress(SessionLost):
            await self.session.request({"janus": "detach"}, self.id)
        self.session.handles.pop(self.id, None)

    async def next_event(self, timeout: float) -> JanusEvent:
        """The next event for this handle; :class:`SessionLost` when the session is gone."""
        lost = self.session.lost
        if lost is not None and self.events.empty():
            raise SessionLost(lost.code, lost.detail)
        try:
            async with asyncio.timeout(timeout):
                event = await self.events.get()
        except TimeoutError:
            raise JanusTimeout(0, f"no event within {timeout:g} s") from None
        if event.kind == LOST:
            lost = self.session.lost
            raise SessionLost(lost.code, lost.detail) if lost else SessionLost(0, "session lost")
        return event
