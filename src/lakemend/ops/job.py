"""One partition job: build the rows of (table, day), write-audit-publish them, record it all.

plan (done by the caller) → read inputs → transform → mask → dedup → contract → stage → audit
→ publish (quarantine first, then the table) → ledger + partition state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import traceback
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from lakemend.state import leases

from lakemend.state import metrics
from lakemend.project.config import mask_key
from lakemend.build.contracts import CheckResult, order_by_sql, row_rule_sql, schema_problems, table_checks
from lakemend.engines.duckdb import Connection, connect, lit, q
from lakemend.errors import LakemendError
from lakemend.build.ingest import QUARANTINE_SCHEMA, IngestContext, bronze_schema, ingest_day
from lakemend.lake import Lake, partition_day
from lakemend.build.masking import install_key, mask_expression
from lakemend.state.metrics import Dimensions
from lakemend.observe import InputRead, JobEvent, emit
from lakemend.observe.logs import redact
from lakemend.project.project import TableSpec
from lakemend.iceberg.publish import publish_day
from lakemend.project.sources import day_pattern, expected_location
from lakemend.state.store import Fingerprint, PauseFlags, utcnow


class ContractFailed(LakemendError):
    """Table-level checks failed: the partition was not published."""


@dataclass(frozen=True)
class PartitionJob:
    """A planned build of one partition, with the input identity it will be recorded under."""

    spec: TableSpec
    day: dt.date
    input_key: str
    why: str
    fingerprints: tuple[Fingerprint, ...] = ()


@dataclass
class Built:
    rows: pa.Table
    quarantine: pa.Table
    rows_read: int
    rows_deduplicated: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    inputs: tuple[InputRead, ...] = ()


@dataclass
class JobResult:
    table: str
    day: dt.date
    status: str
    why: str = ""
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    seconds: float = 0.0
    error: str | None = None
    snapshot_before: int | None = None
    snapshot_after: int | None = None


class PartitionPaused(LakemendError):
    """The table is paused; jobs refuse to write it unless forced."""


def check_not_paused(lake: Lake, table: str) -> None:
    flag = PauseFlags(lake.state).why_paused(table)
    if flag:
        scope = "all tables are" if flag["table_name"] == "*" else f"{table} is"
        raise PartitionPaused(
            f"{scope} paused since {flag['since']:%Y-%m-%d %H:%M} UTC by {flag['user']}: {flag['reason']}",
            f"lakemend resume {'--all' if flag['table_name'] == '*' else '--table ' + table}, or pass --force",
        )


def run_partition_job(lake: Lake, job: PartitionJob, run_id: str, command: str, reason: str | None,
                      debug: bool = False, force: bool = False, wait_seconds: float = 0.0) -> JobResult:
    spec, day = job.spec, job.day
    started = time.perf_counter()
    dims = Dimensions(spec.layer, spec.qualified, ",".join(lake.project.sources_of(spec.qualified)) or None)
    metrics.record(lake.state, metrics.STARTED, 1, dims, run_id)
    current = lake.table(spec.qualified)
    before = current.current_snapshot().snapshot_id if current is not None and current.current_snapshot() else None
    job_id = lake.state.start_job(run_id, command, spec.layer, spec.qualified, day, reason, before, job.input_key)
    result = JobResult(spec.qualified, day, "failed", job.why, snapshot_before=before)
    event = JobEvent(kind="START", run_id=run_id, command=command, layer=spec.layer, table=spec.qualified, day=day,
                     reason=reason, at=utcnow(), source=dims.source, snapshot_before=before)
    emit(lake, event)
    inputs: tuple[InputRead, ...] = ()
    key = (spec.qualified, day)
    try:
        if not force:
            check_not_paused(lake, spec.qualified)
        leases.acquire(lake.state, [key], run_id, wait_seconds=wait_seconds)
        built = build_bronze(lake, job, run_id) if spec.layer == "bronze" else build_model(lake, spec, day)
        inputs = built.inputs
        result.rows_read = built.rows_read
        result.rows_deduplicated = built.rows_deduplicated
        result.rows_quarantined = built.quarantine.num_rows
        _publish_quarantine(lake, spec, day, built.quarantine, run_id)
        table = lake.ensure_table(spec.qualified, built.rows.schema)
        published = publish_day(table, built.rows, day, run_id)
        result.rows_written = published.rows
        result.snapshot_before, result.snapshot_after = published.snapshot_before, published.snapshot_after
        lake.state.record_partition(spec.qualified, day, input_key=job.input_key, files_key=published.files_key,
                                    snapshot_id=published.snapshot_after, run_id=run_id, rows=published.rows)
        if spec.layer == "bronze":
            lake.state.record_fingerprints(spec.qualified, day, job.fingerprints, run_id)
        result.status = "succeeded"
    except LakemendError as exc:
        result.error = redact(lake.project, str(exc))
    except Exception as exc:  # noqa: BLE001 - a job failure is recorded, never lost
        result.error = redact(lake.project, f"{type(exc).__name__}: {exc}")
        if debug:
            traceback.print_exc()
    finally:
        leases.release(lake.state, run_id, [key])
    result.seconds = time.perf_counter() - started
    metrics.record(lake.state, metrics.SUCCEEDED if result.status == "succeeded" else metrics.FAILED, 1, dims, run_id)
    metrics.record(lake.state, metrics.DURATION, round(result.seconds, 3), dims, run_id)
    lake.state.finish_job(
        job_id, result.status, rows_read=result.rows_read, rows_written=result.rows_written,
        rows_quarantined=result.rows_quarantined, rows_deduplicated=result.rows_deduplicated,
        snapshot_before=result.snapshot_before, snapshot_after=result.snapshot_after, error=result.error,
    )
    emit(lake, dataclasses.replace(
        event, kind="COMPLETE" if result.status == "succeeded" else "FAIL", at=utcnow(), inputs=inputs,
        snapshot_before=result.snapshot_before, snapshot_after=result.snapshot_after, rows_read=result.rows_read,
        rows_written=result.rows_written, rows_quarantined=result.rows_quarantined,
        rows_deduplicated=result.rows_deduplicated, seconds=result.seconds, error=result.error,
    ))
    return result


def _publish_quarantine(lake: Lake, spec: TableSpec, day: dt.date, rows: pa.Table, run_id: str) -> None:
    """Replace the day's quarantine rows (also with none, so a clean rebuild clears old ones)."""
    qualified = f"quarantine.{spec.name}"
    existing = lake.table(qualified)
    if rows.num_rows == 0 and (existing is None or day not in lake.published_days(qualified, refresh=False)):
        return
    rows = rows.cast(QUARANTINE_SCHEMA)
    rows = rows.set_column(rows.schema.get_field_index("run_id"), "run_id", pa.array([run_id] * rows.num_rows, pa.string()))
    table = lake.ensure_table(qualified, QUARANTINE_SCHEMA)
    publish_day(table, rows, day, run_id)


