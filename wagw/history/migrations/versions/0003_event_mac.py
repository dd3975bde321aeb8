"""Each stored event keeps the session's event MAC from its stream entry, so that
`wagw events replay` delivers only events the session appended (docs/security.md). Events
stored before keep NULL: a replay refuses them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("mac")
