"""The DuckDB engine (the embedded default): in-memory sessions in UTC, Arrow results Iceberg accepts."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb

from lakemend.engines.base import CANONICAL_DIALECT
from lakemend.engines.sql import lit
from lakemend.errors import SqlError
from lakemend.interrupts import interrupts_not_swallowed

if TYPE_CHECKING:  # pyarrow is imported when Arrow is asked for: verify's passes never ask (0.06 s)
    import pyarrow as pa


class DuckDBEngine:
    """DuckDB over Arrow, in process: the canonical dialect, so SQL runs untranslated."""

    name = "duckdb"
    dialect = CANONICAL_DIALECT
    writer = None  # lakemend writes the Arrow results itself, with pyiceberg
    parallel_sessions = True  # each session is its own database with its own threads (_share_of_cores)

    def __init__(self, project: object = None) -> None:
        """``project`` is accepted for a uniform constructor; DuckDB needs nothing from it."""

    def session(self, *, side_by_side: int = 1) -> Connection:
        return Connection(threads=_share_of_cores(side_by_side))


def _share_of_cores(side_by_side: int) -> int | None:
    """DuckDB threads for one of ``side_by_side`` sessions working at once: each database has its
    own pool of one thread per core, so two sessions side by side on two cores ran four threads.
    Their share instead: a 30-day build of the example lake, two days at a time, took 0.90× the
    wall and 0.89× the CPU time (5 interleaved pairs). None (DuckDB's default) for a session
    working alone."""
    if side_by_side <= 1:
        return None
    return max(1, (os.cpu_count() or 1) // side_by_side)


class Connection:
    """A DuckDB connection whose ``execute`` always drains its result (a :class:`Session`).

    DuckDB 2.0 refuses new work on a connection while a result is open (even a DDL's), so
    every statement here is fetched completely and returns its rows.
    """

    dialect = CANONICAL_DIALECT

    def __init__(self, threads: int | None = None) -> None:
        """``threads``: DuckDB's worker threads for this session (default: one per core)."""
        self.raw = duckdb.connect(":memory:")
        if threads is not None:
            self.execute(f"SET threads = {int(threads)}")
        self.execute("SET TimeZone = 'UTC'")
        self.execute("SET preserve_insertion_order = true")
        # Memory a statement freed goes back to the system about a second later, instead of
        # staying with DuckDB's allocator under the next statement's peak (one 1M-row day: peak
        # RSS 695–736 → 650–679 MB, same time).
        self.execute("SET allocator_background_threads = true")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with _translated_errors():
            return self.raw.execute(sql, list(params or [])).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        from lakemend.engines.arrow import normalize

        with _translated_errors():
            return normalize(self.raw.sql(sql, params=list(params) if params else None).to_arrow_table())

    def parquet_relation(self, paths: Sequence[str]) -> str:
        return f"read_parquet([{', '.join(lit(path) for path in paths)}])"

    def register(self, name: str, data: pa.Table) -> None:
        self.raw.register(name, data)

    def unregister(self, name: str) -> None:
        self.raw.unregister(name)

    def materialize(self, name: str, query: str) -> pa.Table:
        """The rows as one Arrow table, registered: DuckDB scans it in place, and rows taken from
        it share its buffers (a big day is held once, not as an engine table and a copy)."""
        rows = self.arrow(query)
        self.register(name, rows)
        return rows

    def lock_down(self) -> None:
        # Registered Arrow tables are views over in-process memory, not external state, so they
        # stay readable; files, URLs, ATTACH, COPY and extensions do not. The order matters:
        # extension autoloading off first, then external access, then the lock on every setting.
        for statement in (
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ):
            self.execute(statement)

    def interrupt(self) -> None:
        """Stop the statement running on this connection (from another thread); it raises SqlError."""
        self.raw.interrupt()

    def close(self) -> None:
        self.raw.close()


# DuckDB's Python client, running a statement in the main thread, takes the Ctrl-C itself: it
# stops the statement and raises RuntimeError with this text instead of KeyboardInterrupt.
_CTRL_C_TAKEN = "Query interrupted"


@contextmanager
def _translated_errors() -> Iterator[None]:
    """DuckDB's errors as :class:`SqlError`; a Ctrl-C DuckDB took as the KeyboardInterrupt it was,
    so it stops the command instead of failing one statement — also when DuckDB let the statement
    finish (inside the CLI's ``interrupts_remembered``, which saw the Ctrl-C)."""
    try:
        with interrupts_not_swallowed():
            yield
    except duckdb.Error as exc:
        raise SqlError(str(exc)) from exc
    except RuntimeError as exc:
        if str(exc) == _CTRL_C_TAKEN:
            raise KeyboardInterrupt from exc
        raise


__all__ = ["Connection", "DuckDBEngine"]
