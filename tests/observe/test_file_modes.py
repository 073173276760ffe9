"""What lakemend writes about its runs — the state DB, run logs, lineage — is readable by its owner
only: files 0600, the folders lakemend creates for them 0700 (whatever the umask lets through)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import START, build


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The umask of many servers and containers (022): files 0644 and folders 0755 unless asked."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_state_db_logs_and_lineage_are_private(example: Path, permissive_umask: None) -> None:
    state = example / ".lakemend" / "state.db"
    for path in state.parent.glob("state.db*"):
        path.unlink()  # made by the fixture's init: the run below creates it anew
    report = build(example, START, START)
    assert not report.failed
    assert [(p.name, oct(mode(p))) for p in sorted(state.parent.glob("state.db*"))] == [
        (name, "0o600") for name in ("state.db", "state.db-shm", "state.db-wal")]
    logs = example / ".lakemend" / "logs"
    lineage = example / ".lakemend" / "lineage"
    assert oct(mode(logs)) == oct(mode(lineage)) == "0o700"
    assert oct(mode(logs / f"{report.run_id}.jsonl")) == "0o600"
    assert oct(mode(lineage / f"{START}.jsonl")) == "0o600"


def test_a_state_db_in_a_new_folder_is_private(tmp_path: Path, permissive_umask: None) -> None:
    from lakemend.state.store import StateStore

    target = tmp_path / "new" / "deeper" / "state.db"
    StateStore(f"sqlite:///{target}")
    assert oct(mode(target)) == "0o600"
    assert oct(mode(target.parent)) == oct(mode(target.parent.parent)) == "0o700"