# ----- bronze ---------------------------------------------------------------------------------------


def build_bronze(lake: Lake, job: PartitionJob, run_id: str) -> Built:
    spec, day = job.spec, job.day
    assert spec.bronze is not None
    raw = lake.project.raw
    files = [(raw / p.path, p.path) for p in job.fingerprints]
    if not files:
        raise LakemendError(
            f"no landing data for {spec.qualified} on {day}: expected files at {expected_location(lake.project, spec, day)}",
            "check the delivery, or run `lakemend generate` for the example",
        )
    ctx = IngestContext(run_id=run_id, day=day, ingested_at=utcnow())
    con = connect()
    try:
        result = ingest_day(con, spec.bronze, files, ctx)
    finally:
        con.close()
    landing = InputRead(f"landing/{day_pattern(spec, day)}", day, day, None)  # the raw files, for lineage
    return Built(rows=result.rows.cast(bronze_schema(spec.bronze)), quarantine=result.quarantine,
                 rows_read=result.records_read, inputs=(landing,))


# ----- silver and gold --------------------------------------------------------------------------------


def transpile(sql: str, dialect: str) -> str:
    if dialect == "duckdb":
        return sql
    import sqlglot

    return sqlglot.transpile(sql, read=dialect, write="duckdb")[0]


Overrides = dict[tuple[str, dt.date], pa.Table]


