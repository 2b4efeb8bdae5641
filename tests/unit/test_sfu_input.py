"""What the SFU accepts from browsers, and how a room decides what each participant
receives (pure parts; tests/janus/test_sfu*.py run them against Janus)."""

from __future__ import annotations

from typing import Any

import pytest

from conclave.errors import InvalidInput, RateLimited
from conclave.media.sfu_input import InFlight, check_candidate, check_sdp, sdp_session
from conclave.media.sfu_rooms import PublisherState, Room, SubscribedStream, SubscriberState
from conclave.media.videoroom import FeedStream, Stream
from tests.janus.record import OFFER


def test_sdp_must_be_bounded_text_that_looks_like_sdp() -> None:
    assert check_sdp(OFFER) == OFFER
    for bad in (None, 3, "", "hello", "v=0\x00", "v=0\r\n" + "a=x\r\n" * 40_000):
        with pytest.raises(InvalidInput) as refused:
            check_sdp(bad)
        assert refused.value.text == "The media description is invalid."


def test_the_origin_line_names_the_browser_connection() -> None:
    assert sdp_session(OFFER) == "4611731400430051336"
    with pytest.raises(InvalidInput):
        sdp_session("v=0\r\ns=-\r\n")


CANDIDATE = "candidate:1 1 udp 2122260223 10.99.0.2 50000 typ host"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, None),
        ({"candidate": "", "sdpMid": "0"}, None),  # end of candidates, Chrome style
        (
            {"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "x"},
            {"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0},
        ),
        (
            {"candidate": CANDIDATE, "sdpMLineIndex": 1},
            {"candidate": CANDIDATE, "sdpMLineIndex": 1},
        ),
    ],
)
def test_candidates_keep_only_what_janus_needs(given: Any, kept: Any) -> None:
    assert check_candidate(given) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "candidate",
        {"candidate": CANDIDATE},  # neither mid nor m-line index
        {"candidate": "rm -rf /", "sdpMid": "0"},
        {"candidate": CANDIDATE + "\n", "sdpMid": "0"},
        {"candidate": CANDIDATE * 20, "sdpMid": "0"},
        {"candidate": CANDIDATE, "sdpMid": 0},
        {"candidate": CANDIDATE, "sdpMLineIndex": True},
        {"candidate": CANDIDATE, "sdpMLineIndex": -1},
        {"candidate": 7, "sdpMid": "0"},
    ],
)
def test_malformed_candidates_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidInput):
        check_candidate(bad)


def test_each_participant_has_a_bounded_number_of_requests_in_flight() -> None:
    flight = InFlight(limit=2)
    with flight.slot("m", "alice"), flight.slot("m", "alice"):
        with pytest.raises(RateLimited), flight.slot("m", "alice"):
            pass
        with flight.slot("m", "bob"), flight.slot("other", "alice"):
            pass  # others, and the same pid in another meeting, are not affected
    with flight.slot("m", "alice"), flight.slot("m", "alice"):
        pass  # slots come back


def _room() -> Room:
    async def offers(pid: str, sdp: str, streams: tuple[SubscribedStream, ...]) -> None:
        raise AssertionError("no offers here")

    return Room("meeting", None, None, 1, "secret", "pin", offers)  # type: ignore[arg-type]


def _publisher(pid: str, feed: int, *streams: Stream, started: bool = True) -> PublisherState:
    return PublisherState(pid, "1", feed_id=feed, streams=streams, started=started)


def test_everyone_receives_every_enabled_stream_of_every_other_started_publisher() -> None:
    room = _room()
    audio, video = Stream("0", "audio"), Stream("1", "video")
    screen_off = Stream("2", "video", disabled=True)
    data = Stream("3", "data")
    room.publishers["alice"] = _publisher("alice", 11, audio, video, screen_off, data)
    room.publishers["bob"] = _publisher("bob", 22, audio, video)
    room.publishers["carol"] = _publisher("carol", 33, audio, started=False)  # not up yet
    assert room.wanted("alice") == {
        (22, "0"): FeedStream(22, "0"),
        (22, "1"): FeedStream(22, "1"),
    }
    assert set(room.wanted("dave")) == {(11, "0"), (11, "1"), (22, "0"), (22, "1")}


def test_the_chosen_layer_goes_with_new_video_subscriptions() -> None:
    room = _room()
    room.publishers["alice"] = _publisher("alice", 11, Stream("0", "audio"), Stream("1", "video"))
    room.subscribers["bob"] = state = SubscriberState("bob")
    state.substreams["alice"] = 0
    assert room.wanted("bob") == {
        (11, "0"): FeedStream(11, "0"),
        (11, "1"): FeedStream(11, "1", substream=0),
    }


def test_janus_layouts_become_conclave_streams() -> None:
    room = _room()
    room.feed_pids[11] = "alice"
    layout = (
        Stream("0", "audio", feed_id=11, feed_mid="0"),
        Stream("1", "video", feed_id=11, feed_mid="1"),
        Stream("2", "video", feed_id=99, feed_mid="1"),  # a feed that is not (any more) known
        Stream("3", "video", active=False),  # the m-line of someone who left
        Stream("4", "data", feed_id=11, feed_mid="2"),
    )
    assert room.subscribed(layout) == (
        SubscribedStream("0", "alice", "audio", "0"),
        SubscribedStream("1", "alice", "video", "1"),
    )
