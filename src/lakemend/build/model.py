"""Silver and gold builds: bind inputs, run the model SQL, mask, dedup, apply the contract.

A model is a plain SELECT over ``layer.table`` names. Each input is bound to a view holding
only the days its mapping asks for; the engine runs the SELECT with masking, dedup and row
rules in one statement, and the rows that pass are checked against the table-level contract.
Nothing here writes: the job publishes what :func:`build_model` returns.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from lakemend.build.contracts import CheckResult, order_by_sql, row_rule_sql, schema_problems, table_checks
from lakemend.build.ingest import QUARANTINE_SCHEMA
from lakemend.build.masking import install_key, mask_expression
from lakemend.build.pii import forbids_pii, scan
from lakemend.build.result import Built
from lakemend.build.shared import BuildSession
from lakemend.engines.base import CANONICAL_DIALECT, Session
from lakemend.engines.sql import lit, q, transpile
from lakemend.errors import AuditFailed, ContractFailed, LakemendError, SqlError
from lakemend.iceberg.files import local_data_files, recent_counts
from lakemend.lake import Lake
from lakemend.observe.events import InputRead
from lakemend.project.config import mask_key
from lakemend.project.project import TableSpec
from lakemend.state.store import utcnow

Overrides = dict[tuple[str, dt.date], pa.Table]



def bind_inputs(lake: Lake, con: Session, spec: TableSpec, day: dt.date, overrides: Overrides | None = None,
                reads: list[InputRead] | None = None, shared: BuildSession | None = None) -> int:
    """Expose each input as ``layer.table`` holding only the days its mapping asks for.

    DuckDB reads the published data files itself (streaming only the columns a model uses)
    unless pyiceberg must (evolved schema, delete files, remote storage). ``overrides`` replaces
    input days with rows built in memory: dry runs use it so that a downstream diff shows what
    the upstream rebuild would change, without writing it. ``shared``: the batch this day is
    built in (its input tables and their files are planned once for all its days).
    """
    from pyiceberg.expressions import And, GreaterThanOrEqual, In, LessThanOrEqual, Not

    read = 0
    for index, inp in enumerate(spec.inputs):
        layer, name = inp.table.split(".", 1)
        first, last = inp.window(day)
        replaced = {d: rows for (t, d), rows in (overrides or {}).items()
                    if t == inp.table and (first is None or d >= first) and d <= last}
        table = shared.table(inp.table) if shared is not None else lake.table(inp.table)
        if table is None and not replaced:
            raise LakemendError(f"input {inp.table} of {spec.qualified} does not exist yet", f"build it first: lakemend run --date {day}")
        if shared is None or shared.once(f"schema {layer}"):
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
            files = (shared.input_files(inp.table, first, last, skip=replaced) if shared is not None
                     else local_data_files(table, row_filter))
            if files is not None and files[0]:
                read += files[1]
                parts.append(f"SELECT * FROM {con.parquet_relation(files[0])}")
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


def build_model(lake: Lake, spec: TableSpec, day: dt.date, overrides: Overrides | None = None,
                shared: BuildSession | None = None) -> Built:
    """Model → dedup → mask → contract, as one engine table ``_checked`` (few copies of a big day:
    on DuckDB the rows written are that table's own buffers when none was quarantined).

    ``shared``: the batch's session (see :mod:`lakemend.build.shared`); without one the day gets
    its own, closed afterwards.
    """
    assert spec.model is not None
    if shared is None:
        with BuildSession(lake, lake.engine, spec, [day]) as alone:
            return build_model(lake, spec, day, overrides, alone)
    shared.reset()
    con = shared.con
    reads: list[InputRead] = []
    rows_read = bind_inputs(lake, con, spec, day, overrides, reads, shared)
    sql = transpile(spec.sql, lake.project.config.dialect, CANONICAL_DIALECT)  # sessions take the canonical dialect

    def describe() -> list[str]:
        try:
            return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM ({sql}\n) AS _model") if r[0] != "day"]
        except SqlError as exc:  # the model's own SQL mistake
            message = str(exc).splitlines()[0]
            raise LakemendError(f"model {spec.model.sql} failed on {day}: {message}", "fix the SQL and rerun") from None

    # a dry run's rows in memory may carry columns the published input days lack: described per day
    columns = describe() if overrides else shared.model_columns(sql, describe)
    masked = _masked_columns(lake, shared, spec, columns)
    duplicate, replaced = _duplicate_sql(spec)
    rule = row_rule_sql(spec.contract, set(columns))
    # Duplicates are dropped before anything is held: each kept row counts the ones it replaced
    # (the same window, so no second pass), and a day with none quarantined is written from the
    # checked rows' own buffers (``good_rows``).
    checked = con.materialize(
        "_checked", f"SELECT *, {rule} AS _reason FROM (SELECT {masked}, _replaced FROM ("
        f"SELECT *, {duplicate} AS _dup, {replaced} AS _replaced FROM ({sql}\n) AS _model"
        f") AS _ranked WHERE NOT _dup) AS _masked"
    )
    deduplicated, quarantined = _dropped_and_broken(con, checked)
    good, quarantine, checks = _apply_contract(shared, con, spec, day, columns, rows_read, deduplicated,
                                               quarantined, checked)
    _pii_gate(con, spec, day)
    return Built(rows=good, quarantine=quarantine, rows_read=rows_read, rows_deduplicated=deduplicated,
                 checks=checks, inputs=tuple(reads))


def good_rows(con: Session, columns: list[str], day: dt.date, every_row: pa.Table | None = None) -> pa.Table:
    """The rows of ``_good`` with their ``day``: from the engine, or — ``every_row``: the checked
    rows the engine holds as Arrow, when none was quarantined — as a view of those rows' buffers
    (no copy of the day)."""
    if every_row is None:
        return con.arrow(f"SELECT {', '.join(q(c) for c in columns)}, DATE {lit(day.isoformat())} AS day FROM _good")
    rows = every_row.select(columns)
    return rows.append_column(pa.field("day", pa.date32()), pa.repeat(pa.scalar(day, pa.date32()), rows.num_rows))


def _dropped_and_broken(con: Session, checked: pa.Table | None) -> tuple[int, int]:
    """How many duplicates the kept rows of ``_checked`` replaced, and how many rows broke a rule:
    from the rows this process holds when the engine returned them (DuckDB), else by the engine."""
    if checked is not None:
        import pyarrow.compute as pc

        return int(pc.sum(checked["_replaced"]).as_py() or 0), checked.num_rows - checked["_reason"].null_count
    deduplicated, quarantined = con.execute(
        "SELECT coalesce(sum(_replaced), 0), coalesce(sum(CASE WHEN _reason IS NOT NULL THEN 1 ELSE 0 END), 0) "
        "FROM _checked")[0]
    return int(deduplicated), int(quarantined)


def _masked_columns(lake: Lake, shared: BuildSession, spec: TableSpec, columns: list[str]) -> str:
    assert spec.model is not None
    policies = spec.model.mask
    missing = [c for c in policies if c not in columns]
    if missing:
        raise LakemendError(f"{spec.qualified}: mask names column {missing[0]!r}, which the model does not output", "fix mask in lakemend.yaml")
    if policies and shared.once("masking key"):
        install_key(shared.con, mask_key(lake.project.config.masking, lake.project.root))
    return ", ".join(f"{mask_expression(c, policies[c])} AS {q(c)}" if c in policies else q(c) for c in columns)


def _pii_gate(con: Session, spec: TableSpec, day: dt.date) -> None:
    """Refuse to publish e-mail addresses, phone numbers or configured patterns in a column the
    table does not mask (gold tables and ``pii: forbid``; see :mod:`lakemend.build.pii`)."""
    assert spec.model is not None
    if not forbids_pii(spec):
        return
    hits = scan(con, "_good", spec, skip=list(spec.model.mask))
    if hits:
        raise AuditFailed(
            f"{spec.qualified} {day}: PII found, nothing published: {'; '.join(h.describe() for h in hits)}",
            f"mask the column in lakemend.yaml (e.g. mask: {{{hits[0].column}: redact}}) or clean the source",
        )


def _duplicate_sql(spec: TableSpec) -> tuple[str, str]:
    """TRUE for every row but the latest per unique key, and for that latest row how many it
    replaced; rows with a NULL key are left to the contract."""
    assert spec.model is not None
    cfg = spec.model
    if not (cfg.unique_key and cfg.dedup_order_by):
        return "FALSE", "0"
    try:
        order = order_by_sql(cfg.dedup_order_by)
    except ValueError as exc:
        raise LakemendError(f"{spec.qualified}: {exc}", "fix dedup_order_by in lakemend.yaml") from None
    keys = ", ".join(q(k) for k in cfg.unique_key)
    no_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in cfg.unique_key)
    window = f"PARTITION BY {keys} ORDER BY {order}"  # one window for both: one sort
    return (f"({no_null} AND row_number() OVER ({window}) > 1)",
            f"CASE WHEN {no_null} THEN count(*) OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND "
            f"UNBOUNDED FOLLOWING) - 1 ELSE 0 END")


def _apply_contract(shared: BuildSession, con: Session, spec: TableSpec, day: dt.date, columns: list[str],
                    rows_read: int, deduplicated: int, quarantined: int,
                    checked: pa.Table | None) -> tuple[pa.Table, pa.Table, list[CheckResult]]:
    contract = spec.contract
    cols = ", ".join(q(c) for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _good AS SELECT {cols} FROM _checked WHERE _reason IS NULL")
    good = good_rows(con, columns, day, checked if not quarantined else None)
    problems = schema_problems(contract, good.schema)
    recent = []
    if contract and contract.checks.row_count_vs_recent:
        recent = recent_counts(shared.counts_before(day), day, contract.checks.row_count_vs_recent.days)
    checks = table_checks(con, "_good", contract, day, recent, columns, good)
    failed = problems + [c.describe() for c in checks if not c.passed]
    if failed:
        rules = dict(con.execute("SELECT _reason, count(*) FROM _checked WHERE _reason IS NOT NULL "
                                 "GROUP BY _reason ORDER BY count(*) DESC, _reason"))
        quarantined = sum(rules.values())
        broken = f" ({', '.join(f'{rule}: {n:,}' for rule, n in rules.items())})" if rules else ""
        raise ContractFailed(
            f"{spec.qualified} {day}: contract failed: {'; '.join(failed)}; rows read {rows_read:,}, "
            f"deduplicated {deduplicated:,}, quarantined {quarantined:,}{broken}",
            "the published data is untouched; fix the input or the contract and rerun",
            rows_read=rows_read, rows_quarantined=quarantined, rows_deduplicated=deduplicated, rule_counts=rules,
        )
    if not quarantined:
        return good, QUARANTINE_SCHEMA.empty_table(), checks
    now = utcnow()
    quarantine = con.arrow(f"SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS line, _reason AS reason, "
        f"to_json(struct_pack({', '.join(f'{q(c)} := {q(c)}' for c in columns)}))::VARCHAR AS raw, "
        f"CAST(NULL AS VARCHAR) AS run_id, TIMESTAMP {lit(now.isoformat(sep=' '))} AS quarantined_at, "
        f"DATE {lit(day.isoformat())} AS day FROM _checked WHERE _reason IS NOT NULL",
    )
    return good, quarantine.cast(QUARANTINE_SCHEMA), checks
