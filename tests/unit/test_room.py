"""The pure room state machine: rules, messages, and invariants under random event sequences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conclave.signaling import protocol as p
from conclave.signaling import room as r
from conclave.signaling.protocol import CloseCode
from conclave.signaling.room import Action, Broadcast, Close, Event, RoomState, Send, apply


class Harness:
    """Applies events and records what each pid receives, as the hub would deliver it."""

    def __init__(self, max_participants: int = 10) -> None:
        self.state = RoomState(meeting_id="m1", max_participants=max_participants)
        self.actions: list[Action] = []

    def do(self, event: Event) -> list[Action]:
        self.state, self.actions = apply(self.state, event)
        return self.actions

    def join(
        self,
        pid: str,
        *,
        user: str = "",
        host: bool = False,
        lobby: bool = False,
        guest: bool = False,
        offer: str | None = None,
        mic: bool = False,
        cam: bool = False,
    ) -> list[Action]:
        role: r.AccountRole = "guest" if guest else "member"
        decision: r.Decision = "lobby" if lobby else "admit"
        reason, name, user = ("guests wait" if lobby else ""), pid.upper(), user or f"user-{pid}"
        token = f"token-{pid}"
        join = r.Join(pid, user, name, role, host, decision, reason, token, mic, cam, offer)
        return self.do(join)

    def got(self, pid: str) -> list[p.ServerMessage]:
        """Messages ``pid`` receives from the last apply (Send, and Broadcast if seated)."""
        return [
            a.message
            for a in self.actions
            if isinstance(a, Send | Broadcast) and self._reaches(a, pid)
        ]

    def _reaches(self, action: Send | Broadcast, pid: str) -> bool:
        if isinstance(action, Send):
            return action.pid == pid
        return pid in self.state.participants and pid not in action.exclude

    def types(self, pid: str) -> list[str]:
        return [m.model_dump()["type"] for m in self.got(pid)]

    def closes(self) -> dict[str, CloseCode]:
        return {a.pid: a.code for a in self.actions if isinstance(a, Close)}

    def error(self, pid: str) -> str:
        [message] = self.got(pid)
        assert isinstance(message, p.Error)
        return message.code


@pytest.fixture
def room() -> Harness:
    h = Harness()
    h.join("host", host=True)
    h.join("bob")
    return h


def _only_error(h: Harness, pid: str, code: str, before: RoomState) -> None:
    assert h.state == before
    assert len(h.actions) == 1
    assert h.error(pid) == code


# --- joining ------------------------------------------------------------------------------


def test_first_participant_gets_an_empty_welcome() -> None:
    h = Harness()
    h.do(r.Join("a", "user-a", "A", "admin", True, "admit", "", "token-a"))
    [welcome] = h.got("a")
    assert welcome == p.Welcome(
        you="a",
        uid="user-a",
        role="member",
        host=True,
        participants=(),
        locked=False,
        resume="token-a",
    )
    assert list(h.state.participants) == ["a"]


def test_second_participant_sees_the_first_and_the_first_sees_them() -> None:
    h = Harness()
    h.join("a", host=True)
    h.join("b", guest=True)
    [welcome] = h.got("b")
    assert isinstance(welcome, p.Welcome)
    assert [x.pid for x in welcome.participants] == ["a"]
    assert (welcome.you, welcome.role, welcome.host) == ("b", "guest", False)
    assert h.got("a") == [p.ParticipantJoined(participant=h.state.participants["b"].info())]


def _welcome(h: Harness, pid: str) -> p.Welcome:
    welcome = h.got(pid)[0]
    assert isinstance(welcome, p.Welcome)
    return welcome


OFFER = {"description": {"type": "offer", "sdp": "v=0 carl"}}


def test_hello_offer_reaches_the_longest_present_ahead_of_the_news(room: Harness) -> None:
    room.join("carl", offer="v=0 carl")
    assert _welcome(room, "carl").offer_to == "host"
    joined = p.ParticipantJoined(participant=room.state.participants["carl"].info())
    assert room.got("host") == [p.SignalRelay(from_="carl", payload=OFFER), joined]
    assert room.got("bob") == [joined]  # nobody else sees the offer


def test_hello_offer_without_anyone_to_take_it_is_dropped() -> None:
    h = Harness()
    h.join("a", host=True, offer="v=0 a")  # alone
    assert _welcome(h, "a").offer_to is None
    h.join("g", lobby=True, offer="v=0 g")  # waits in the lobby
    h.do(r.Admit("a", "g"))
    assert h.types("g") == ["admitted", "welcome"]
    admitted = h.got("g")[1]
    assert isinstance(admitted, p.Welcome) and admitted.offer_to is None
    assert "signal" not in h.types("a")
    sfu = Harness()
    sfu.state = RoomState(meeting_id="m1", max_participants=10, sfu_from=2)
    sfu.join("a", host=True)
    sfu.join("b", offer="v=0 b")  # moves the meeting to the SFU: no direct connection
    assert _welcome(sfu, "b").offer_to is None and _welcome(sfu, "b").media_mode == "sfu"
    assert "signal" not in sfu.types("a")


def test_hello_media_is_in_the_news_of_the_join(room: Harness) -> None:
    room.join("carl", mic=True, cam=True)
    [joined] = room.got("bob")
    assert isinstance(joined, p.ParticipantJoined)
    assert (joined.participant.mic, joined.participant.cam) == (True, True)
    room.do(r.Media("carl", True, True, False))  # what the client says again after welcome
    assert room.actions == []  # no change: nothing to tell


def test_lobby_by_decision_tells_the_hosts() -> None:
    h = Harness()
    h.join("a", host=True)
    h.join("g", lobby=True, guest=True)
    assert h.got("g") == [p.Lobby(reason="guests wait")]
    assert h.got("a") == [
        p.LobbyWaiting(entries=(p.LobbyEntryInfo(pid="g", name="G", role="guest"),))
    ]
    assert "g" in h.state.lobby and "g" not in h.state.participants


def test_a_host_joining_later_sees_the_lobby() -> None:
    h = Harness()
    h.join("g", lobby=True)
    h.join("a", host=True)
    assert h.types("a") == ["welcome", "lobby_waiting"]


def test_lock_sends_non_hosts_to_the_lobby_but_lets_hosts_in(room: Harness) -> None:
    room.do(r.Lock("host", True))
    assert room.got("bob") == [p.Locked(locked=True, by="host")]
    room.join("carl")
    assert room.got("carl") == [p.Lobby(reason="the meeting is locked")]
    room.join("hank", host=True, lobby=True)
    assert room.types("hank") == ["welcome", "lobby_waiting"]
    assert "hank" in room.state.participants


def test_admit(room: Harness) -> None:
    room.join("g", lobby=True)
    room.do(r.Admit("host", "g"))
    assert room.types("g") == ["admitted", "welcome"]
    welcome = room.got("g")[1]
    assert isinstance(welcome, p.Welcome)
    assert welcome.resume == "token-g"
    assert [x.pid for x in welcome.participants] == ["host", "bob"]
    assert room.types("bob") == ["participant_joined"]
    assert room.types("host") == ["participant_joined", "lobby_waiting"]
    assert room.state.lobby == {} and "g" in room.state.participants


def test_deny(room: Harness) -> None:
    room.join("g", lobby=True)
    room.do(r.Deny("host", "g"))
    assert room.types("g") == ["denied"]
    assert room.closes() == {"g": CloseCode.DENIED}
    assert room.got("host") == [p.LobbyWaiting(entries=())]
    assert room.got("bob") == []
    assert "g" not in room.state.lobby


def test_the_third_participant_moves_the_meeting_to_the_sfu() -> None:
    h = Harness()
    h.state = RoomState(meeting_id="m1", max_participants=10, sfu_from=3)
    h.join("a", host=True)
    h.join("b")
    assert h.state.media_mode == "p2p"
    assert isinstance(h.got("b")[0], p.Welcome) and h.got("b")[0].media_mode == "p2p"
    h.join("c")
    assert h.state.media_mode == "sfu"
    [welcome] = h.got("c")
    assert isinstance(welcome, p.Welcome) and welcome.media_mode == "sfu"
    for earlier in ("a", "b"):
        assert p.MediaModeChanged(mode="sfu") in h.got(earlier)
    h.do(r.Leave("c"))
    h.do(r.Leave("b"))
    assert h.state.media_mode == "sfu"  # stays: no second interruption
    h.join("d")
    [welcome] = h.got("d")
    assert isinstance(welcome, p.Welcome) and welcome.media_mode == "sfu"
    assert "media_mode" not in h.types("a")


def test_without_an_sfu_the_meeting_stays_p2p() -> None:
    h = Harness()  # sfu_from 0: the hub found no SFU
    for pid in "abcd":
        h.join(pid)
        assert "media_mode" not in h.types("a")
    assert h.state.media_mode == "p2p"


def test_meeting_full() -> None:
    h = Harness(max_participants=2)
    h.join("a", host=True)
    h.join("b")
    before = h.state
    h.join("c")
    assert h.state == before
    assert h.error("c") == "meeting_full"
    assert h.closes() == {"c": CloseCode.MEETING_FULL}
    h.join("d", host=True)
    assert h.closes() == {"d": CloseCode.MEETING_FULL}
    h.join("w", lobby=True)  # waiting is allowed; admitting is not
    before = h.state
    h.do(r.Admit("a", "w"))
    _only_error(h, "a", "meeting_full", before)


def test_duplicate_pid_is_refused(room: Harness) -> None:
    before = room.state
    room.join("bob", user="someone-else")
    assert room.state == before
    assert room.closes() == {"bob": CloseCode.PROTOCOL_ERROR}


# --- moderation ---------------------------------------------------------------------------


def test_kick(room: Harness) -> None:
    room.join("bob2", user="user-bob")  # the same user on a second device
    room.join("bob3", user="user-bob", lobby=True)
    room.join("carl")
    room.do(r.Kick("host", "bob"))
    assert room.closes() == {pid: CloseCode.KICKED for pid in ("bob", "bob2", "bob3")}
    for pid in ("bob", "bob2", "bob3"):
        assert room.types(pid) == ["kicked"]
    assert r.RevokeAccess("user-bob") in room.actions
    assert room.got("carl") == [
        p.ParticipantLeft(pid="bob", reason="kicked"),
        p.ParticipantLeft(pid="bob2", reason="kicked"),
    ]
    assert room.types("host") == ["participant_left", "participant_left", "lobby_waiting"]
    assert list(room.state.participants) == ["host", "carl"] and room.state.lobby == {}
    room.join("bob4", user="user-bob")
    assert room.error("bob4") == "removed"
    assert room.closes() == {"bob4": CloseCode.REFUSED}
    room.do(r.Reinvited("user-bob"))
    room.join("bob5", user="user-bob")
    assert "bob5" in room.state.participants


def test_hosts_cannot_kick_themselves(room: Harness) -> None:
    room.join("host2", user="user-host")
    before = room.state
    room.do(r.Kick("host", "host"))
    _only_error(room, "host", "invalid_target", before)
    room.do(r.Kick("host", "host2"))  # their own other device counts as themselves
    _only_error(room, "host", "invalid_target", before)


def test_promote(room: Harness) -> None:
    room.join("g", lobby=True)
    room.do(r.Promote("host", "bob"))
    assert room.state.participants["bob"].host
    updated = p.ParticipantUpdated(participant=room.state.participants["bob"].info())
    assert room.got("host") == [updated]
    assert room.types("bob") == ["participant_updated", "lobby_waiting"]
    room.do(r.Admit("bob", "g"))  # the new host may moderate
    assert "g" in room.state.participants


def test_a_promoted_participant_stays_host_after_reconnecting(room: Harness) -> None:
    room.do(r.Promote("host", "bob"))
    room.do(r.Disconnect("bob"))
    room.do(r.Resume("bob-again", "user-bob", "BOB", "member", False, "bob", "t2"))
    assert room.state.participants["bob-again"].host


def test_mute_and_ask_unmute(room: Harness) -> None:
    room.do(r.Media("bob", mic=True, cam=True, screen=False))
    assert room.types("host") == ["participant_updated"]
    room.do(r.AskUnmute("host", "bob"))
    assert room.actions == [Send("bob", p.UnmuteRequested(by="host"))]
    room.do(r.Mute("host", "bob"))
    assert room.types("bob") == ["muted", "participant_updated"]
    assert room.types("host") == ["participant_updated"]
    bob = room.state.participants["bob"]
    assert (bob.mic, bob.cam) == (False, True)
    before = room.state
    room.do(r.AskUnmute("host", "bob"))
    assert room.state == before  # never turns a microphone on
    assert room.actions == [Send("bob", p.UnmuteRequested(by="host"))]
    room.do(r.Mute("host", "bob"))  # already muted: told again, nobody else bothered
    assert room.actions == [Send("bob", p.Muted(by="host"))]


def test_end(room: Harness) -> None:
    room.join("g", lobby=True)
    room.do(r.End("host"))
    for pid in ("host", "bob", "g"):
        assert room.got(pid) == [p.Ended(by="host")]
    assert room.closes() == {pid: CloseCode.ENDED for pid in ("host", "bob", "g")}
    assert room.actions[-1] == r.MeetingEnded()
    assert room.state.ended and not room.state.participants and not room.state.lobby
    ended = room.state
    for event in (r.Chat("bob", "hi", 1), r.Leave("host"), r.Disconnect("bob")):
        assert room.do(event) == [Close(event_pid(event), CloseCode.ENDED, "the meeting has ended")]
    room.join("new", host=True)
    assert room.closes() == {"new": CloseCode.ENDED}
    room.do(r.Resume("bob2", "user-bob", "BOB", "member", False, "bob", "t"))
    assert room.closes() == {"bob2": CloseCode.ENDED}
    assert room.state == ended


def test_hands_are_ordered_by_raising_and_hosts_lower_them_all(room: Harness) -> None:
    room.join("carl")
    room.do(r.Hand("carl", True))
    room.do(r.Hand("bob", True))
    room.do(r.Hand("bob", True))  # no news: already up
    assert room.actions == []
    orders = {pid: x.hand_order for pid, x in room.state.participants.items()}
    assert orders == {"host": 0, "carl": 1, "bob": 2}
    room.do(r.Hand("carl", False))
    room.do(r.Hand("carl", True))  # back of the queue
    assert room.state.participants["carl"].hand_order == 3
    before = room.state
    room.do(r.LowerHands("bob"))
    _only_error(room, "bob", "not_host", before)
    room.do(r.LowerHands("host"))
    assert room.types("bob") == ["participant_updated", "participant_updated"]
    assert not any(x.hand or x.hand_order for x in room.state.participants.values())


def test_mute_all_mutes_every_open_microphone_but_the_hosts_own(room: Harness) -> None:
    room.join("carl", mic=True)
    room.do(r.Media("host", mic=True, cam=False, screen=False))
    room.do(r.MuteAll("host"))
    assert room.types("carl") == ["muted", "participant_updated"]
    assert room.types("bob") == ["participant_updated"]  # his was off: not muted again
    mics = {pid: x.mic for pid, x in room.state.participants.items()}
    assert mics == {"host": True, "bob": False, "carl": False}


def test_admit_all_admits_in_order_of_knocking_as_far_as_seats_allow() -> None:
    h = Harness(max_participants=3)
    h.join("host", host=True)
    for pid in ("g1", "g2", "g3"):
        h.join(pid, lobby=True, guest=True)
    h.do(r.AdmitAll("host"))
    assert list(h.state.participants) == ["host", "g1", "g2"]
    assert list(h.state.lobby) == ["g3"]
    assert h.types("g1")[0] == "admitted"
    assert p.Error(code="meeting_full", message="the meeting is full") in h.got("host")


def test_a_reaction_reaches_everyone_else_unread(room: Harness) -> None:
    room.do(r.Reaction("bob", "sealed-reaction"))
    relay = p.ReactionRelay(from_="bob", reaction="sealed-reaction")
    assert room.got("host") == [relay]
    assert room.got("bob") == []


def event_pid(event: Event) -> str:
    return event.sender if isinstance(event, r.ClientEvent) else getattr(event, "pid", "")


TARGETED = (r.Admit, r.Deny, r.Mute, r.AskUnmute, r.Kick, r.Promote)
BY_NON_HOST = [
    *(kind("bob", "host") for kind in TARGETED),
    r.Lock("bob", True),
    r.End("bob"),
    r.AdmitAll("bob"),
    r.MuteAll("bob"),
    r.LowerHands("bob"),
]
UNKNOWN_TARGETS = [
    *(kind("host", "nobody") for kind in TARGETED),
    *(kind("host", "g") for kind in (r.Mute, r.AskUnmute, r.Kick, r.Promote)),
    *(kind("host", "bob") for kind in (r.Admit, r.Deny)),
    r.Signal("bob", "nobody", {}),
    r.Signal("bob", "g", {}),
]


@pytest.mark.parametrize("event", [*BY_NON_HOST, r.ClearChat("bob")], ids=repr)
def test_only_hosts_moderate(room: Harness, event: Event) -> None:
    room.join("g", lobby=True)
    before = room.state
    room.do(event)
    _only_error(room, "bob", "not_host", before)


@pytest.mark.parametrize("event", UNKNOWN_TARGETS, ids=repr)
def test_unknown_targets(room: Harness, event: Event) -> None:
    room.join("g", lobby=True)
    before = room.state
    room.do(event)
    _only_error(room, event_pid(event), "unknown_participant", before)


# --- signal and chat ----------------------------------------------------------------------


def test_signal_is_relayed_between_participants_only(room: Harness) -> None:
    room.do(r.Signal("bob", "host", {"sdp": "v=0"}))
    assert room.actions == [Send("host", p.SignalRelay(from_="bob", payload={"sdp": "v=0"}))]
    before = room.state
    room.do(r.Signal("bob", "bob", {}))
    _only_error(room, "bob", "invalid_target", before)
    room.join("g", lobby=True)
    before = room.state
    for event in (
        r.Signal("g", "host", {}),
        r.Chat("g", "hi", 5),
        r.Hand("g", True),
        r.Media("g", True, True, True),
        r.Kick("g", "bob"),
    ):
        room.do(event)
        _only_error(room, "g", "not_admitted", before)


def test_chat_reaches_everyone_including_the_sender(room: Harness) -> None:
    room.join("g", lobby=True)
    room.do(r.Chat("bob", "hello", 1000))
    expected = p.ChatRelay(from_="bob", name="BOB", text="hello", id=1, ts=1000)
    assert room.got("bob") == room.got("host") == [expected]
    assert room.got("g") == []
    room.do(r.Chat("host", "hi", 2000))
    room.do(r.Chat("bob", "again", 3000))
    [third] = room.got("host")
    assert isinstance(third, p.ChatRelay) and third.id == 3


def test_clear_chat(room: Harness) -> None:
    room.do(r.ClearChat("host"))
    assert room.got("bob") == room.got("host") == [p.ChatCleared(by="host")]


# --- leaving and resuming -----------------------------------------------------------------


def test_leave_and_disconnect(room: Harness) -> None:
    room.do(r.Leave("bob"))
    assert room.got("host") == [p.ParticipantLeft(pid="bob", reason="left")]
    assert room.closes() == {"bob": CloseCode.NORMAL}
    room.join("carl")
    room.do(r.Disconnect("carl"))
    assert room.got("host") == [p.ParticipantLeft(pid="carl", reason="disconnected")]
    assert room.closes() == {}
    assert list(room.state.participants) == ["host"]
    room.do(r.Disconnect("carl"))
    assert room.actions == []


def test_lobby_entries_leave_and_disconnect(room: Harness) -> None:
    room.join("g1", lobby=True)
    room.join("g2", lobby=True)
    room.do(r.Leave("g1"))
    assert room.closes() == {"g1": CloseCode.NORMAL}
    room.do(r.Disconnect("g2"))
    assert room.got("host") == [p.LobbyWaiting(entries=())]
    assert room.got("bob") == []
    assert room.state.lobby == {}


def test_last_host_leaving_promotes_nobody(room: Harness) -> None:
    room.join("g", lobby=True)
    room.do(r.Leave("host"))
    assert not any(x.host for x in room.state.participants.values())
    assert list(room.state.lobby) == ["g"]


def test_resume_skips_the_lobby_and_replaces_the_old_connection(room: Harness) -> None:
    room.do(r.Lock("host", True))
    room.do(r.Resume("bob2", "user-bob", "BOB", "member", False, "bob", "fresh"))
    assert list(room.state.participants) == ["host", "bob2"]
    assert room.closes() == {"bob": CloseCode.REPLACED}
    assert room.got("host") == [
        p.ParticipantLeft(pid="bob", reason="disconnected"),
        p.ParticipantJoined(participant=room.state.participants["bob2"].info(), returning=True),
    ]
    [welcome] = room.got("bob2")
    assert isinstance(welcome, p.Welcome) and welcome.resume == "fresh" and welcome.locked


def test_resume_refused_after_kick() -> None:
    h = Harness(max_participants=2)
    h.join("host", host=True)
    h.join("bob")
    h.do(r.Kick("host", "bob"))
    h.do(r.Resume("bob2", "user-bob", "BOB", "member", False, "bob", "t"))
    assert h.closes() == {"bob2": CloseCode.REFUSED}
    h.join("carl")
    h.do(r.Resume("dan2", "user-dan", "DAN", "member", False, "dan", "t"))
    assert h.closes() == {"dan2": CloseCode.MEETING_FULL}


def test_from_client_message() -> None:
    assert r.from_client_message("a", p.ClientChat(text="x"), 7) == r.Chat("a", "x", 7)
    assert r.from_client_message("a", p.ClientKick(pid="b"), 7) == r.Kick("a", "b")
    assert r.from_client_message("a", p.ClientLeave(), 7) == r.Leave("a")
    reaction = p.ClientReaction(reaction="x")
    assert r.from_client_message("a", reaction, 7) == r.Reaction("a", "x")
    assert r.from_client_message("a", p.ClientAdmitAll(), 7) == r.AdmitAll("a")
    assert r.from_client_message("a", p.ClientMuteAll(), 7) == r.MuteAll("a")
    assert r.from_client_message("a", p.ClientLowerHands(), 7) == r.LowerHands("a")
    assert r.from_client_message("a", p.ClientPong(), 7) is None
    assert r.from_client_message("a", p.ClientHello(version=1), 7) is None


# --- invariants under random sequences ----------------------------------------------------

USERS = ["u1", "u2", "u3"]
KINDS = ["join"] * 4 + [
    "resume",
    "reinvited",
    "disconnect",
    "signal",
    "media",
    "hand",
    "reaction",
    "chat",
    "lock",
    "admit",
    "admit",
    "admit_all",
    "deny",
    "mute",
    "mute_all",
    "lower_hands",
    "ask_unmute",
    "kick",
    "kick",
    "promote",
    "clear_chat",
    "leave",
    "end",
]
Step = tuple[str, int, int, int, bool, bool]
# One step: (kind, a, b, c, flag, flag), decoded against the current state so that most
# events name pids the room knows and moderation is mostly attempted by hosts.
_steps = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.booleans(),
        st.booleans(),
    ),
    min_size=10,
    max_size=60,
)


def _decode(state: RoomState, step: int, instruction: Step) -> Event:
    kind, a, b, c, flag, other = instruction
    known = [*state.participants, *state.lobby, "ghost"]
    hosts = state.hosts()
    by = hosts[a % len(hosts)] if hosts and flag else known[a % len(known)]
    to, user = known[b % len(known)], USERS[b % len(USERS)]
    new = known[0] if c % 8 == 0 else f"p{step}"  # sometimes a pid already in use
    role: r.AccountRole = ("admin", "member", "guest")[c % 3]
    decision: r.Decision = "lobby" if other else "admit"
    waiting = [*state.lobby][b % len(state.lobby)] if state.lobby and other else to
    offer = "v=0" if flag else None  # a hello with an offer, and microphone and camera
    make: dict[str, Callable[[], Event]] = {
        "join": lambda: r.Join(
            new, user, "N", role, c % 3 != 2, decision, "why", "tok", flag, other, offer
        ),
        "resume": lambda: r.Resume(new, user, "N", role, c % 3 == 0, to, "tok"),
        "reinvited": lambda: r.Reinvited(user),
        "disconnect": lambda: r.Disconnect(to),
        "signal": lambda: r.Signal(by, to, {"x": 1}),
        "media": lambda: r.Media(by, flag, other, c % 2 == 0),
        "hand": lambda: r.Hand(by, other),
        "chat": lambda: r.Chat(by, "hi", c),
        "reaction": lambda: r.Reaction(by, "sealed"),
        "admit_all": lambda: r.AdmitAll(by),
        "mute_all": lambda: r.MuteAll(by),
        "lower_hands": lambda: r.LowerHands(by),
        "lock": lambda: r.Lock(by, other),
        "admit": lambda: r.Admit(by, waiting),
        "deny": lambda: r.Deny(by, waiting),
        "mute": lambda: r.Mute(by, to),
        "ask_unmute": lambda: r.AskUnmute(by, to),
        "kick": lambda: r.Kick(by, to),
        "promote": lambda: r.Promote(by, to),
        "clear_chat": lambda: r.ClearChat(by),
        "leave": lambda: r.Leave(by),
        "end": lambda: r.End(by),
    }
    return make[kind]()


HOST_ONLY = (
    r.Admit,
    r.AdmitAll,
    r.Deny,
    r.Lock,
    r.Mute,
    r.MuteAll,
    r.LowerHands,
    r.AskUnmute,
    r.Kick,
    r.Promote,
    r.End,
    r.ClearChat,
)


def _check(before: RoomState, event: Event, after: RoomState, actions: Sequence[Action]) -> None:
    assert not set(after.participants) & set(after.lobby)
    assert len(after.participants) <= after.max_participants
    assert not {x.user_id for x in after.participants.values()} & after.removed
    assert not {x.user_id for x in after.lobby.values()} & after.removed
    assert all(pid == x.pid for pid, x in after.participants.items())
    assert before.removed <= after.removed or isinstance(event, r.Reinvited)
    assert all(a.user_id in after.removed for a in actions if isinstance(a, r.RevokeAccess))
    if before.ended:
        assert after == before
        assert all(isinstance(a, Close) and a.code == CloseCode.ENDED for a in actions)
    if isinstance(event, r.AskUnmute):
        assert after == before
    sender = before.participants.get(event_pid(event))
    if isinstance(event, HOST_ONLY) and not before.ended and not (sender and sender.host):
        assert after == before
    raised = sorted(x.hand_order for x in after.participants.values() if x.hand)
    assert len(set(raised)) == len(raised) and all(0 < n <= after.hand_counter for n in raised)
    assert all(x.hand_order == 0 for x in after.participants.values() if not x.hand)
    if isinstance(event, r.Chat) and after.chat_counter != before.chat_counter:
        assert after.chat_counter == before.chat_counter + 1
    for action in actions:  # everything the hub would send can be serialised
        if isinstance(action, Send | Broadcast):
            assert p.parse_server_message(action.message.to_json()) == action.message


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6), _steps)
def test_random_sequences_keep_the_invariants(limit: int, steps: list[Step]) -> None:
    state = RoomState(meeting_id="m", max_participants=limit)
    for number, step in enumerate(steps):
        event = _decode(state, number, step)
        after, actions = apply(state, event)
        _check(state, event, after, actions)
        state = after
