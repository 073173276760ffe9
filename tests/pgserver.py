"""A real PostgreSQL server for the state DB tests: ``initdb`` into a temporary folder, started on
127.0.0.1 (a free port, its socket in that folder), one per test session, stopped at the end.

PostgreSQL refuses to run as root: as root (CI) the server runs as the ``postgres`` user the
Debian package creates (else ``nobody``) through ``runuser``. Binaries: ``pg_ctl`` on PATH, else
the newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout). Without them the tests are
skipped with the reason, unless ``REQUIRE_POSTGRES=1`` (set by .ci/run), which makes that a failure.

Fixtures: ``pg_url`` (a fresh empty database per test), ``pg_server`` (the session's server) and
``state_url`` (each test twice: SQLite and PostgreSQL). This module is a plugin of tests/conftest.py
(``pytest_plugins``), so every test can use them and one server serves the whole run.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    base: Path

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    found = shutil.which("pg_ctl")
    if found:
        folder = Path(os.path.realpath(found)).parent
        if (folder / "initdb").exists():
            return folder
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _run_as() -> str | None:
    """The user to run the server as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(user: str | None, *args: str) -> list[str]:
    return ["runuser", "-u", user, "--", *args] if user else list(args)


def start_server() -> PgServer:
    folder = binaries()
    if folder is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        reason = "psycopg is not installed: pip install -e '.[postgres]'"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    user = _run_as()
    base = Path(tempfile.mkdtemp(prefix="lakemend-pg-"))  # not under pytest's 0700 root-owned folder
    if user:
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data = base / "data"
    port = _free_port()
    subprocess.run(_command(user, str(folder / "initdb"), "-D", str(data), "-U", "lakemend", "--auth=trust",
                            "-E", "UTF8", "--no-sync", "--no-instructions"),
                   check=True, capture_output=True, text=True, cwd=base)
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=150"
    started = subprocess.run(_command(user, str(folder / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"),
                                      "-o", options, "-w", "-t", "60", "start"),
                             capture_output=True, text=True, cwd=base, check=False)
    if started.returncode:
        log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log[-2000:]}")
    return PgServer("127.0.0.1", port, "lakemend", base)


def stop_server(server: PgServer) -> None:
    folder = binaries()
    user = _run_as()
    subprocess.run(_command(user, str(folder / "pg_ctl"), "-D", str(server.base / "data"), "-m", "fast", "-w", "stop"), check=False,
                   capture_output=True, text=True, cwd=server.base, timeout=120)
    shutil.rmtree(server.base, ignore_errors=True)


_shared: dict[str, object] = {"server": None, "users": 0}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server (shared by every module that imports this fixture)."""
    if _shared["server"] is None:
        _shared["server"] = start_server()
    _shared["users"] = int(_shared["users"]) + 1
    try:
        yield _shared["server"]  # type: ignore[misc]
    finally:
        _shared["users"] = int(_shared["users"]) - 1
        if not _shared["users"]:
            server, _shared["server"] = _shared["server"], None
            stop_server(server)  # type: ignore[arg-type]


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh empty database on the session's server, dropped after the test."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new state DB for each database lakemend supports: a SQLite file, then a fresh database on
    the session's PostgreSQL server (a test taking it runs twice)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_url")