def bind_inputs(lake: Lake, con: Connection, spec: TableSpec, day: dt.date, overrides: Overrides | None = None,
                reads: list[InputRead] | None = None) -> int:
    """Expose each input as ``layer.table`` holding only the days its mapping asks for.

    DuckDB reads the published data files itself (streaming only the columns a model uses)
    unless pyiceberg must (evolved schema, delete files, remote storage). ``overrides`` replaces
    input days with rows built in memory: dry runs use it so that a downstream diff shows what
    the upstream rebuild would change, without writing it.
    """
    from pyiceberg.expressions import And, GreaterThanOrEqual, In, LessThanOrEqual, Not

    read = 0
    for index, inp in enumerate(spec.inputs):
        layer, name = inp.table.split(".", 1)
        first, last = inp.window(day)
        replaced = {d: rows for (t, d), rows in (overrides or {}).items()
                    if t == inp.table and (first is None or d >= first) and d <= last}
        table = lake.table(inp.table)
        if table is None and not replaced:
            raise LakemendError(f"input {inp.table} of {spec.qualified} does not exist yet", f"build it first: lakemend run --date {day}")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(layer)}")
        if reads is not None:
            snapshot = table.current_snapshot() if table is not None else None
            reads.append(InputRead(inp.table, first, last, snapshot.snapshot_id if snapshot else None))
        parts = []
        if table is not None:
            row_filter = LessThanOrEqual("day", last.isoformat())
            if first is not None:
                row_filter = And(GreaterThanOrEqual("day", first.isoformat()), row_filter)
            if replaced:
                row_filter = And(row_filter, Not(In("day", {d.isoformat() for d in replaced})))
            files = _direct_files(table, row_filter)
            if files is not None and files[0]:
                read += files[1]
                parts.append(f"SELECT * FROM read_parquet([{', '.join(lit(path) for path in files[0])}])")
            elif files is None:
                data = table.scan(row_filter=row_filter).to_arrow()
                read += data.num_rows
                con.register(f"_input_{index}", data)
                parts.append(f"SELECT * FROM _input_{index}")
        for number, rows in enumerate(replaced.values()):
            read += rows.num_rows
            con.register(f"_input_{index}_{number}", rows)
            parts.append(f"SELECT * FROM _input_{index}_{number}")
        if not parts:  # no input day yet: an empty relation with the table's columns
            con.register(f"_input_{index}", table.schema().as_arrow().empty_table())
            parts.append(f"SELECT * FROM _input_{index}")
        con.execute(f"CREATE OR REPLACE VIEW {q(layer)}.{q(name)} AS {' UNION ALL BY NAME '.join(parts)}")
    return read


def _direct_files(table, row_filter) -> tuple[list[str], int] | None:  # noqa: ANN001
    """Local data files (and their row count) that DuckDB may read itself; None when pyiceberg
    must read (evolved schema, delete files, remote storage)."""
    from urllib.parse import unquote, urlparse

    if len(table.metadata.schemas) != 1:
        return None
    tasks = list(table.scan(row_filter=row_filter).plan_files())
    if any(task.delete_files for task in tasks) or any(not t.file.file_path.startswith("file:") for t in tasks):
        return None
    return [unquote(urlparse(t.file.file_path).path) for t in tasks], sum(t.file.record_count for t in tasks)


def build_model(lake: Lake, spec: TableSpec, day: dt.date, overrides: Overrides | None = None) -> Built:
    """Model → mask → dedup → contract, as one DuckDB table ``_checked`` (few copies of a big day)."""
    assert spec.model is not None
    con = connect()
    try:
        reads: list[InputRead] = []
        rows_read = bind_inputs(lake, con, spec, day, overrides, reads)
        sql = transpile(spec.sql, lake.project.config.dialect)
        try:
            columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM ({sql}\n) AS _model") if r[0] != "day"]
        except duckdb.Error as exc:  # the model's own SQL mistake
            message = str(exc).splitlines()[0]
            raise LakemendError(f"model {spec.model.sql} failed on {day}: {message}", "fix the SQL and rerun") from None
        masked = _masked_columns(lake, con, spec, columns)
        duplicate = _duplicate_sql(spec)
        rule = row_rule_sql(spec.contract, set(columns))
        con.execute(
            f"CREATE TEMP TABLE _checked AS SELECT *, CASE WHEN _dup THEN NULL ELSE {rule} END AS _reason "
            f"FROM (SELECT {masked}, {duplicate} AS _dup FROM ({sql}\n) AS _model) AS _masked"
        )
        deduplicated = con.scalar("SELECT count(*) FROM _checked WHERE _dup")
        good, quarantine, checks = _apply_contract(lake, con, spec, day, columns)
        return Built(rows=good, quarantine=quarantine, rows_read=rows_read, rows_deduplicated=int(deduplicated),
                     checks=checks, inputs=tuple(reads))
    finally:
        con.close()


