"""The state DB's Alembic migrations: ``env`` (run programmatically by ``lakemend.state.migrate``),
``baseline`` (the frozen schema of revision 0001) and one file per revision under ``versions/``."""
