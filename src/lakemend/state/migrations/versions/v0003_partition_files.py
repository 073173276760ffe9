"""Partition state: ``partitions.files`` — the day's published data file paths, one per line (NULL
in rows recorded before, and for a path holding a line break). ``status`` / ``gaps`` check them
against the listing of the day's folder, so a day with a deleted file is settled without reading
the manifests.

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
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("partitions")}  # adopted DBs: never twice
    if "files" not in existing:
        op.add_column("partitions", sa.Column("files", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partitions") as batch:
        batch.drop_column("files")
