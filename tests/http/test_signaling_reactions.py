"""Reactions and raised hands over the meeting WebSocket: relayed unread, in order, and a
flood of them rate-limited without ending anyone's call."""

from __future__ import annotations

from conclave.services import Services
from conclave.signaling.hub import SHOWN_BURST
from conclave.store.records import Meeting as MeetingRecord
from conclave.store.records import User
from tests.support.ws import Meeting

FLOOD = 40


def test_a_reaction_reaches_the_others_as_sent(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h, room.join(ivan, meeting.id) as i:
        h.until("welcome")
        pid = i.until("welcome")["you"]
        i.send({"type": "reaction", "reaction": "sealed:AbC"})
        relay = h.until("reaction")
        assert relay == {"type": "reaction", "from": pid, "reaction": "sealed:AbC"}


def test_a_flood_of_reactions_and_hand_toggles_is_rate_limited_and_the_call_goes_on(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h, room.join(ivan, meeting.id) as i:
        h.until("welcome")
        i.until("welcome")
        for n in range(FLOOD):
            i.send({"type": "reaction", "reaction": f"r{n}"})
        for n in range(FLOOD):
            i.send({"type": "hand", "raised": n % 2 == 0})
        i.send({"type": "chat", "text": "still here"})  # not part of that budget
        assert h.until("chat", limit=4 * FLOOD)["text"] == "still here"
        relayed = [m for m in h.seen if m["type"] in ("reaction", "participant_updated")]
        # The burst and what refilled while the loop ran; far below the 80 sent.
        assert SHOWN_BURST <= len(relayed) < FLOOD
        i.until("chat", limit=4 * FLOOD)
        refusals = [m for m in i.seen if m["type"] == "error"]
        assert refusals and {m["code"] for m in refusals} == {"rate_limited"}
        i.send({"type": "media", "mic": True, "cam": False, "screen": False})
        assert h.until("participant_updated", where=lambda m: m["participant"]["mic"])
