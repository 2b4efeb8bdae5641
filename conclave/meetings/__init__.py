"""Meetings, invitations and the access decision the meeting room relies on."""
