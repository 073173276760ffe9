"""Errors stay on the contract: one ``Error: <what> — <how to fix>`` line on stderr and the right exit
code — usage errors exit 2, project-file errors are ConfigErrors, and a state DB that is full,
read-only or cannot be created is a one-line error, never SQLAlchemy's ``[SQL: …]`` and links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import configure


def one_error_line(result) -> str:  # noqa: ANN001 - conftest.CliResult
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("Error: ") and " — " in lines[0], lines[0]
    assert "[SQL:" not in result.err and "sqlalche.me" not in result.err and "unexpected" not in result.err
    return lines[0]


@pytest.mark.parametrize(("args", "message"), [
    (("vacuum", "--older-than", "99999999999d", "--yes"), "--older-than '99999999999d' is more than 36500 days"),
    (("vacuum", "--older-than", "99999999999999999999999m", "--yes"), "--older-than"),
    (("metrics", "--since", "99999999999d"), "--since '99999999999d' reaches back more than 36500 days"),
    (("metrics", "--since", "9999999999999999h"), "--since"),
    (("backfill", "bronze", "orders", "--date", "2025-10-20", "--max-parallel", "0"), "--max-parallel 0"),
    (("repair", "--late", "--max-parallel", "-1"), "--max-parallel -1"),
])
def test_out_of_range_arguments_are_one_line_usage_errors(example: Path, cli, args: tuple[str, ...],  # noqa: ANN001
                                                         message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "contract")
    result = cli(*args, cwd=example)
    assert result.code == 2, result.err
    assert message in one_error_line(result)


@pytest.mark.parametrize(("calendar", "message"), [
    ({"start": "2025-10-20", "end": "9999-12-31"}, "calendar.end: 9999-12-31 is outside"),
    ({"start": "0001-01-01"}, "calendar.start: 0001-01-01 is outside"),
    ({"start": "2025-10-20", "end": "2025-10-01"}, "end 2025-10-01 is before start 2025-10-20"),
])
@pytest.mark.parametrize("command", [("gaps",), ("status",)])
def test_an_impossible_calendar_is_a_config_error(example: Path, cli, calendar: dict, message: str,  # noqa: ANN001
                                                  command: tuple[str, ...]) -> None:
    configure(example, calendar=calendar)
    result = cli(*command, cwd=example)
    assert result.code == 1
    line = one_error_line(result)
    assert "lakemend.yaml" in line and message in line


@contextmanager
def state_db_connections(setup: Callable[[object], None]) -> Iterator[None]:
    """Run ``setup`` on every new SQLite connection to a state DB (not the catalog's)."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    def on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        if any(str(row[2]).endswith("state.db") for row in dbapi_connection.execute("PRAGMA database_list")):
            setup(dbapi_connection)

    event.listen(Pool, "connect", on_connect)
    try:
        yield
    finally:
        event.remove(Pool, "connect", on_connect)


def read_only(connection) -> None:  # noqa: ANN001
    connection.execute("PRAGMA query_only = ON")  # every write: "attempt to write a readonly database"


def disk_full(connection) -> None:  # noqa: ANN001
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL once the file would grow


def test_a_read_only_state_db_is_one_line(example: Path, cli) -> None:  # noqa: ANN001
    assert cli("status", cwd=example).code == 0  # the state DB exists
    with state_db_connections(read_only):
        result = cli("pause", "--table", "bronze.orders", "--reason", "maintenance", cwd=example)
    assert result.code == 1
    line = one_error_line(result)
    assert f"state DB {(example / '.lakemend' / 'state.db').resolve()} is not writable: attempt to write a readonly database" in line
    assert "writable" in line.split(" — ")[1]


def test_a_full_disk_under_the_state_db_is_one_line(example: Path, cli) -> None:  # noqa: ANN001
    assert cli("status", cwd=example).code == 0
    with state_db_connections(disk_full):
        result = cli("run", "--start", "2025-10-20", "--end", "2025-10-27", "--reason", "nightly", cwd=example)
    assert result.code == 1
    line = one_error_line(result)
    assert "is not writable: database or disk is full" in line and "free space" in line


def test_a_state_db_that_cannot_be_created_is_one_line(example: Path, cli, tmp_path: Path,  # noqa: ANN001
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("LAKEMEND_STATE", f"sqlite:///{blocker}/state.db")
    result = cli("status", cwd=example)
    assert result.code == 1
    assert f"state DB {blocker}/state.db is not writable" in one_error_line(result)
