"""meetings: when a host ended the meeting for everyone

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:00:00.000000

An ended meeting stays ended (every later connection is told so) until its organiser
starts it again; the column keeps that across restarts. ADD COLUMN only (see 0003).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("meetings", sa.Column("ended_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("meetings", "ended_at")
