"""A state URL lakemend cannot open is a one-line error naming it (never its password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakemend.errors import LakemendError
from lakemend.state.guard import StateUnavailable
from lakemend.state.store import StateStore


@pytest.mark.parametrize(("url", "message", "fix"), [
    ("postgresql+psycopg2://ana:s3cret@db.invalid/lake",
     "state DB postgresql+psycopg2://ana:***@db.invalid/lake needs the Python package 'psycopg2', which is not installed",
     "pip install 'lakemend[postgres]'"),
    ("nonsense://ana:s3cret@db.invalid/x", "state: 'nonsense://ana:***@db.invalid/x' is not a database URL", "postgresql+psycopg://"),
    ("not a url", "state: 'not a url' is not a database URL", "sqlite:///"),
])
def test_a_url_that_cannot_be_opened_is_one_line(url: str, message: str, fix: str) -> None:
    with pytest.raises(LakemendError) as refused:
        StateStore(url)
    assert message in str(refused.value) and fix in refused.value.fix
    assert "s3cret" not in str(refused.value)


def test_an_unreachable_postgresql_server_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StateUnavailable) as refused:
        StateStore(f"postgresql+psycopg://lakemend:s3cret@127.0.0.1:{port}/lake")
    text = str(refused.value)
    assert text.startswith(f"state DB postgresql+psycopg://lakemend:***@127.0.0.1:{port}/lake cannot be used: ")
    assert "Connection refused" in text and "\n" not in text and "s3cret" not in text
