"""The state database: run ledger, per-partition build state and landing fingerprints.

SQLite by default, any SQLAlchemy URL (PostgreSQL for teams). It records what lakemend did;
decisions about what is published or stale are checked against Iceberg metadata as well.

This package is the only place that knows the tables or writes SQL against them. Every table is
defined here on one ``metadata``, the model the queries use; a new state DB is created from it,
stamped at the head revision, and an older one is brought there by the Alembic revisions under
``migrations/`` that ``migrate.upgrade`` runs when a store is opened (cheaply when the DB is
already at the head revision; a state DB made before Alembic is adopted).
:class:`StateStore` reads and writes the ledger, partition state, marks and fingerprints, :class:`PauseFlags` the pauses; the other topics have a module each that
takes a store: ``leases``, ``metrics``, ``dq`` (check results), ``incidents`` (incidents and notes).
Imports point one way (those modules → this one), so nothing outside ``state`` needs SQLAlchemy.

Opening a store also keeps the ledger honest after kills: runs and jobs whose process is gone are
closed as ``interrupted`` and their leases freed (:meth:`StateStore.close_interrupted`).

Every statement is SQLAlchemy Core, the same on SQLite and on a PostgreSQL shared by several
hosts; the one dialect switch is :func:`upsert` (``INSERT … ON CONFLICT DO UPDATE``), used where
two writers may set the same row at once (pauses, marks, partition state). Leases rely only on
the primary key: an insert of a held (table, day) fails on both, whatever the isolation level.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import socket
import sqlite3
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from lakemend.project.sources import Fingerprint
from lakemend.state.guard import open_engine
from lakemend.state.migrate import upgrade
from lakemend.state.sqlite_reads import BUSY_TIMEOUT_SECONDS, split_files

logger = logging.getLogger(__name__)

metadata = MetaData()

INTERRUPTED = "interrupted"  # the status of a run or job whose process died without closing it

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("command", String(64), nullable=False),
    Column("args", JSON, nullable=False),
    Column("reason", Text),
    Column("user", String(128)),
    Column("host", String(255)),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("error", Text),
    Column("pid", Integer),  # the process on ``host`` that runs it (added later: NULL in older rows)
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("command", String(64), nullable=False),
    Column("layer", String(16), nullable=False),
    Column("table_name", String(128), nullable=False, index=True),
    Column("day", Date, nullable=False),
    Column("reason", Text),
    Column("user", String(128)),
    Column("host", String(255)),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("rows_read", BigInteger),
    Column("rows_written", BigInteger),
    Column("rows_quarantined", BigInteger),
    Column("rows_deduplicated", BigInteger),
    Column("snapshot_before", BigInteger),
    Column("snapshot_after", BigInteger),
    Column("input_key", String(64)),
    Column("error", Text),
    Column("pid", Integer),  # as runs.pid
    Column("external_id", String(255)),  # the job run of an external engine (EMR Serverless job-run id)
    Column("external_log_uri", Text),  # where that engine keeps the job's logs (s3://…)
)

partitions = Table(
    "partitions",
    metadata,
    Column("table_name", String(128), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("input_key", String(64), nullable=False),
    Column("files_key", String(64), nullable=False),
    Column("snapshot_id", BigInteger),
    Column("run_id", String(64), nullable=False),
    Column("rows", BigInteger),
    Column("built_at", DateTime, nullable=False),
    Column("files", Text),  # the day's data file paths, one per line (revision 0003: NULL in older rows)
)

source_files = Table(
    "source_files",
    metadata,
    Column("table_name", String(128), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
)


leases = Table(
    "leases",
    metadata,
    Column("table_name", String(128), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

pauses = Table(
    "pauses",
    metadata,
    Column("table_name", String(128), primary_key=True),  # "*" pauses every table
    Column("reason", Text, nullable=False),
    Column("user", String(128)),
    Column("since", DateTime, nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, index=True),
    Column("value", Float, nullable=False),
    Column("layer", String(16)),
    Column("table_name", String(128)),
    Column("source", String(128)),
    Column("run_id", String(64)),
    Column("at", DateTime, nullable=False, index=True),
)


marks = Table(
    "partition_marks",
    metadata,
    Column("table_name", String(128), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("mark", String(16), nullable=False),  # damaged | stale
    Column("reason", Text),
    Column("run_id", String(64)),
    Column("at", DateTime, nullable=False),
)

dq_results = Table(
    "dq_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_run", String(64), nullable=False, index=True),
    Column("run_at", DateTime, nullable=False, index=True),
    Column("table_name", String(128), nullable=False, index=True),
    Column("day", Date, nullable=False),
    Column("check_name", String(255), nullable=False),
    Column("observed", Text),
    Column("value", Float),  # observed as a number when it is one, for trend charts
    Column("threshold", Text, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("detail", Text),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("title", Text, nullable=False),
    Column("severity", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Column("opened_by", String(128)),
    Column("closed_by", String(128)),
    Column("summary", Text),
)

incident_notes = Table(
    "incident_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(16), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("user", String(128)),
    Column("text", Text, nullable=False),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def whoami() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "unknown"
    return user, socket.gethostname()


# A process that started more than this after a row it is named in was recorded cannot be the
# one that wrote it: its pid was reused. Generous, so a clock step never closes a live run.
PID_REUSE_SLACK = dt.timedelta(seconds=60)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def process_started(pid: int) -> dt.datetime | None:
    """When the process ``pid`` started (naive UTC), if this platform tells: psutil when it is
    installed, else ``/proc/<pid>/stat`` on Linux; None when unknown."""
    try:
        import psutil  # type: ignore[import-not-found]
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return dt.datetime.fromtimestamp(psutil.Process(pid).create_time(), dt.UTC).replace(tzinfo=None)
        except Exception:  # noqa: BLE001 - gone or not ours to read: unknown
            return None
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            stat = fh.read()
        with open("/proc/stat", encoding="utf-8") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime, in clock ticks since boot
        seconds = boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def process_gone(pid: int, since: dt.datetime) -> bool:
    """Whether the process ``pid`` of this host that was running at ``since`` (naive UTC) has
    ended: no such pid, or the pid now belongs to a process started after ``since``."""
    if not pid_alive(pid):
        return True
    started = process_started(pid)
    return started is not None and started > since + PID_REUSE_SLACK


_OPEN_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def close_open_stores() -> None:
    """Close the pooled connections of every state DB this process opened (their engines outlive
    the ``StateStore`` objects). SQLite folds its write-ahead log back into the database file when
    the last connection closes, so a process that leaves without Python's teardown (``cli/app``)
    calls this first."""
    for engine in list(_OPEN_ENGINES):
        engine.dispose()


class StateStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = open_engine(url)  # a new SQLite file 0600; every OperationalError one line
        _OPEN_ENGINES.add(self.engine)
        sqlite = self.engine.dialect.name == "sqlite"
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        upgrade(self.engine, metadata, _sqlite_pragmas if sqlite else None)  # create, adopt or migrate
        try:
            self.close_interrupted()
        except SQLAlchemyError as exc:  # a read-only state DB still opens for reading
            logger.debug("could not close interrupted runs: %s", exc)

    # ----- runs ----------------------------------------------------------------------------
    def start_run(self, run_id: str, command: str, args: dict[str, Any], reason: str | None) -> None:
        user, host = whoami()
        with self.engine.begin() as conn:
            conn.execute(
                insert(runs).values(
                    run_id=run_id, command=command, args=json.loads(json.dumps(args, default=str)), reason=reason,
                    user=user, host=host, pid=os.getpid(), status="running", started_at=utcnow(),
                )
            )

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(status=status, ended_at=utcnow(), error=error))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row else None

    def run_status(self, run_id: str) -> str | None:
        """The ledger status of a run (None: no such run)."""
        with self.engine.connect() as conn:
            return conn.execute(select(runs.c.status).where(runs.c.run_id == run_id)).scalar_one_or_none()

    def close_interrupted(self) -> list[str]:
        """Close as ``interrupted`` the runs and jobs of this host whose process is gone, and free
        the leases such processes held; returns the runs closed.

        A killed process (SIGKILL, power loss, OOM) never reaches its ``finally``: without this its
        rows would stay ``running`` and its leases held until they expire. Rows of other hosts are
        left alone (their leases expire); rows written before pids were recorded too.
        """
        host = socket.gethostname()
        with self.engine.connect() as conn:
            run_rows = conn.execute(select(runs.c.run_id, runs.c.pid, runs.c.started_at).where(
                runs.c.status == "running", runs.c.host == host, runs.c.pid.is_not(None))).all()
            job_rows = conn.execute(select(jobs.c.id, jobs.c.run_id, jobs.c.host, jobs.c.pid, jobs.c.started_at)
                                    .where(jobs.c.status == "running")).all()
            lease_rows = conn.execute(select(leases.c.table_name, leases.c.day, leases.c.run_id, leases.c.pid,
                                             leases.c.acquired_at).where(leases.c.host == host)).all()
        gone: dict[tuple[int, dt.datetime], bool] = {}

        def dead(pid: int, since: dt.datetime) -> bool:
            if (pid, since) not in gone:
                gone[(pid, since)] = process_gone(pid, since)
            return gone[(pid, since)]

        dead_runs = {r.run_id: r.pid for r in run_rows if dead(r.pid, r.started_at)}
        dead_jobs = {j.id: j.pid for j in job_rows if j.run_id in dead_runs
                     or (j.host == host and j.pid is not None and dead(j.pid, j.started_at))}
        dead_leases = [(lr.table_name, lr.day, lr.run_id) for lr in lease_rows
                       if lr.run_id in dead_runs or dead(lr.pid, lr.acquired_at)]
        if not (dead_runs or dead_jobs or dead_leases):
            return []
        now = utcnow()
        with self.engine.begin() as conn:
            for run_id, pid in dead_runs.items():
                conn.execute(update(runs).where(runs.c.run_id == run_id, runs.c.status == "running").values(
                    status=INTERRUPTED, ended_at=now, error=f"interrupted: its process ({host} pid {pid}) is gone"))
            for job_id, pid in dead_jobs.items():
                conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == "running").values(
                    status=INTERRUPTED, ended_at=now, error=f"interrupted: its process ({host} pid {pid}) is gone"))
            for table_name, day, run_id in dead_leases:
                conn.execute(delete(leases).where(leases.c.table_name == table_name, leases.c.day == day,
                                                  leases.c.run_id == run_id))
        if dead_runs:
            logger.info("closed %d run(s) whose process is gone as interrupted: %s", len(dead_runs),
                        ", ".join(sorted(dead_runs)))
        return sorted(dead_runs)

    def later_success(self, plan_key: str, since: dt.datetime) -> str | None:
        """The id of a successful run of the same backfill started after ``since``, if any."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(runs.c.run_id, runs.c.args).where(runs.c.status == "succeeded", runs.c.started_at > since)
                .order_by(runs.c.started_at)
            ).all()
        return next((run_id for run_id, args in rows if (args or {}).get("plan_key") == plan_key), None)

    def list_runs(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` runs, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]

    def runs_started_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Runs that started in ``start … end`` (both included), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(runs).where(runs.c.started_at >= start, runs.c.started_at <= end).order_by(runs.c.started_at)
            ).mappings()
            return [dict(r) for r in rows]

    # ----- jobs (the ledger) --------------------------------------------------------------
    def start_job(self, run_id: str, command: str, layer: str, table: str, day: dt.date, reason: str | None,
                  snapshot_before: int | None, input_key: str | None) -> int:
        user, host = whoami()
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(jobs).values(
                    run_id=run_id, command=command, layer=layer, table_name=table, day=day, reason=reason,
                    user=user, host=host, pid=os.getpid(), status="running", started_at=utcnow(),
                    snapshot_before=snapshot_before, input_key=input_key,
                )
            )
            return int(result.inserted_primary_key[0])

    def start_jobs(self, run_id: str, command: str, layer: str, table: str, entries: Sequence[tuple[dt.date, str | None]],
                   reason: str | None, snapshot_before: int | None, metric_rows: Sequence[dict[str, Any]] = ()) -> list[int]:
        """The ledger rows of a batch — one per (day, input key) — and its metric rows, in one transaction."""
        user, host = whoami()
        now = utcnow()
        ids = []
        with self.engine.begin() as conn:
            for day, input_key in entries:
                result = conn.execute(insert(jobs).values(
                    run_id=run_id, command=command, layer=layer, table_name=table, day=day, reason=reason, user=user,
                    host=host, pid=os.getpid(), status="running", started_at=now, snapshot_before=snapshot_before,
                    input_key=input_key))
                ids.append(int(result.inserted_primary_key[0]))
            if metric_rows:
                conn.execute(insert(metrics), list(metric_rows))
        return ids

    def finish_batch(self, closed: Sequence[tuple[int, str, dict[str, Any]]], built: Sequence[dict[str, Any]],
                     prints: Sequence[tuple[str, dt.date, Sequence[Fingerprint]]], run_id: str,
                     metric_rows: Sequence[dict[str, Any]] = ()) -> None:
        """Everything a batch records at its end, in one transaction: each ledger row closed
        (``closed``: job id, status, values), each published day's build state (``built``: the
        arguments of :meth:`record_partition`), the landing fingerprints of bronze days, metrics."""
        now = utcnow()
        with self.engine.begin() as conn:
            _record_partitions(conn, built, run_id, now)
            _record_fingerprints(conn, prints, run_id, now)
            if metric_rows:
                conn.execute(insert(metrics), list(metric_rows))
            _close_jobs(conn, closed, now)

    def set_job_external(self, job_id: int, external_id: str | None, log_uri: str | None) -> None:
        """Record where a job runs outside this process: the external engine's id of it (an EMR
        Serverless job-run id) and its log location (``s3://…``); listed with the ledger rows."""
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(external_id=external_id,
                                                                       external_log_uri=log_uri))

    def finish_job(self, job_id: int, status: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(status=status, ended_at=utcnow(), **values))

    def list_jobs(self, *, status: str | None = None, table: str | None = None, run_id: str | None = None,
                  day: dt.date | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if status:
            query = query.where(jobs.c.status == status)
        if table:
            query = query.where(jobs.c.table_name == table)
        if run_id:
            query = query.where(jobs.c.run_id == run_id)
        if day:
            query = query.where(jobs.c.day == day)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def jobs_of_runs(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The ledger rows of the given runs, in the order they started."""
        ids = list(run_ids)
        if not ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.run_id.in_(ids)).order_by(jobs.c.started_at, jobs.c.id)).mappings()
            return [dict(r) for r in rows]

    def run_history(self, first: dt.date | None = None, last: dt.date | None = None,
                    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The partition jobs of the days ``first … last`` (open ends: all), in the order they
        started, and the runs they belong to by run id."""
        in_range = []
        if first:
            in_range.append(jobs.c.day >= first)
        if last:
            in_range.append(jobs.c.day <= last)
        with self.engine.connect() as conn:
            job_rows = [dict(r) for r in conn.execute(
                select(jobs).where(*in_range).order_by(jobs.c.started_at, jobs.c.id)).mappings()]
            touched = select(jobs.c.run_id).where(*in_range)
            run_rows = {r["run_id"]: dict(r) for r in conn.execute(select(runs).where(runs.c.run_id.in_(touched))).mappings()}
        return job_rows, run_rows

    def failed_days(self, table: str) -> set[dt.date]:
        """Days whose newest partition job of ``table`` failed."""
        newest = (select(jobs.c.day, func.max(jobs.c.id).label("id")).where(jobs.c.table_name == table)
                  .group_by(jobs.c.day).subquery())
        query = select(jobs.c.day).join(newest, jobs.c.id == newest.c.id).where(jobs.c.status == "failed")
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(query)}

    # ----- partition build state -----------------------------------------------------------
    def partition_states(self, table: str) -> dict[dt.date, dict[str, Any]]:
        """Day → the day's build state (a ``partitions`` row; ``files``: its data file paths as a
        tuple, or None where they were not recorded)."""
        with self.engine.connect() as conn:
            result = conn.execute(select(partitions).where(partitions.c.table_name == table))
            names = list(result.keys())
            states = {}
            for values in result.all():  # plain tuples: RowMapping per row costs twice the read on 10k days
                state = dict(zip(names, values))
                state["files"] = split_files(state["files"])
                states[state["day"]] = state
            return states

    def record_partition(self, table: str, day: dt.date, *, input_key: str, files_key: str, snapshot_id: int | None,
                         run_id: str, rows: int, files: Sequence[str] | None = None) -> None:
        """A day's build state; ``files``: its data file paths (whose ``files_key`` is ``files_key``)."""
        with self.engine.begin() as conn:
            _record_partitions(conn, [dict(table=table, day=day, input_key=input_key, files_key=files_key,
                                           snapshot_id=snapshot_id, rows=rows, files=files)], run_id, utcnow())

    def forget_partition(self, table: str, day: dt.date) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(partitions).where(partitions.c.table_name == table, partitions.c.day == day))

    def restore_partition(self, table: str, day: dt.date, files_key: str, snapshot_id: int | None, rows: int,
                          files: Sequence[str] | None = None) -> None:
        """A rolled-back day: its record names other files (without claiming a new build) and its
        mark goes, in one transaction — a kill leaves both or neither."""
        with self.engine.begin() as conn:
            conn.execute(update(partitions).where(partitions.c.table_name == table, partitions.c.day == day)
                         .values(files_key=files_key, snapshot_id=snapshot_id, rows=rows, files=_joined_files(files)))
            conn.execute(delete(marks).where(marks.c.table_name == table, marks.c.day == day))

    def quarantine_partition(self, table: str, day: dt.date, reason: str, run_id: str) -> None:
        """A quarantined day: no record (it has no files) and the mark ``damaged``, in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(delete(partitions).where(partitions.c.table_name == table, partitions.c.day == day))
            upsert(conn, marks, dict(table_name=table, day=day, mark="damaged", reason=reason, run_id=run_id, at=utcnow()))

    def fill_partition_files(self, table: str, entries: Sequence[tuple[dt.date, str, Sequence[str]]]) -> int:
        """Record the data file paths of days whose record has none (made before revision 0003):
        ``entries`` are (day, files key, paths); a record is filled only while it still has no paths
        and that files key (a day rebuilt meanwhile keeps what its build recorded). Returns how many."""
        filled = 0
        with self.engine.begin() as conn:
            for day, key, paths in entries:
                joined = _joined_files(paths)
                if joined is None:
                    continue
                filled += conn.execute(update(partitions).where(
                    partitions.c.table_name == table, partitions.c.day == day, partitions.c.files_key == key,
                    partitions.c.files.is_(None)).values(files=joined)).rowcount
        return filled

    # ----- marks: damaged (quarantined) and stale partitions ------------------------------------
    def mark(self, table: str, day: dt.date, mark: str, reason: str, run_id: str) -> None:
        with self.engine.begin() as conn:
            upsert(conn, marks, dict(table_name=table, day=day, mark=mark, reason=reason, run_id=run_id, at=utcnow()))

    def clear_mark(self, table: str, day: dt.date) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(marks).where(marks.c.table_name == table, marks.c.day == day))

    def marks(self, table: str | None = None) -> dict[tuple[str, dt.date], dict[str, Any]]:
        query = select(marks) if table is None else select(marks).where(marks.c.table_name == table)
        with self.engine.connect() as conn:
            return {(r["table_name"], r["day"]): dict(r) for r in conn.execute(query).mappings()}

    def pauses(self) -> dict[str, dict[str, Any]]:
        """Paused tables (``*``: all) → their pause (:meth:`PauseFlags.all`)."""
        return PauseFlags(self).all()

    # ----- landing fingerprints --------------------------------------------------------------
    def record_fingerprints(self, table: str, day: dt.date, prints: Iterable[Fingerprint], run_id: str) -> None:
        with self.engine.begin() as conn:
            _record_fingerprints(conn, [(table, day, prints)], run_id, utcnow())

    def fingerprints_by_day(self, table: str) -> dict[dt.date, list[Fingerprint]]:
        """Every recorded landing fingerprint of a table, per day, in one query."""
        out: dict[dt.date, list[Fingerprint]] = {}
        c = source_files.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.day, c.path, c.size, c.mtime, c.sha256).where(c.table_name == table)
                                .order_by(c.day, c.path))
            for day, path, size, mtime, sha256 in rows:  # tuples: ``status`` reads every day of every table
                out.setdefault(day, []).append(Fingerprint(path, size, mtime, sha256))
        return out

    def fingerprints(self, table: str, day: dt.date) -> list[Fingerprint]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(source_files).where(source_files.c.table_name == table, source_files.c.day == day)
                .order_by(source_files.c.path)
            ).mappings()
            return [Fingerprint(r["path"], r["size"], r["mtime"], r["sha256"]) for r in rows]


class PauseFlags:
    """Paused tables (``*`` = all): jobs on them refuse to start unless forced."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def pause(self, table: str, reason: str) -> None:
        user, _ = whoami()
        with self.store.engine.begin() as conn:
            upsert(conn, pauses, dict(table_name=table, reason=reason, user=user, since=utcnow()))

    def resume(self, table: str) -> bool:
        with self.store.engine.begin() as conn:
            return conn.execute(delete(pauses).where(pauses.c.table_name == table)).rowcount > 0

    def all(self) -> dict[str, dict[str, Any]]:
        with self.store.engine.connect() as conn:
            return {r["table_name"]: dict(r) for r in conn.execute(select(pauses)).mappings()}

    def why_paused(self, table: str) -> dict[str, Any] | None:
        flags = self.all()
        return flags.get(table) or flags.get("*")


def _record_partitions(conn: Connection, entries: Sequence[dict[str, Any]], run_id: str, now: dt.datetime) -> None:
    """Days' build states (each entry: table, day, input_key, files_key, snapshot_id, rows and optionally
    files, the day's data file paths); clears their marks. Each statement runs once for all the days."""
    if not entries:
        return
    conn.execute(delete(marks).where(marks.c.table_name == bindparam("t"), marks.c.day == bindparam("d")),
                 [{"t": e["table"], "d": e["day"]} for e in entries])
    upsert(conn, partitions, [dict(table_name=e["table"], day=e["day"], input_key=e["input_key"],
                                   files_key=e["files_key"], snapshot_id=e["snapshot_id"], run_id=run_id,
                                   rows=e["rows"], built_at=now, files=_joined_files(e.get("files"))) for e in entries])


def _close_jobs(conn: Connection, closed: Sequence[tuple[int, str, dict[str, Any]]], now: dt.datetime) -> None:
    """Ledger rows closed (job id, status, values): one UPDATE for the rows that set the same columns."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for job_id, status, values in closed:
        by_columns.setdefault(tuple(sorted(values)), []).append(
            {"job": job_id, "v_status": status, **{f"v_{k}": v for k, v in values.items()}})
    for columns, rows in by_columns.items():
        conn.execute(update(jobs).where(jobs.c.id == bindparam("job")).values(
            status=bindparam("v_status"), ended_at=now, **{c: bindparam(f"v_{c}") for c in columns}), rows)


def _joined_files(paths: Sequence[str] | None) -> str | None:
    """``partitions.files``: the paths one per line, sorted; None when unknown or a path holds a line break."""
    if paths is None or any("\n" in p for p in paths):
        return None
    return "\n".join(sorted(paths))


def _record_fingerprints(conn: Connection, days: Sequence[tuple[str, dt.date, Iterable[Fingerprint]]], run_id: str,
                         now: dt.datetime) -> None:
    """Each (table, day)'s landing fingerprints, replacing what was recorded for it."""
    if not days:
        return
    conn.execute(delete(source_files).where(source_files.c.table_name == bindparam("t"), source_files.c.day == bindparam("d")),
                 [{"t": table, "d": day} for table, day, _ in days])
    rows = [dict(table_name=table, day=day, path=p.path, size=p.size, mtime=p.mtime, sha256=p.sha256,
                 run_id=run_id, recorded_at=now) for table, day, prints in days for p in prints]
    if rows:
        conn.execute(insert(source_files), rows)


def upsert(conn: Connection, table: Table, rows: dict[str, Any] | Sequence[dict[str, Any]]) -> None:
    """Insert each row (one, or several with the same columns), or replace the values of the row
    with its primary key: one statement, so two writers at once never trip over each other (a
    delete-then-insert does on PostgreSQL, where both deletes find nothing and the second insert
    breaks the key). ``INSERT … ON CONFLICT DO UPDATE`` on SQLite (3.24+) and PostgreSQL, run
    once for all the rows; elsewhere delete then insert, row by row."""
    rows = [rows] if isinstance(rows, dict) else list(rows)
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    if conn.dialect.name in ("postgresql", "sqlite"):
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(table)
        conn.execute(statement.on_conflict_do_update(
            index_elements=keys, set_={k: statement.excluded[k] for k in rows[0] if k not in keys}), rows)
        return
    for row in rows:
        conn.execute(delete(table).where(*[table.c[k] == row[k] for k in keys]))
        conn.execute(insert(table).values(**row))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")  # first: the WAL switch waits too
        _switch_to_wal(cursor)
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """``journal_mode=WAL``, retried while SQLite says "database is locked" for as long as the busy
    timeout would wait: processes opening a new state DB at the same moment each hold a read lock
    and want the exclusive one, and SQLite refuses one of them at once rather than let it wait
    (a deadlock otherwise), without calling its busy handler."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def as_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON-friendly copies of ledger rows (dates and datetimes as ISO strings)."""
    out = []
    for record in records:
        out.append({k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in record.items()})
    return out
