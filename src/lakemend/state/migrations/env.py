"""Alembic's environment for the state DB: always run by ``lakemend.state.migrate`` on a connection
it has already opened, locked and begun (``config.attributes["connection"]``); never from a URL."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():  # joins the caller's transaction: it commits, or rolls back all
    context.run_migrations()
