"""Bronze ingest: one landing day → typed bronze rows + quarantined records.

Every declared field is kept as delivered (typed), undeclared fields go to ``_extra`` as JSON,
and each record that cannot be read or typed goes to quarantine with its file, line, rule and
raw text. A file that lacks a *required* column fails the job: that is a contract break, not
a bad record.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakemend.coltypes import arrow_type, duckdb_type
from lakemend.config import BronzeTableConfig, ColumnSpec
from lakemend.engines.duckdb import Connection, lit, q
from lakemend.errors import LakemendError

META_COLUMNS = ("_extra", "_source_file", "_ingested_at", "_run_id", "_record_hash")

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us")),
        pa.field("day", pa.date32()),
    ]
)


class IngestError(LakemendError):
    """A landing file that cannot be ingested at all (not a single bad record)."""


@dataclass
class IngestResult:
    rows: pa.Table
    quarantine: pa.Table
    records_read: int


@dataclass(frozen=True)
class IngestContext:
    run_id: str
    day: dt.date
    ingested_at: dt.datetime


def bronze_schema(cfg: BronzeTableConfig) -> pa.Schema:
    fields = [pa.field(name, arrow_type(col)) for name, col in cfg.columns.items()]
    fields += [
        pa.field("_extra", pa.string()),
        pa.field("_source_file", pa.string()),
        pa.field("_ingested_at", pa.timestamp("us")),
        pa.field("_run_id", pa.string()),
        pa.field("_record_hash", pa.string()),
        pa.field("day", pa.date32()),
    ]
    return pa.schema(fields)


def ingest_day(
    con: Connection,
    cfg: BronzeTableConfig,
    files: list[tuple[Path, str]],
    ctx: IngestContext,
) -> IngestResult:
    """Read the day's files (absolute path, path relative to the landing zone) into bronze rows."""
    readers = {"csv": _read_csv_file, "jsonl": _read_jsonl_file, "parquet": _read_parquet_file}
    parts: list[pa.Table] = []
    bad: list[pa.Table] = []
    read = 0
    for path, relative in files:
        good, quarantined, count = readers[cfg.format](con, cfg, path, relative, ctx)
        parts.append(good)
        bad.append(quarantined)
        read += count
    schema = bronze_schema(cfg)
    rows = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
    quarantine = pa.concat_tables(bad) if bad else QUARANTINE_SCHEMA.empty_table()
    return IngestResult(rows=rows, quarantine=quarantine, records_read=read)


# ----- shared SQL pieces ---------------------------------------------------------------------


def _meta_sql(relative: str, ctx: IngestContext, hashed: list[str]) -> str:
    hash_input = ", ".join(f"{q(c)}" for c in hashed)
    return (
        f"{lit(relative)} AS _source_file, "
        f"TIMESTAMP {lit(ctx.ingested_at.isoformat(sep=' '))} AS _ingested_at, "
        f"{lit(ctx.run_id)} AS _run_id, "
        f"md5(CAST(row({hash_input}) AS VARCHAR)) AS _record_hash, "
        f"DATE {lit(ctx.day.isoformat())} AS day"
    )


def _quarantine_table(records: list[dict[str, Any]], relative: str, ctx: IngestContext) -> pa.Table:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = {
        "source_file": [relative] * len(records),
        "line": [r["line"] for r in records],
        "reason": [r["reason"] for r in records],
        "raw": [r["raw"] for r in records],
        "run_id": [ctx.run_id] * len(records),
        "quarantined_at": [now] * len(records),
        "day": [ctx.day] * len(records),
    }
    return pa.table(rows, schema=QUARANTINE_SCHEMA)


def _missing_required(cfg: BronzeTableConfig, present: set[str], relative: str) -> None:
    missing = [name for name, col in cfg.columns.items() if col.required and name not in present]
    if missing:
        raise IngestError(
            f"{relative}: required column {', '.join(repr(m) for m in missing)} is missing "
            f"(rule: columns.{missing[0]}.required)",
            "fix the export, or mark the column optional in lakemend.yaml and backfill again",
        )


