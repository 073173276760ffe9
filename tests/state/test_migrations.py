"""The state DB schema on SQLite and PostgreSQL: the Alembic revisions make the model the queries
use, a new state DB is created from that model at the head revision (no Alembic), a pre-Alembic
state DB adopted without loss, concurrent first opens create or migrate once, the fast path when
at head, and the ledger's external job columns."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from lakemend.errors import LakemendError
from lakemend.state import migrate
from lakemend.state.dq import dq_history
from lakemend.state.incidents import list_incidents, notes_of
from lakemend.state.store import PauseFlags, StateStore, metadata

# A state DB as lakemend wrote it at commit a58c18f (before Alembic): a two-day build of the
# example, 97 DQ results, one incident with a note, a paused table. Its SQL dump (sqlite3 iterdump).
PRE_ALEMBIC = Path(__file__).parent / "data" / "pre_alembic_state.sql"
DAY = dt.date(2025, 10, 20)


def revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return migrate.current_revision(conn)
    finally:
        engine.dispose()


def test_head_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [migrate.HEAD]
    assert [s.revision for s in script.walk_revisions()][-1] == migrate.BASELINE


def test_the_revisions_make_the_model(state_url: str) -> None:
    """Baseline + every revision, run by Alembic on an empty database == the tables the code
    queries (Alembic's own comparison): what a new state DB is created from directly."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(state_url)
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "head")
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []
        assert set(inspect(conn).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    engine.dispose()


def test_a_new_state_db_is_created_at_head_without_alembic(state_url: str) -> None:
    """The model's tables and Alembic's version table at head, Alembic not imported; Alembic then
    reads it as its own (its comparison finds nothing to do; it downgrades and upgrades it)."""
    probe = textwrap.dedent("""
        import sys
        from lakemend.state.store import StateStore
        StateStore(sys.argv[1]).start_run("r1", "run", {}, None)
        print("alembic" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", probe, state_url], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"], out.stderr
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(state_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert context.get_current_revision() == migrate.HEAD
        assert compare_metadata(context, metadata) == []
        assert set(inspect(conn).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), migrate.BASELINE)
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "head")
    engine.dispose()
    assert [r["run_id"] for r in StateStore(state_url).list_runs()] == ["r1"]


def test_a_state_db_downgraded_to_nothing_is_created_again(state_url: str) -> None:
    """Alembic's downgrade to base drops every table but leaves its version table, empty: the
    next open makes the tables again at head."""
    from alembic import command

    StateStore(state_url).engine.dispose()
    engine = create_engine(state_url)
    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    engine.dispose()
    StateStore(state_url).start_run("r1", "run", {}, None)
    assert revision(state_url) == migrate.HEAD


def test_external_job_columns_are_set_and_listed(state_url: str) -> None:
    store = StateStore(state_url)
    store.start_run("r1", "backfill", {}, "emr")
    job = store.start_job("r1", "backfill", "bronze", "bronze.orders", DAY, "emr", None, None)
    other = store.start_job("r1", "backfill", "bronze", "bronze.orders", DAY + dt.timedelta(days=1), "emr", None, None)
    store.set_job_external(job, "00fabc123def4567", "s3://acme/emr-serverless/backfill/applications/a/jobs/00fabc123def4567")
    rows = {r["id"]: r for r in store.list_jobs(run_id="r1")}
    assert rows[job]["external_id"] == "00fabc123def4567"
    assert rows[job]["external_log_uri"].endswith("/jobs/00fabc123def4567")
    assert (rows[other]["external_id"], rows[other]["external_log_uri"]) == (None, None)
    assert store.jobs_of_runs(["r1"])[0]["external_id"] == "00fabc123def4567"
    store.finish_job(job, "succeeded", rows_written=3)
    assert store.list_jobs(status="succeeded")[0]["external_id"] == "00fabc123def4567"  # kept on finish


def pre_alembic_db(path: Path) -> str:
    with sqlite3.connect(path) as con:
        con.executescript(PRE_ALEMBIC.read_text(encoding="utf-8"))
    con.close()
    return f"sqlite:///{path}"


def test_a_pre_alembic_state_db_is_adopted_without_loss(tmp_path: Path) -> None:
    url = pre_alembic_db(tmp_path / "state.db")
    with sqlite3.connect(tmp_path / "state.db") as con:
        before = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()
                  for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert revision(url) is None and sum(map(len, before.values())) > 150

    store = StateStore(url)
    assert revision(url) == migrate.HEAD
    with sqlite3.connect(tmp_path / "state.db") as con:
        for table, rows in before.items():  # every row kept; new columns NULL: two in jobs, one in partitions
            after = con.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
            added = {"jobs": (None, None), "partitions": (None,)}.get(table, ())
            widened = [row + added for row in rows]
            assert after == widened, table
    con.close()
    (run,) = store.list_runs()
    assert run["status"] == "succeeded" and run["args"]["days"] == ["2025-10-20", "2025-10-21"]
    assert len(store.list_jobs()) == 12 and {j["external_id"] for j in store.list_jobs()} == {None}
    assert PauseFlags(store).why_paused("silver.orders_clean")["reason"] == "fixture pause"
    (incident,) = list_incidents(store)
    assert [n.text for n in notes_of(store, incident.id)] == ["a note"]
    assert len(dq_history(store)) == 97
    StateStore(url)  # reopening is a no-op
    assert revision(url) == migrate.HEAD


def test_a_pre_alembic_state_db_missing_tables_and_columns_is_completed(tmp_path: Path) -> None:
    """Older lakemend versions made fewer tables and no pid columns: adoption adds them, as
    create_all and the column check did on every open before Alembic."""
    url = pre_alembic_db(tmp_path / "state.db")
    with sqlite3.connect(tmp_path / "state.db") as con:
        con.execute("DROP TABLE incident_notes")
        con.execute("ALTER TABLE runs DROP COLUMN pid")
    con.close()
    store = StateStore(url)
    assert list_incidents(store)[0].id == "INC-0001" and notes_of(store, "INC-0001") == []
    assert store.list_runs()[0]["pid"] is None
    store.start_run("new", "run", {}, None)
    assert store.get_run("new")["pid"] is not None


def test_a_state_db_of_a_newer_lakemend_is_refused_in_one_line(state_url: str) -> None:
    StateStore(state_url)
    engine = create_engine(state_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    with pytest.raises(LakemendError) as refused:
        StateStore(state_url)
    assert "at schema revision 0999, which this lakemend does not know" in str(refused.value)
    assert "upgrade lakemend" in refused.value.fix


def test_an_older_revision_is_upgraded_in_place(state_url: str) -> None:
    """A state DB at revision 0001 (made by lakemend before the external job columns) gains them."""
    from alembic import command

    store = StateStore(state_url)
    store.start_run("r1", "run", {}, None)
    job = store.start_job("r1", "run", "bronze", "bronze.orders", DAY, None, None, None)
    with store.engine.begin() as conn:
        config = migrate._config(conn)
        command.downgrade(config, migrate.BASELINE)
    assert revision(state_url) == migrate.BASELINE
    store.engine.dispose()
    reopened = StateStore(state_url)
    assert revision(state_url) == migrate.HEAD
    reopened.set_job_external(job, "00x", "s3://b/logs")
    assert reopened.list_jobs()[0]["external_id"] == "00x"


OPENER = textwrap.dedent("""
    import sys, time
    from lakemend.state.store import StateStore
    while time.time() < float(sys.argv[2]):
        time.sleep(0.001)
    store = StateStore(sys.argv[1])
    store.start_run(sys.argv[3], "run", {}, None)
    print("ok", flush=True)
""")


def open_at_once(url: str, processes: int = 4) -> None:
    """``processes`` real processes open the state DB at the same moment and each records a run."""
    go = time.time() + 2.0  # every process past its imports before any opens the DB
    started = [subprocess.Popen([sys.executable, "-c", OPENER, url, str(go), f"run-{i}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(processes)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in started]
    assert [code for code, _, _ in results] == [0] * processes, results
    assert {f"run-{i}" for i in range(processes)} <= {r["run_id"] for r in StateStore(url).list_runs()}
    assert revision(url) == migrate.HEAD


def test_processes_opening_a_new_state_db_at_once_create_it_once(state_url: str) -> None:
    open_at_once(state_url)


def test_processes_opening_a_pre_alembic_state_db_at_once_adopt_it_once(tmp_path: Path) -> None:
    url = pre_alembic_db(tmp_path / "state.db")
    open_at_once(url)
    assert len(StateStore(url).list_jobs()) == 12


def test_opening_a_state_db_at_head_is_cheap(tmp_path: Path) -> None:
    """Every command opens the store: at head that is two small queries and no Alembic import."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore(url)
    probe = textwrap.dedent("""
        import sys, time
        from lakemend.state.store import StateStore
        started = time.perf_counter()
        StateStore(sys.argv[1])
        print(time.perf_counter() - started, "alembic" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False"  # Alembic is not even imported
    assert float(out[0]) < 0.5  # measured: ~11 ms in a new process (it was ~14 ms with create_all)


def test_many_processes_creating_a_sqlite_state_db_at_once_all_get_in(tmp_path: Path) -> None:
    """Processes switching a new SQLite file to WAL at the same moment: SQLite refuses one of them
    at once ("database is locked", no busy wait); it must retry, not fail (8 processes, 3 new files;
    before the retry about one round in 25 failed)."""
    for attempt in range(3):
        folder = tmp_path / f"attempt-{attempt}"
        folder.mkdir()
        open_at_once(f"sqlite:///{folder / 'state.db'}", processes=8)
