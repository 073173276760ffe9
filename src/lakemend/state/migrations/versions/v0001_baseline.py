"""Baseline: the state DB as lakemend made it before Alembic (``lakemend.state.migrations.baseline``).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op

from lakemend.state.migrations.baseline import baseline_metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    baseline_metadata().create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    baseline_metadata().drop_all(op.get_bind())