def _required_null_sql(cfg: BronzeTableConfig) -> str:
    """A SQL expression naming the first required field that is empty, else NULL."""
    checks = [f"WHEN {q(name)} IS NULL THEN 'required field {name} is empty'" for name, col in cfg.columns.items() if col.required]
    return f"CASE {' '.join(checks)} END" if checks else "CAST(NULL AS VARCHAR)"


def _split(con: Connection, staged: str, cfg: BronzeTableConfig, reason_sql: str,
           relative: str, ctx: IngestContext) -> tuple[pa.Table, pa.Table]:
    """Split a staged relation into good rows and quarantine rows by ``reason_sql``."""
    declared = list(cfg.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS SELECT *, {reason_sql} AS _reason FROM {staged}")
    cols = ", ".join(q(c) for c in declared)
    good = con.arrow(f"SELECT {cols}, _extra, {_meta_sql(relative, ctx, declared + ['_extra'])} FROM _checked WHERE _reason IS NULL",
    )
    bad_rows = con.execute(
        f"SELECT _line, _reason, _raw FROM _checked WHERE _reason IS NOT NULL ORDER BY _line"
    )
    con.execute("DROP TABLE _checked")
    records = [{"line": line, "reason": reason, "raw": raw} for line, reason, raw in bad_rows]
    return good, _quarantine_table(records, relative, ctx)


# ----- CSV -------------------------------------------------------------------------------------


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = handle.readline()
    if not first.strip():
        return []
    return next(csv.reader([first]))


def _read_csv_file(con: Connection, cfg: BronzeTableConfig, path: Path, relative: str,
                   ctx: IngestContext) -> tuple[pa.Table, pa.Table, int]:
    for name, col in cfg.columns.items():
        if col.fields is not None:
            raise IngestError(f"column {name!r} has nested fields, which CSV cannot carry", "declare it as a scalar type")
    header = [h.strip() for h in _csv_header(path)]
    if not header:
        return bronze_schema(cfg).empty_table(), QUARANTINE_SCHEMA.empty_table(), 0
    if len(set(header)) != len(header):
        raise IngestError(f"{relative}: the header repeats a column name: {header}", "fix the export")
    _missing_required(cfg, set(header), relative)
    types = {h: duckdb_type(cfg.columns[h]) if h in cfg.columns else "VARCHAR" for h in header}
    extras = [h for h in header if h not in cfg.columns]
    columns_arg = "{" + ", ".join(f"{lit(h)}: {lit(t)}" for h, t in types.items()) + "}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _file AS
        SELECT * FROM read_csv({lit(str(path))}, header = true, columns = {columns_arg}, auto_detect = false,
                               delim = ',', quote = '"', escape = '"', store_rejects = true,
                               rejects_table = '_rejects', rejects_scan = '_rejects_scan')"""
    )
    selects = []
    for name, col in cfg.columns.items():
        selects.append(q(name) if name in types else f"CAST(NULL AS {duckdb_type(col)}) AS {q(name)}")
    extra_sql = (
        "to_json(struct_pack(" + ", ".join(f"{q(e)} := {q(e)}" for e in extras) + "))::VARCHAR"
        if extras
        else "CAST(NULL AS VARCHAR)"
    )
    raw_sql = "to_json(struct_pack(" + ", ".join(f"{q(h)} := {q(h)}" for h in header) + "))::VARCHAR"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _staged AS SELECT {', '.join(selects)}, {extra_sql} AS _extra, "
        f"CAST(NULL AS BIGINT) AS _line, {raw_sql} AS _raw FROM _file"
    )
    good, bad = _split(con, "_staged", cfg, _required_null_sql(cfg), relative, ctx)
    rejects = con.execute(
        "SELECT line, error_type, column_name, error_message, csv_line FROM _rejects ORDER BY line, column_idx"
    )
    con.execute("DROP VIEW _staged")
    con.execute("DROP TABLE _file")
    # DuckDB may report several errors for one line: quarantine the line once, with its first error
    first_error: dict[int, dict[str, Any]] = {}
    for line, kind, column, message, raw in rejects:
        first_error.setdefault(line, {"line": line, "raw": raw, "reason": _reject_reason(kind, column, message)})
    rejected = list(first_error.values())
    quarantine = pa.concat_tables([bad, _quarantine_table(rejected, relative, ctx)])
    # the rejects tables are replaced by the next read_csv; drop them to keep memory flat
    con.execute("DROP TABLE IF EXISTS _rejects")
    con.execute("DROP TABLE IF EXISTS _rejects_scan")
    return good, quarantine, good.num_rows + quarantine.num_rows


def _reject_reason(kind: str, column: str | None, message: str) -> str:
    if kind == "CAST":
        return f"bad type in column {column}: {message.split('. ', 1)[-1]}"
    return f"malformed CSV line ({kind.lower()}): {message}"


# ----- JSON lines ------------------------------------------------------------------------------


def _leaf_paths(columns: dict[str, ColumnSpec], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], ColumnSpec]]:
    out: list[tuple[tuple[str, ...], ColumnSpec]] = []
    for name, col in columns.items():
        if col.fields is not None:
            out += _leaf_paths(col.fields, prefix + (name,))
        else:
            out.append((prefix + (name,), col))
    return out


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _undeclared(obj: dict[str, Any], columns: dict[str, ColumnSpec]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        col = columns.get(key)
        if col is None:
            extra[key] = value
        elif col.fields is not None and isinstance(value, dict):
            nested = _undeclared(value, col.fields)
            if nested:
                extra[key] = nested
    return extra


def _flatten_record(obj: Any, cfg: BronzeTableConfig, leaves: list[tuple[tuple[str, ...], ColumnSpec]]
                    ) -> tuple[list[str | None], str | None, str | None]:
    """Leaf values as text, the undeclared fields as JSON, or a reason to quarantine."""
    if not isinstance(obj, dict):
        return [], None, f"not a JSON object (got {type(obj).__name__})"
    for name, col in cfg.columns.items():
        if col.required and obj.get(name) in (None, ""):
            return [], None, f"required field {name} is missing or empty"
        if col.fields is not None and obj.get(name) is not None and not isinstance(obj[name], dict):
            return [], None, f"field {name} must be an object, got {type(obj[name]).__name__}"
    values: list[str | None] = []
    for path, _col in leaves:
        node: Any = obj
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        values.append(_as_text(node))
    extra = _undeclared(obj, cfg.columns)
    return values, (json.dumps(extra, sort_keys=True) if extra else None), None


def _read_jsonl_file(con: Connection, cfg: BronzeTableConfig, path: Path, relative: str,
                     ctx: IngestContext) -> tuple[pa.Table, pa.Table, int]:
    leaves = _leaf_paths(cfg.columns)
    columns: list[list[str | None]] = [[] for _ in leaves]
    extras: list[str | None] = []
    lines: list[int] = []
    raws: list[str] = []
    rejected: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                rejected.append({"line": number, "raw": text, "reason": f"malformed JSON: {exc.msg} (column {exc.colno})"})
                continue
            values, extra, reason = _flatten_record(obj, cfg, leaves)
            if reason:
                rejected.append({"line": number, "raw": text, "reason": reason})
                continue
            for column, value in zip(columns, values, strict=True):
                column.append(value)
            extras.append(extra)
            lines.append(number)
            raws.append(text)
    leaf_names = ["__".join(p) for p, _ in leaves]
    staged = pa.table(
        {**{n: pa.array(c, pa.string()) for n, c in zip(leaf_names, columns, strict=True)},
         "_extra": pa.array(extras, pa.string()), "_line": pa.array(lines, pa.int64()), "_raw": pa.array(raws, pa.string())}
    )
    good, bad = _typed_split(con, cfg, staged, leaves, leaf_names, relative, ctx)
    quarantine = pa.concat_tables([bad, _quarantine_table(rejected, relative, ctx)])
    return good, quarantine, good.num_rows + quarantine.num_rows


def _typed_split(con: Connection, cfg: BronzeTableConfig, staged: pa.Table,
                 leaves: list[tuple[tuple[str, ...], ColumnSpec]], leaf_names: list[str], relative: str,
                 ctx: IngestContext) -> tuple[pa.Table, pa.Table]:
    """TRY_CAST text leaves to their declared types; a value that does not convert is a bad record."""
    con.register("_text", staged)
    casts = {name: f"TRY_CAST({q(name)} AS {duckdb_type(col)})" for name, (_, col) in zip(leaf_names, leaves, strict=True)}
    problems = [
        f"CASE WHEN {q(name)} IS NOT NULL AND {casts[name]} IS NULL THEN "
        f"'bad type in field {'.'.join(path)}: cannot convert ' || {q(name)} || ' to {col.type}' END"
        for name, (path, col) in zip(leaf_names, leaves, strict=True)
    ]
    reason_sql = f"coalesce({', '.join(problems)})" if problems else "CAST(NULL AS VARCHAR)"

    def build(columns: dict[str, ColumnSpec], prefix: tuple[str, ...]) -> list[str]:
        parts = []
        for name, col in columns.items():
            path = prefix + (name,)
            if col.fields is not None:
                inner = ", ".join(build(col.fields, path))
                parts.append(f"struct_pack({inner})" if not prefix else f"{q(name)} := struct_pack({inner})")
                if not prefix:
                    parts[-1] += f" AS {q(name)}"
            else:
                expr = casts["__".join(path)]
                parts.append(f"{q(name)} := {expr}" if prefix else f"{expr} AS {q(name)}")
        return parts

    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _staged AS SELECT {', '.join(build(cfg.columns, ()))}, _extra, _line, _raw, "
        f"{reason_sql} AS _cast_problem FROM _text"
    )
    required = _required_null_sql(cfg)
    result = _split(con, "_staged", cfg, f"coalesce(_cast_problem, {required})", relative, ctx)
    con.execute("DROP VIEW _staged")
    con.unregister("_text")
    return result


# ----- Parquet ---------------------------------------------------------------------------------


def _read_parquet_file(con: Connection, cfg: BronzeTableConfig, path: Path, relative: str,
                       ctx: IngestContext) -> tuple[pa.Table, pa.Table, int]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{relative}: not a readable Parquet file ({exc})", "re-deliver the file") from None
    _missing_required(cfg, set(table.column_names), relative)
    con.register("_pq", table)
    present = set(table.column_names)
    leaves = [((name,), col) for name, col in cfg.columns.items()]
    names = list(cfg.columns)
    text = ", ".join(
        f"CAST({q(n)} AS VARCHAR) AS {q(n)}" if n in present else f"CAST(NULL AS VARCHAR) AS {q(n)}" for n in names
    )
    extras = [c for c in table.column_names if c not in cfg.columns]
    extra_sql = "to_json(struct_pack(" + ", ".join(f"{q(e)} := {q(e)}" for e in extras) + "))::VARCHAR" if extras else "NULL"
    staged = con.arrow(f"SELECT {text}, CAST({extra_sql} AS VARCHAR) AS _extra, CAST(row_number() OVER () AS BIGINT) AS _line, "
        f"to_json(_pq)::VARCHAR AS _raw FROM _pq",
    )
    con.unregister("_pq")
    for name, col in cfg.columns.items():
        if col.fields is not None:
            raise IngestError(f"column {name!r}: nested fields are read from JSON sources only", "flatten it for Parquet")
    good, bad = _typed_split(con, cfg, staged, leaves, names, relative, ctx)
    return good, bad, good.num_rows + bad.num_rows
