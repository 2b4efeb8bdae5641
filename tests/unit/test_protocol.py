"""The signaling wire format: parsing, exact error text, serialisation, robustness."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conclave.signaling import protocol as p
from conclave.signaling.protocol import (
    MAX_CHAT_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_SIGNAL_BYTES,
    CloseCode,
    ProtocolError,
    parse_client_message,
    parse_server_message,
)

VALID: list[tuple[dict[str, Any], p.ClientMessage]] = [
    ({"type": "hello", "version": 1}, p.ClientHello(version=1)),
    (
        {"type": "hello", "version": 1, "resume": "abc-DEF_123"},
        p.ClientHello(version=1, resume="abc-DEF_123"),
    ),
    (
        {
            "type": "hello",
            "version": 1,
            "media": {"mic": True, "cam": False},
            "offer": {"type": "offer", "sdp": "v=0\r\n"},
        },
        p.ClientHello(
            version=1,
            media=p.HelloMedia(mic=True, cam=False),
            offer=p.HelloOffer(type="offer", sdp="v=0\r\n"),
        ),
    ),
    (
        {"type": "signal", "to": "p2", "payload": {"sdp": "v=0\r\n", "kind": "offer"}},
        p.ClientSignal(to="p2", payload={"sdp": "v=0\r\n", "kind": "offer"}),
    ),
    (
        {"type": "media", "mic": True, "cam": False, "screen": False},
        p.ClientMedia(mic=True, cam=False, screen=False),
    ),
    ({"type": "hand", "raised": True}, p.ClientHand(raised=True)),
    ({"type": "chat", "text": "Grüße 👋"}, p.ClientChat(text="Grüße 👋")),
    ({"type": "reaction", "reaction": "c2VhbGVk"}, p.ClientReaction(reaction="c2VhbGVk")),
    ({"type": "admit", "pid": "a1"}, p.ClientAdmit(pid="a1")),
    ({"type": "admit_all"}, p.ClientAdmitAll()),
    ({"type": "mute_all"}, p.ClientMuteAll()),
    ({"type": "lower_hands"}, p.ClientLowerHands()),
    ({"type": "deny", "pid": "a1"}, p.ClientDeny(pid="a1")),
    ({"type": "lock", "locked": False}, p.ClientLock(locked=False)),
    ({"type": "mute", "pid": "a1"}, p.ClientMute(pid="a1")),
    ({"type": "ask_unmute", "pid": "a1"}, p.ClientAskUnmute(pid="a1")),
    ({"type": "kick", "pid": "a1"}, p.ClientKick(pid="a1")),
    ({"type": "promote", "pid": "A-b_9"}, p.ClientPromote(pid="A-b_9")),
    ({"type": "end"}, p.ClientEnd()),
    ({"type": "clear_chat"}, p.ClientClearChat()),
    ({"type": "leave"}, p.ClientLeave()),
    ({"type": "pong"}, p.ClientPong()),
    ({"type": "sfu_publish", "sdp": "v=0\r\n"}, p.ClientSfuPublish(sdp="v=0\r\n")),
    ({"type": "sfu_answer", "sdp": "v=0\r\n"}, p.ClientSfuAnswer(sdp="v=0\r\n")),
    (
        {
            "type": "sfu_candidate",
            "target": "publisher",
            "candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0"},
        },
        p.ClientSfuCandidate(
            target="publisher",
            candidate=p.IceCandidate(
                candidate="candidate:1 1 udp 1 10.0.0.1 9 typ host", sdpMid="0"
            ),
        ),
    ),
    (
        {"type": "sfu_candidate", "target": "subscriber", "candidate": None},
        p.ClientSfuCandidate(target="subscriber", candidate=None),
    ),
    (
        {"type": "sfu_quality", "pid": "a1", "layer": "low"},
        p.ClientSfuQuality(pid="a1", layer="low"),
    ),
]


@pytest.mark.parametrize(("data", "expected"), VALID, ids=[d["type"] for d, _ in VALID])
def test_parses_every_client_message(data: dict[str, Any], expected: p.ClientMessage) -> None:
    assert parse_client_message(json.dumps(data)) == expected
    assert parse_client_message(json.dumps(data).encode()) == expected


def test_every_client_type_is_covered() -> None:
    assert {d["type"] for d, _ in VALID} == p.CLIENT_MESSAGE_TYPES


def _chat(text: str) -> str:
    return json.dumps({"type": "chat", "text": text})


BAD: list[tuple[str | bytes, str, str]] = [
    ("x" * (MAX_MESSAGE_BYTES + 1), "too_large", "a message must be at most 65536 bytes"),
    ("ä" * (MAX_MESSAGE_BYTES // 2 + 1), "too_large", "a message must be at most 65536 bytes"),
    ("hello", "not_json", "message is not JSON: Expecting value at position 0"),
    ('{"type": "pong"', "not_json", "message is not JSON: Expecting ',' delimiter at position 15"),
    (b"\xff\xfe", "not_json", "message is not valid UTF-8"),
    ('{"type": "hello", "version": NaN}', "not_json", "message is not JSON: NaN is not JSON"),
    (
        '{"type": "hand", "x": 1e400}',
        "not_json",
        "message is not JSON: number 1e400 is out of range",
    ),
    ("[" * 100_000, "too_large", "a message must be at most 65536 bytes"),
    ("[" * 60_000, "not_json", "message is not JSON: nested too deeply"),
    ('[{"type": "pong"}]', "not_object", "a message must be a JSON object, not an array"),
    ('"pong"', "not_object", "a message must be a JSON object, not a string"),
    ("null", "not_object", "a message must be a JSON object, not null"),
    ("12", "not_object", "a message must be a JSON object, not a number"),
    ("{}", "unknown_type", 'a message must have a string "type" field'),
    ('{"type": 3}', "unknown_type", 'a message must have a string "type" field'),
    ('{"type": "dance"}', "unknown_type", 'unknown message type "dance"'),
    ('{"type": "' + "z" * 100 + '"}', "unknown_type", 'unknown message type "' + "z" * 40 + '..."'),
    ('{"type": "hello"}', "invalid", "hello.version: Field required"),
    (
        '{"type": "hello", "version": "1"}',
        "invalid",
        "hello.version: Input should be a valid integer",
    ),
    (
        '{"type": "hello", "version": 1, "resume": "' + "a" * 129 + '"}',
        "invalid",
        "hello.resume: String should have at most 128 characters",
    ),
    (
        '{"type": "hello", "version": 1, "offer": {"type": "answer", "sdp": "v=0"}}',
        "invalid",
        "hello.offer.type: Input should be 'offer'",
    ),
    (
        '{"type": "hello", "version": 1, "offer": {"type": "offer", "sdp": ""}}',
        "invalid",
        "hello.offer.sdp: String should have at least 1 character",
    ),
    (
        '{"type": "hello", "version": 1, "offer": {"type": "offer", "sdp": "'
        + "a" * 33_000
        + '"}}',
        "invalid",
        "hello.offer.sdp: The offer should fit a signal of at most 32768 bytes",
    ),
    (
        '{"type": "hello", "version": 1, "media": {"mic": "on"}}',
        "invalid",
        "hello.media.mic: Input should be a valid boolean",
    ),
    ('{"type": "pong", "extra": 1}', "invalid", "pong.extra: Extra inputs are not permitted"),
    (
        '{"type": "hand", "raised": "yes"}',
        "invalid",
        "hand.raised: Input should be a valid boolean",
    ),
    ('{"type": "hand", "raised": 1}', "invalid", "hand.raised: Input should be a valid boolean"),
    (
        '{"type": "pong", "\\ud800": 1}',
        "invalid",  # a field name pydantic cannot read
        "pong: Input should be a valid string, unable to parse raw data as a unicode string",
    ),
    (
        '{"type": "pong", "\u00e4 x": 1}',
        "invalid",
        'pong."\\u00e4 x": Extra inputs are not permitted',
    ),
    (
        '{"type": "pong", "' + "k" * 50 + '": 1}',
        "invalid",
        'pong."' + "k" * 40 + '...": Extra inputs are not permitted',
    ),
    (
        '{"type": "media", "mic": true}',
        "invalid",
        "media.cam: Field required; media.screen: Field required",
    ),
    (
        '{"type": "chat", "text": "", "a": 1, "b": 2, "c": 3}',
        "invalid",
        "chat.text: String should have at least 1 character; "
        "chat.a: Extra inputs are not permitted; chat.b: Extra inputs are not permitted; "
        "and 1 more",
    ),
    (
        _chat("x" * (MAX_CHAT_CHARS + 1)),
        "invalid",
        "chat.text: String should have at most 16384 characters",
    ),
    (
        json.dumps({"type": "reaction", "reaction": "x" * 513}),
        "invalid",
        "reaction.reaction: String should have at most 512 characters",
    ),
    (
        '{"type": "reaction"}',
        "invalid",
        "reaction.reaction: Field required",
    ),
    (
        '{"type": "mute_all", "pid": "a1"}',
        "invalid",
        "mute_all.pid: Extra inputs are not permitted",
    ),
    (
        '{"type": "chat", "text": "\\ud800"}',
        "invalid",
        "chat.text: Input should be a valid string, unable to parse raw data as a unicode string",
    ),
    (
        '{"type": "kick", "pid": "a b"}',
        "invalid",
        "kick.pid: String should match pattern '^[A-Za-z0-9_-]{1,32}$'",
    ),
    (
        '{"type": "kick", "pid": "a\\n"}',
        "invalid",
        "kick.pid: String should match pattern '^[A-Za-z0-9_-]{1,32}$'",
    ),
    (
        '{"type": "kick", "pid": "' + "a" * 33 + '"}',
        "invalid",
        "kick.pid: String should match pattern '^[A-Za-z0-9_-]{1,32}$'",
    ),
    (
        '{"type": "signal", "to": "b", "payload": "v=0"}',
        "invalid",
        "signal.payload: Input should be a valid dictionary",
    ),
    (
        '{"type": "signal", "to": "b", "payload": {"s": "' + "x" * MAX_SIGNAL_BYTES + '"}}',
        "invalid",
        "signal.payload: Object should serialise to at most 32768 bytes, not 32776",
    ),
    (
        '{"type": "signal", "to": "b", "payload": ' + '{"a": ' * 33 + "1" + "}" * 33 + "}",
        "invalid",
        "signal.payload: Object should nest at most 32 levels deep",
    ),
    (
        '{"type": "signal", "to": "b", "payload": {"a": "\\udc00"}}',
        "invalid",
        "signal.payload: Object should contain only JSON values and valid Unicode",
    ),
]


@pytest.mark.parametrize(("raw", "code", "message"), BAD)
def test_exact_error_text(raw: str | bytes, code: str, message: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(raw)
    assert (caught.value.code, caught.value.message) == (code, message)
    assert str(caught.value) == f"{code}: {message}"


def test_limits_are_inclusive() -> None:
    # Chat carries base64 ciphertext: the longest allowed text fits in one message.
    assert parse_client_message(_chat("A" * MAX_CHAT_CHARS)) == p.ClientChat(
        text="A" * MAX_CHAT_CHARS
    )
    padding = MAX_MESSAGE_BYTES - len('{"type":"pong","":""}')
    exact = '{"type":"pong","":"' + "x" * padding + '"}'
    assert len(exact.encode()) == MAX_MESSAGE_BYTES
    with pytest.raises(ProtocolError) as caught:  # right size, so the field is the problem
        parse_client_message(exact)
    assert caught.value.code == "invalid"
    payload = {"s": "x" * (MAX_SIGNAL_BYTES - len('{"s":""}'))}
    message = parse_client_message(json.dumps({"type": "signal", "to": "b", "payload": payload}))
    assert isinstance(message, p.ClientSignal)
    assert message.payload == payload


def test_client_messages_are_frozen() -> None:
    message = p.ClientHand(raised=True)
    with pytest.raises(ValueError, match="frozen"):
        message.raised = False  # type: ignore[misc]


def test_close_codes() -> None:
    assert {c.name.lower(): int(c) for c in CloseCode} == {
        "normal": 1000,
        "protocol_error": 4000,
        "not_authenticated": 4001,
        "refused": 4003,
        "not_found": 4004,
        "too_large": 4008,
        "replaced": 4009,
        "kicked": 4010,
        "ended": 4011,
        "denied": 4012,
        "timeout": 4013,
        "rate_limited": 4029,
        "meeting_full": 4030,
    }


# --- server messages ------------------------------------------------------------------------

ANN = p.ParticipantInfo(
    pid="p1",
    uid="u1",
    name="Ann",
    role="member",
    host=True,
    mic=False,
    cam=True,
    screen=False,
    hand=False,
)
SERVER: list[p.ServerMessage] = [
    p.Welcome(
        you="p2",
        uid="u2",
        role="guest",
        host=False,
        participants=(ANN,),
        locked=False,
        resume="tok",
        offer_to="p1",
    ),
    p.Lobby(reason="guests wait for a host"),
    p.Admitted(),
    p.Denied(reason="no"),
    p.ParticipantJoined(participant=ANN),
    p.ParticipantUpdated(participant=ANN),
    p.ParticipantLeft(pid="p1", reason="kicked"),
    p.LobbyWaiting(entries=(p.LobbyEntryInfo(pid="p3", name="Eve", role="guest"),)),
    p.SignalRelay(from_="p1", payload={"candidate": {"sdpMid": "0"}, "n": [1, 2.5, None]}),
    p.ChatRelay(from_="p1", name="Ann", text="hi", id=7, ts=1_700_000_000_000),
    p.ChatCleared(by="p1"),
    p.Muted(by="p1"),
    p.UnmuteRequested(by="p1"),
    p.Locked(locked=True, by="p1"),
    p.Ended(by="p1"),
    p.Kicked(by="p1"),
    p.Error(code="not_host", message="only a host may do that"),
    p.Ping(),
]


@pytest.mark.parametrize("message", SERVER, ids=lambda m: type(m).__name__)
def test_server_messages_round_trip(message: p.ServerMessage) -> None:
    text = message.to_json()
    assert parse_server_message(text) == message
    assert json.loads(text)["type"] == type(message).model_fields["type"].default
    assert ": " not in text and ", " not in text  # compact


def test_server_json_exact() -> None:
    assert p.ChatRelay(from_="p1", name="Ann", text="hä", id=1, ts=5).to_json() == (
        '{"type":"chat","from":"p1","name":"Ann","text":"hä","id":1,"ts":5}'
    )
    assert p.SignalRelay(from_="p1", payload={"a": 1}).to_json() == (
        '{"type":"signal","from":"p1","payload":{"a":1}}'
    )
    welcome = json.loads(SERVER[0].to_json())
    assert welcome == {
        "type": "welcome",
        "version": 1,
        "you": "p2",
        "uid": "u2",
        "role": "guest",
        "host": False,
        "participants": [
            {
                "pid": "p1",
                "uid": "u1",
                "name": "Ann",
                "role": "member",
                "host": True,
                "mic": False,
                "cam": True,
                "screen": False,
                "hand": False,
                "hand_order": 0,
            }
        ],
        "locked": False,
        "resume": "tok",
        "media_mode": "p2p",
        "offer_to": "p1",
    }


def test_resume_token_not_in_repr() -> None:
    assert "tok" not in repr(SERVER[0])


def test_every_server_type_is_covered() -> None:
    types = {json.loads(m.to_json())["type"] for m in SERVER}
    assert len(types) == len(SERVER) == 18


def test_relayed_signal_payload_serialises() -> None:
    """Whatever the parser accepts as a payload, the relay can serialise."""
    raw = '{"type":"signal","to":"b","payload":{"x":"\\ud83d\\ude00","y":[' + "[" * 30 + "]" * 30
    message = parse_client_message(raw + "]}}")
    assert isinstance(message, p.ClientSignal)
    relay = p.SignalRelay(from_="a", payload=message.payload)
    assert parse_server_message(relay.to_json()) == relay


# --- robustness -----------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_quick = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_protocol_error(raw: str | bytes) -> None:
    try:
        message = parse_client_message(raw)
    except ProtocolError as exc:
        assert exc.code in {"too_large", "not_json", "not_object", "unknown_type", "invalid"}
        assert 0 < len(exc.message) < 1000
        exc.message.encode("utf-8")  # safe to send back in an error frame
        return
    assert message.type in p.CLIENT_MESSAGE_TYPES


@_quick
@given(st.text())
def test_arbitrary_text(raw: str) -> None:
    _parse_or_protocol_error(raw)


@_quick
@given(st.binary())
def test_arbitrary_bytes(raw: bytes) -> None:
    _parse_or_protocol_error(raw)


@_quick
@given(_json_values)
def test_arbitrary_json(value: Any) -> None:
    _parse_or_protocol_error(json.dumps(value))


@_quick
@given(
    st.sampled_from(sorted(p.CLIENT_MESSAGE_TYPES)),
    st.dictionaries(
        st.sampled_from(
            [
                "to",
                "pid",
                "text",
                "payload",
                "mic",
                "cam",
                "screen",
                "raised",
                "locked",
                "version",
                "resume",
                "x",
            ]
        ),
        _json_values,
        max_size=5,
    ),
)
def test_known_type_arbitrary_fields(kind: str, fields: dict[str, Any]) -> None:
    _parse_or_protocol_error(json.dumps({**fields, "type": kind}))


@_quick
@given(st.sampled_from([d for d, _ in VALID]), st.data())
def test_mutated_valid_messages(data: dict[str, Any], draw: st.DataObject) -> None:
    mutated = dict(data)
    for _ in range(draw.draw(st.integers(1, 3))):
        key = draw.draw(st.sampled_from([*mutated, "extra"]))
        if draw.draw(st.booleans()):
            mutated.pop(key, None)
        else:
            mutated[key] = draw.draw(_json_values)
    _parse_or_protocol_error(json.dumps(mutated))
    raw = bytearray(json.dumps(data).encode())
    for _ in range(draw.draw(st.integers(1, 4))):
        at = draw.draw(st.integers(0, len(raw)))
        op = draw.draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw.draw(st.integers(0, 255))
        if op == "insert":
            raw.insert(at, byte)
        elif at < len(raw):
            if op == "delete":
                del raw[at]
            else:
                raw[at] = byte
    _parse_or_protocol_error(bytes(raw))
    _parse_or_protocol_error(bytes(raw).decode("utf-8", "replace"))
