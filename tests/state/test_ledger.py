"""The state store façade: ledger, partition state, marks, fingerprints, pauses, metrics — on a real SQLite
file and a real PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from lakemend.state import metrics
from lakemend.state.dq import dq_history
from lakemend.state.incidents import list_incidents
from lakemend.state.store import Fingerprint, PauseFlags, StateStore, metadata

D1, D2 = dt.date(2025, 10, 20), dt.date(2025, 10, 21)
TABLE = "silver.orders_clean"


@pytest.fixture
def store(state_url: str) -> StateStore:
    """A new state DB: a SQLite file, then a database on a real PostgreSQL server."""
    return StateStore(state_url)


def test_every_table_is_created_with_the_store(tmp_path: Path) -> None:
    StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    with sqlite3.connect(tmp_path / "state.db") as con:
        names = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == set(metadata.tables) | {"alembic_version"}
    assert {"runs", "jobs", "partitions", "source_files", "leases", "pauses", "metrics", "partition_marks",
            "dq_results", "incidents", "incident_notes"} <= names


def test_an_older_state_db_gains_the_missing_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    store.start_run("r1", "run", {}, "first")
    for name in ("incident_notes", "incidents", "dq_results"):  # a state DB made before these existed
        metadata.tables[name].drop(store.engine)
    with store.engine.begin() as conn:  # … and before Alembic
        conn.exec_driver_sql("DROP TABLE alembic_version")
    reopened = StateStore(url)
    assert list_incidents(reopened) == [] and dq_history(reopened) == []
    assert reopened.get_run("r1")["reason"] == "first"


def test_runs_and_jobs_round_trip(store: StateStore) -> None:
    store.start_run("r1", "backfill", {"plan_key": "k", "day": D1}, "re-sent export")
    first = store.start_job("r1", "backfill", "silver", TABLE, D1, "re-sent export", 10, "in1")
    second = store.start_job("r1", "backfill", "silver", TABLE, D2, "re-sent export", 11, "in2")
    store.finish_job(first, "succeeded", rows_written=5, snapshot_after=12)
    store.finish_job(second, "failed", error="boom")
    store.finish_run("r1", "failed", "1 partition job(s) failed")

    run = store.get_run("r1")
    assert (run["status"], run["args"], run["error"]) == ("failed", {"plan_key": "k", "day": "2025-10-20"},
                                                          "1 partition job(s) failed")
    assert run["ended_at"] is not None and run["user"]
    assert [j["day"] for j in store.list_jobs(table=TABLE)] == [D2, D1]  # newest first
    (ok,) = store.list_jobs(status="succeeded")
    assert (ok["rows_written"], ok["snapshot_before"], ok["snapshot_after"], ok["input_key"]) == (5, 10, 12, "in1")
    assert [j["id"] for j in store.jobs_of_runs(["r1"])] == [first, second] and store.jobs_of_runs([]) == []
    assert store.failed_days(TABLE) == {D2}

    retry = store.start_job("r2", "backfill", "silver", TABLE, D2, None, None, None)
    store.finish_job(retry, "succeeded")
    assert store.failed_days(TABLE) == set()  # only the newest job of a day counts


def test_a_batch_closes_its_rows_and_records_its_days_in_one_go(store: StateStore) -> None:
    """``finish_batch``: each statement runs once for all the days (executemany); every day still
    gets its own ledger values, partition record (its marks cleared) and fingerprints (replaced)."""
    days = [D1, D2, D2 + dt.timedelta(days=1)]
    store.start_run("r1", "run", {}, None)
    ids = store.start_jobs("r1", "run", "bronze", "bronze.orders", [(d, f"in{i}") for i, d in enumerate(days)], None, 4)
    store.mark("bronze.orders", D1, "stale", "upstream rebuilt", "r0")
    store.mark("bronze.orders", D2, "damaged", "quarantined", "r0")
    store.record_fingerprints("bronze.orders", D2, [Fingerprint("old.csv", 9, "m", "h")], "r0")
    closed = [(ids[0], "succeeded", dict(rows_written=5, snapshot_after=8, error=None)),
              (ids[1], "succeeded", dict(rows_written=6, snapshot_after=8, error=None)),
              (ids[2], "failed", dict(error="boom"))]
    built = [dict(table="bronze.orders", day=d, input_key=f"in{i}", files_key=f"f{i}", snapshot_id=8, rows=5 + i,
                  files=[f"/lake/day={d}/{i}.parquet"]) for i, d in enumerate(days[:2])]
    prints = [("bronze.orders", D1, [Fingerprint("a.csv", 1, "m1", "h1"), Fingerprint("b.csv", 2, "m2", "h2")]),
              ("bronze.orders", D2, [Fingerprint("c.csv", 3, "m3", "h3")])]
    dims = metrics.Dimensions("bronze", "bronze.orders", "orders")
    store.finish_batch(closed, built, prints, "r1", [metrics.row(metrics.SUCCEEDED, 1, dims, "r1")] * 2)

    rows = {j["id"]: j for j in store.jobs_of_runs(["r1"])}
    assert [(rows[i]["status"], rows[i]["rows_written"], rows[i]["snapshot_after"], rows[i]["error"]) for i in ids] == [
        ("succeeded", 5, 8, None), ("succeeded", 6, 8, None), ("failed", None, None, "boom")]
    assert all(rows[i]["ended_at"] is not None and rows[i]["snapshot_before"] == 4 for i in ids)
    states = store.partition_states("bronze.orders")
    assert {d: (s["input_key"], s["files_key"], s["rows"], s["files"]) for d, s in states.items()} == {
        D1: ("in0", "f0", 5, (f"/lake/day={D1}/0.parquet",)), D2: ("in1", "f1", 6, (f"/lake/day={D2}/1.parquet",))}
    assert store.marks() == {}
    assert [p.path for p in store.fingerprints("bronze.orders", D1)] == ["a.csv", "b.csv"]
    assert store.fingerprints("bronze.orders", D2) == [Fingerprint("c.csv", 3, "m3", "h3")]  # replaced
    assert store.failed_days("bronze.orders") == {days[2]}


def test_run_history_is_the_jobs_of_the_days_and_their_runs(store: StateStore) -> None:
    for run_id, day in (("r1", D1), ("r2", D2)):
        store.start_run(run_id, "run", {}, None)
        store.start_job(run_id, "run", "bronze", "bronze.orders", day, None, None, None)
    store.start_run("r3", "verify", {}, None)  # no partition job

    jobs, runs = store.run_history(D2, D2)
    assert [(j["run_id"], j["day"]) for j in jobs] == [("r2", D2)] and set(runs) == {"r2"}
    jobs, runs = store.run_history()
    assert [j["run_id"] for j in jobs] == ["r1", "r2"] and set(runs) == {"r1", "r2"}


def test_list_runs_newest_first_and_later_success(store: StateStore) -> None:
    store.start_run("a", "backfill", {"plan_key": "k"}, None)
    store.finish_run("a", "failed")
    since = store.get_run("a")["started_at"]
    store.start_run("b", "backfill", {"plan_key": "k"}, None)
    store.finish_run("b", "succeeded")
    assert [r["run_id"] for r in store.list_runs()][:2] == ["b", "a"]
    assert [r["run_id"] for r in store.list_runs(limit=1)] == ["b"]
    assert store.later_success("k", since) == "b" and store.later_success("other", since) is None
    window = store.runs_started_between(since, store.get_run("b")["started_at"])
    assert [r["run_id"] for r in window] == ["a", "b"]


def test_partition_state_marks_and_fingerprints(store: StateStore) -> None:
    store.mark(TABLE, D1, "damaged", "quarantined", "r0")
    store.record_partition(TABLE, D1, input_key="i", files_key="f", snapshot_id=7, run_id="r1", rows=3)
    assert store.partition_states(TABLE)[D1]["snapshot_id"] == 7
    assert store.marks() == {}  # a new build clears the mark
    store.mark(TABLE, D1, "stale", "upstream rebuilt", "r1")
    store.restore_partition(TABLE, D1, "f2", 8, 2)  # a rollback: other files, the same build, no mark
    assert (store.partition_states(TABLE)[D1]["files_key"], store.partition_states(TABLE)[D1]["rows"]) == ("f2", 2)
    assert store.partition_states(TABLE)[D1]["input_key"] == "i" and store.marks() == {}
    store.mark(TABLE, D2, "stale", "upstream rebuilt", "r2")
    assert store.marks(TABLE)[(TABLE, D2)]["mark"] == "stale"
    store.clear_mark(TABLE, D2)
    store.quarantine_partition(TABLE, D1, "truncated file", "r3")
    assert store.partition_states(TABLE) == {}
    assert [(m["mark"], m["reason"], m["run_id"]) for m in store.marks().values()] == [("damaged", "truncated file", "r3")]
    store.forget_partition(TABLE, D1)
    store.clear_mark(TABLE, D1)
    assert store.partition_states(TABLE) == {} and store.marks() == {}

    prints = [Fingerprint("b.csv", 2, "m2", "h2"), Fingerprint("a.csv", 1, "m1", "h1")]
    store.record_fingerprints("bronze.orders", D1, prints, "r1")
    assert store.fingerprints("bronze.orders", D1) == sorted(prints, key=lambda p: p.path)
    store.record_fingerprints("bronze.orders", D1, [], "r2")  # replaced, not appended
    assert store.fingerprints("bronze.orders", D1) == []


def test_file_paths_fill_only_records_without_them_and_with_the_planned_key(store: StateStore) -> None:
    """``fill_partition_files`` (vacuum, for records made before revision 0003) never overwrites what
    a build recorded since the plan: another files key, or paths already there."""
    store.record_partition(TABLE, D1, input_key="i", files_key="f", snapshot_id=7, run_id="r1", rows=3)
    store.record_partition(TABLE, D2, input_key="i", files_key="g", snapshot_id=7, run_id="r1", rows=3, files=["/x/b"])
    assert store.fill_partition_files(TABLE, [(D1, "rebuilt-since", ["/x/a"]), (D2, "g", ["/x/c"])]) == 0
    assert store.fill_partition_files(TABLE, [(D1, "f", ["/x/a2", "/x/a1"]), (D1, "f", ["/x/z"])]) == 1
    assert {d: s["files"] for d, s in store.partition_states(TABLE).items()} == {D1: ("/x/a1", "/x/a2"), D2: ("/x/b",)}


def test_pause_flags(store: StateStore) -> None:
    flags = PauseFlags(store)
    assert flags.why_paused(TABLE) is None
    flags.pause(TABLE, "checking dupes")
    flags.pause(TABLE, "still checking")  # replaces the reason
    assert flags.why_paused(TABLE)["reason"] == "still checking" and flags.why_paused("gold.x") is None
    flags.pause("*", "freeze")
    assert flags.why_paused("gold.x")["reason"] == "freeze"
    assert flags.resume(TABLE) and not flags.resume(TABLE)
    assert flags.why_paused(TABLE)["reason"] == "freeze"  # the global pause still holds
    assert set(flags.all()) == {"*"}


def test_metric_totals_sum_and_count_per_label_set(store: StateStore) -> None:
    dims = metrics.Dimensions("bronze", "bronze.orders", "orders")
    metrics.record(store, metrics.STARTED, 1, dims, "r1")
    metrics.record(store, metrics.STARTED, 1, dims, "r2")
    metrics.record(store, metrics.DURATION, 1.5, dims, "r1")
    metrics.record(store, metrics.DURATION, 2.0, metrics.Dimensions("gold", "gold.x", None), "r1")
    totals = metrics.totals(store)
    assert totals[(metrics.STARTED, ("bronze", "bronze.orders", "orders"))] == (2.0, 2)
    assert totals[(metrics.DURATION, ("gold", "gold.x", ""))] == (2.0, 1)
    assert metrics.totals(store, dt.datetime(2999, 1, 1)) == {}
    assert [row["metric"] for row in metrics.summary(store)] == [metrics.STARTED, metrics.DURATION, metrics.DURATION]


def test_writers_at_once_replace_pauses_marks_and_partition_state(state_url: str) -> None:
    """Upserts, not delete-then-insert: eight writers setting the same pause, mark and partition
    state at one moment all succeed (on PostgreSQL a delete-then-insert breaks the key), one wins."""
    import threading

    stores = [StateStore(state_url) for _ in range(8)]
    go = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        go.wait()
        try:
            PauseFlags(stores[i]).pause(TABLE, f"reason {i}")
            stores[i].mark(TABLE, D1, "stale", f"why {i}", f"r{i}")
            stores[i].record_partition(TABLE, D2, input_key=f"i{i}", files_key=f"f{i}", snapshot_id=i, run_id=f"r{i}", rows=i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    store = stores[0]
    (flag,) = PauseFlags(store).all().values()
    assert flag["reason"] in {f"reason {i}" for i in range(8)}
    assert list(store.marks(TABLE)) == [(TABLE, D1)]
    state = store.partition_states(TABLE)[D2]
    assert state["files_key"] == f"f{state['snapshot_id']}" and state["rows"] == state["snapshot_id"]  # one writer's row, whole
