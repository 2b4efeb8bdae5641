"""invitations remember a host's removal

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 12:00:00.000000

A host's *Remove* in the room used to delete the invitation, so the person then got "no
such meeting". The invitation now stays, marked with the time of the removal, until the
host invites the person again (or the meeting or account goes, with its invitations).
ALTER TABLE ADD COLUMN only (see 0003: a batch rebuild of a table would cascade).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invitations", sa.Column("removed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("invitations", "removed_at")
