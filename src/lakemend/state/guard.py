"""The state DB file created private, and its operational failures as one-line :class:`~lakemend.errors.LakemendError` s.

:func:`create_private` makes a new SQLite state DB readable by its owner only (``0600``, a new
folder ``0700``): it holds who ran what and why. SQLite gives its ``-wal`` and ``-shm`` files the
database file's mode.

A full disk, a read-only file or folder, a locked or unreachable database raise SQLAlchemy's
``OperationalError``, whose text carries the statement (``[SQL: …]``) and a link — not what the
CLI may print. :func:`guard` hooks the engine's ``handle_error`` event so every statement of
``state`` (``StateStore`` and the modules beside it) raises :class:`StateUnavailable` instead:
what failed, the database (never its password) and the driver's first line, with a remedy.

:class:`StateUnavailable` is an ``OperationalError`` as well, so code in ``state`` that already
catches SQLAlchemy's errors (a read-only state DB still opens for reading) keeps working.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from lakemend.errors import LakemendError


class StateUnavailable(LakemendError, OperationalError):
    """The state DB cannot be written or reached (disk full, read-only, locked, gone)."""

    def __init__(self, what: str, fix: str, cause: OperationalError) -> None:
        Exception.__init__(self, what)  # not the cooperative chain: DBAPIError wants a statement
        self.what, self.fix = what, fix
        # what SQLAlchemy's own handling of an OperationalError reads
        self.statement, self.params, self.orig = cause.statement, cause.params, cause.orig
        self.hide_parameters, self.connection_invalidated = cause.hide_parameters, cause.connection_invalidated
        self.code, self.ismulti, self.detail = cause.code, cause.ismulti, []

    __str__ = LakemendError.__str__

    def __reduce__(self) -> Any:  # picklable like a LakemendError (threads, multiprocessing)
        return (LakemendError, (self.what, self.fix))


def describe_url(engine: Engine) -> str:
    """The database as it may be printed: a SQLite file's path, else the URL without password."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def translate(error: OperationalError, where: str) -> StateUnavailable:
    """The one-line error for a state DB failure (the driver's first line, never the SQL)."""
    orig = getattr(error, "orig", None) or error
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    text = first.lower()
    elsewhere = "or point state: in lakemend.yaml ($LAKEMEND_STATE) at a writable database"
    if "disk is full" in text or "no space" in text:
        return StateUnavailable(f"state DB {where} is not writable: {first}",
                                f"free space on its disk and rerun, {elsewhere}", error)
    if "locked" in text or "busy" in text:
        return StateUnavailable(f"state DB {where} is busy: {first}",
                                "another lakemend process holds it; rerun when that one has finished", error)
    if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text:
        return StateUnavailable(f"state DB {where} is not writable: {first}",
                                f"make the file and its folder writable for this user, {elsewhere}", error)
    return StateUnavailable(f"state DB {where} cannot be used: {first}",
                            f"check that the database is reachable and writable, {elsewhere}", error)


def guard(engine: Engine) -> Engine:
    """Make every OperationalError of ``engine`` (statements and connecting) a :class:`StateUnavailable`."""
    where = describe_url(engine)

    def on_error(context: Any) -> StateUnavailable | None:
        error = context.sqlalchemy_exception
        if isinstance(error, OperationalError) and not isinstance(error, StateUnavailable):
            return translate(error, where)
        return None

    event.listen(engine, "handle_error", on_error)
    return engine


def open_engine(url: str) -> Engine:
    """The guarded engine of a state DB URL (a new SQLite file created private first); a URL that
    is not one, or whose driver is not installed (``postgresql+psycopg`` without the ``postgres``
    extra), is a one-line error naming the URL without its password."""
    shown = re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)
    try:
        create_private(url)  # before SQLite makes it 0644
        engine = create_engine(url)
    except ImportError as exc:
        raise LakemendError(f"state DB {shown} needs the Python package {exc.name!r}, which is not installed",
                            "for postgresql+psycopg:// URLs: pip install 'lakemend[postgres]'") from None
    except ArgumentError as exc:
        raise LakemendError(f"state: {shown!r} is not a database URL lakemend can use ({str(exc).splitlines()[0]})",
                            "use e.g. sqlite:///.lakemend/state.db or postgresql+psycopg://USER@HOST:5432/DB "
                            "in lakemend.yaml ($LAKEMEND_STATE)") from None
    return guard(engine)  # OperationalError → one-line LakemendError


def create_private(url: str) -> None:
    """Create a SQLite state DB that does not exist yet as an empty ``0600`` file (its missing
    folders ``0700``), so SQLite never creates it world-readable. Other databases: nothing."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return
    target = Path(path)
    if target.exists():
        return
    try:
        missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir(mode=0o700, exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process created it meanwhile
        return
    except OSError as exc:
        raise LakemendError(f"state DB {path} is not writable: {exc.strerror or exc}",
                            "make its folder writable for this user, or point state: in lakemend.yaml "
                            "($LAKEMEND_STATE) at a writable database") from None
