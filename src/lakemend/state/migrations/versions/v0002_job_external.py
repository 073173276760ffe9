"""Ledger: where a job ran outside this process — ``jobs.external_id`` (an EMR Serverless job-run
id) and ``jobs.external_log_uri`` (its S3 log prefix), set by ``StateStore.set_job_external``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("jobs")}  # adopted DBs: never twice
    for column in (sa.Column("external_id", sa.String(255), nullable=True),
                   sa.Column("external_log_uri", sa.Text, nullable=True)):
        if column.name not in existing:
            op.add_column("jobs", column)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("external_log_uri")
        batch.drop_column("external_id")
