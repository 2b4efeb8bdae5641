"""Signaling: the wire protocol and the pure room state machine (no I/O in this package).

``protocol`` defines the JSON messages, their parsing and the WebSocket close codes;
``room`` defines ``apply(state, event) -> (state, actions)``. The WebSocket hub (elsewhere)
wires them to sockets, the database and the access service. See ``docs/protocol.md``.
"""

from conclave.signaling.protocol import (
    PROTOCOL_VERSION,
    ClientMessage,
    CloseCode,
    ProtocolError,
    ServerMessage,
    parse_client_message,
)
from conclave.signaling.room import Action, Event, RoomState, apply, from_client_message

__all__ = [
    "PROTOCOL_VERSION",
    "Action",
    "ClientMessage",
    "CloseCode",
    "Event",
    "ProtocolError",
    "RoomState",
    "ServerMessage",
    "apply",
    "from_client_message",
    "parse_client_message",
]