def _masked_columns(lake: Lake, con: Connection, spec: TableSpec, columns: list[str]) -> str:
    assert spec.model is not None
    policies = spec.model.mask
    missing = [c for c in policies if c not in columns]
    if missing:
        raise LakemendError(f"{spec.qualified}: mask names column {missing[0]!r}, which the model does not output", "fix mask in lakemend.yaml")
    if policies:
        install_key(con, mask_key(lake.project.config.masking, lake.project.root))
    return ", ".join(f"{mask_expression(c, policies[c])} AS {q(c)}" if c in policies else q(c) for c in columns)


def _duplicate_sql(spec: TableSpec) -> str:
    """TRUE for every row but the latest per unique key; rows with a NULL key are left to the contract."""
    assert spec.model is not None
    cfg = spec.model
    if not (cfg.unique_key and cfg.dedup_order_by):
        return "FALSE"
    try:
        order = order_by_sql(cfg.dedup_order_by)
    except ValueError as exc:
        raise LakemendError(f"{spec.qualified}: {exc}", "fix dedup_order_by in lakemend.yaml") from None
    keys = ", ".join(q(k) for k in cfg.unique_key)
    no_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in cfg.unique_key)
    return f"({no_null} AND row_number() OVER (PARTITION BY {keys} ORDER BY {order}) > 1)"


def _recent_counts(lake: Lake, spec: TableSpec, day: dt.date, days: int) -> list[int]:
    table = lake.table(spec.qualified)
    if table is None or table.current_snapshot() is None:
        return []
    counts = []
    for row in table.inspect.partitions().to_pylist():
        when = partition_day(row["partition"]["day"])
        if day - dt.timedelta(days=days) <= when < day:
            counts.append(int(row["record_count"]))
    return counts


def _apply_contract(lake: Lake, con: Connection, spec: TableSpec, day: dt.date,
                    columns: list[str]) -> tuple[pa.Table, pa.Table, list[CheckResult]]:
    contract = spec.contract
    cols = ", ".join(q(c) for c in columns)
    con.execute(f"CREATE TEMP VIEW _good AS SELECT {cols} FROM _checked WHERE NOT _dup AND _reason IS NULL")
    good = con.arrow(f"SELECT {cols}, DATE {lit(day.isoformat())} AS day FROM _good")
    problems = schema_problems(contract, good.schema)
    recent = []
    if contract and contract.checks.row_count_vs_recent:
        recent = _recent_counts(lake, spec, day, contract.checks.row_count_vs_recent.days)
    checks = table_checks(con, "_good", contract, day, recent)
    failed = problems + [c.describe() for c in checks if not c.passed]
    if failed:
        raise ContractFailed(f"{spec.qualified} {day}: contract failed: {'; '.join(failed)}",
                             "the published data is untouched; fix the input or the contract and rerun")
    now = utcnow()
    quarantine = con.arrow(f"SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS line, _reason AS reason, "
        f"to_json(struct_pack({', '.join(f'{q(c)} := {q(c)}' for c in columns)}))::VARCHAR AS raw, "
        f"CAST(NULL AS VARCHAR) AS run_id, TIMESTAMP {lit(now.isoformat(sep=' '))} AS quarantined_at, "
        f"DATE {lit(day.isoformat())} AS day FROM _checked WHERE NOT _dup AND _reason IS NOT NULL",
    )
    return good, quarantine.cast(QUARANTINE_SCHEMA), checks
