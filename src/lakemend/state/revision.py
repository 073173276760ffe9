"""The state DB schema revision this lakemend writes, importable without SQLAlchemy or Alembic.

``migrate`` brings a database to it; ``sqlite_reads`` reads a SQLite state DB directly only when
the database is at it (a test checks it is Alembic's head under ``migrations/versions``).
"""

HEAD = "0003"
