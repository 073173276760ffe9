"""``ThreadSessions``: one real DuckDB session per thread, kept for the thread's next work, replaced
after :meth:`discard`, all closed together."""

from __future__ import annotations

import threading

import pytest

from lakemend.engines.base import ThreadSessions
from lakemend.engines.duckdb import DuckDBEngine
from lakemend.errors import SqlError


def test_each_thread_keeps_its_own_session_until_it_is_discarded() -> None:
    with ThreadSessions(DuckDBEngine()) as sessions:
        mine = sessions.get()
        mine.execute("CREATE TEMP TABLE kept AS SELECT 42 AS x")
        assert sessions.get() is mine and sessions.get().scalar("SELECT x FROM kept") == 42
        theirs = []
        worker = threading.Thread(target=lambda: theirs.append(sessions.get()))
        worker.start()
        worker.join()
        assert theirs[0] is not mine
        with pytest.raises(SqlError):  # another session: the temp table is not there
            theirs[0].execute("SELECT x FROM kept")
        sessions.discard()
        assert sessions.current() is None
        fresh = sessions.get()
        assert fresh is not mine
        with pytest.raises(SqlError):  # the discarded session is closed
            mine.execute("SELECT 1")
    for con in (fresh, theirs[0]):  # closed with the pool
        with pytest.raises(SqlError):
            con.execute("SELECT 1")
