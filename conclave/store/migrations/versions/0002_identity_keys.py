"""identity keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 01:06:38.626755
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_identity_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_keys")),
        sa.UniqueConstraint("user_id", "public_key", name=op.f("uq_identity_keys_user_id")),
    )
    with op.batch_alter_table("identity_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_keys_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_keys_user_id"))

    op.drop_table("identity_keys")
