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

from lakemend.project.coltypes import arrow_type, duckdb_type
from lakemend.project.config import BronzeTableConfig, ColumnSpec
from lakemend.build.contracts import bronze_rule_sql
from lakemend.engines.base import Session as Connection
from lakemend.engines.sql import lit, q
from lakemend.errors import IngestError, SqlError

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


def _split(con: Connection, staged: str, cfg: BronzeTableConfig, reason_sql: str,
           relative: str, ctx: IngestContext) -> tuple[pa.Table, pa.Table]:
    """Split a staged relation into good rows and quarantine rows by ``reason_sql``.

    A view, not a table: the raw text of a record is only rendered for the few quarantined ones.
    """
    declared = list(cfg.columns)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _checked AS SELECT *, {reason_sql} AS _reason FROM {staged}")
    cols = ", ".join(q(c) for c in declared)
    good = con.arrow(f"SELECT {cols}, _extra, {_meta_sql(relative, ctx, declared + ['_extra'])} FROM _checked WHERE _reason IS NULL",
    )
    bad_rows = con.execute(
        "SELECT _line, _reason, _raw FROM _checked WHERE _reason IS NOT NULL ORDER BY _line"
    )
    con.execute("DROP VIEW _checked")
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
    good, bad = _split(con, "_staged", cfg, bronze_rule_sql(cfg), relative, ctx)
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


def _json_path(path: tuple[str, ...]) -> str:
    return "$" + "".join(f'."{key}"' for key in path)


def _transform_shape(columns: dict[str, ColumnSpec]) -> dict[str, Any]:
    """The json_transform structure: every declared leaf as text (typed later, with TRY_CAST)."""
    return {name: _transform_shape(col.fields) if col.fields is not None else "VARCHAR" for name, col in columns.items()}


def _object_paths(columns: dict[str, ColumnSpec], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], list[str]]]:
    """Every object level of the declared shape with the names declared there (root first)."""
    levels = [(prefix, list(columns))]
    for name, col in columns.items():
        if col.fields is not None:
            levels += _object_paths(col.fields, prefix + (name,))
    return levels


def _extra_sql(levels: list[tuple[tuple[str, ...], list[str]]]) -> str:
    """``_extra``: the undeclared fields as one JSON object, NULL when there are none.

    The key lists (``_x0``, ``_x1``, ...) are computed once per record; the JSON object is only
    assembled for the rare records that have undeclared fields.
    """
    def entries(level: int) -> str:
        path, _ = levels[level]
        here = lit(_json_path(path))
        own = (f"list_transform(coalesce(_x{level}, []), lambda k: struct_pack(k := k, "
               f"v := json_extract(raw, {here} || '.\"' || k || '\"')))")
        for child, (child_path, _) in enumerate(levels):
            if child_path[:-1] == path and len(child_path) == len(path) + 1:
                nested = entries(child)
                own = (f"list_concat({own}, CASE WHEN len({nested}) > 0 THEN "
                       f"[struct_pack(k := {lit(child_path[-1])}, v := to_json(map_from_entries({nested})))] ELSE [] END)")
        return own

    any_extra = " OR ".join(f"len(coalesce(_x{i}, [])) > 0" for i in range(len(levels)))
    return f"CASE WHEN {any_extra} THEN to_json(map_from_entries({entries(0)}))::VARCHAR END"


def _record_problem_sql(cfg: BronzeTableConfig) -> str:
    """Why a valid JSON line is not a usable record (not an object, required field, nested type)."""
    cases = ["WHEN _kind <> 'OBJECT' THEN 'not a JSON object (got ' || lower(_kind) || ')'"]
    for name, col in cfg.columns.items():
        if col.required:
            cases.append(f"WHEN coalesce(CAST(_v.{q(name)} AS VARCHAR), '') = '' THEN 'required field {name} is missing or empty'")
        if col.fields is not None:
            kind = f"json_type(raw, {lit(_json_path((name,)))})"
            cases.append(f"WHEN {kind} NOT IN ('OBJECT', 'NULL') THEN 'field {name} must be an object, got ' || lower({kind})")
    return f"CASE {' '.join(cases)} END"


def _read_jsonl_file(con: Connection, cfg: BronzeTableConfig, path: Path, relative: str,
                     ctx: IngestContext) -> tuple[pa.Table, pa.Table, int]:
    """JSON lines, in DuckDB: numbered lines → valid JSON → records (parsed once) → typed rows."""
    lines_kind = _load_numbered_lines(con, path, relative)
    invalid = con.execute("SELECT _line, raw FROM _lines WHERE NOT json_valid(raw) ORDER BY _line")
    rejected = [{"line": line, "raw": raw, "reason": _json_error(raw)} for line, raw in invalid]
    levels = _object_paths(cfg.columns)
    keys = ", ".join(
        f"CASE WHEN json_type(raw, {lit(_json_path(path))}) = 'OBJECT' THEN list_filter(json_keys(raw, {lit(_json_path(path))}), "
        f"lambda k: k NOT IN ({', '.join(lit(n) for n in names)})) END AS _x{i}"
        for i, (path, names) in enumerate(levels)
    )
    shape = lit(json.dumps(_transform_shape(cfg.columns)))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _parsed AS SELECT _line, raw, json_type(raw) AS _kind, json_transform(raw, {shape}) AS _v, "
        f"{keys} FROM _lines WHERE json_valid(raw)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _records AS SELECT *, {_record_problem_sql(cfg)} AS _problem FROM _parsed")
    rejected += [{"line": line, "raw": raw, "reason": problem} for line, raw, problem in
                 con.execute("SELECT _line, raw, _problem FROM _records WHERE _problem IS NOT NULL ORDER BY _line")]
    leaves = _leaf_paths(cfg.columns)
    leaf_names = ["__".join(p) for p, _ in leaves]
    texts = ", ".join(f"_v.{'.'.join(q(k) for k in p)} AS {q(n)}" for (p, _), n in zip(leaves, leaf_names, strict=True))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _text AS SELECT {texts}, {_extra_sql(levels)} AS _extra, _line, raw AS _raw "
        f"FROM _records WHERE _problem IS NULL"
    )
    con.execute(f"DROP {lines_kind} _lines")
    for temp in ("_parsed", "_records"):
        con.execute(f"DROP TABLE {temp}")
    good, bad = _typed_split(con, cfg, "_text", leaves, leaf_names, relative, ctx)
    con.execute("DROP TABLE _text")
    quarantine = pa.concat_tables([bad, _quarantine_table(sorted(rejected, key=lambda r: r["line"]), relative, ctx)])
    return good, quarantine, good.num_rows + quarantine.num_rows


def _load_numbered_lines(con: Connection, path: Path, relative: str) -> str:
    """``_lines(_line, raw)``: the non-blank lines, numbered as in the file (a VIEW or a TABLE).

    pyarrow's multithreaded reader splits lines several times faster than a string split in
    SQL; a file it cannot take as one column (a stray \\x01 byte) goes the slower exact way.
    """
    import pyarrow.csv as pacsv

    try:
        lines = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=["raw"], block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter="\x01", quote_char=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={"raw": pa.string()}, strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )
        numbered = lines.append_column("_line", pa.array(range(1, lines.num_rows + 1), pa.int64()))
        con.register("_raw_lines", numbered)  # read in place: no copy of the file into DuckDB
        con.execute("CREATE OR REPLACE TEMP VIEW _lines AS SELECT _line, raw FROM _raw_lines WHERE raw <> '' AND trim(raw) <> ''")
        return "VIEW"
    except (pa.ArrowInvalid, UnicodeDecodeError):
        pass
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _lines AS SELECT * FROM (WITH f AS (SELECT string_split(content, chr(10)) AS lines "
            f"FROM read_text({lit(str(path))})) SELECT CAST(generate_subscripts(lines, 1) AS BIGINT) AS _line, "
            f"rtrim(unnest(lines), chr(13)) AS raw FROM f) WHERE trim(raw) <> ''"
        )
    except SqlError as exc:
        raise IngestError(f"{relative}: cannot read the file ({str(exc).splitlines()[0]})", "re-deliver it as UTF-8 JSON lines") from None
    return "TABLE"


def _json_error(raw: str) -> str:
    """Python's parser names what is wrong; DuckDB only says the line is not JSON."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"malformed JSON: {exc.msg} (column {exc.colno})"
    return "malformed JSON"


def _typed_split(con: Connection, cfg: BronzeTableConfig, source: str,
                 leaves: list[tuple[tuple[str, ...], ColumnSpec]], leaf_names: list[str], relative: str,
                 ctx: IngestContext) -> tuple[pa.Table, pa.Table]:
    """TRY_CAST text leaves (relation ``source``) to their declared types; a failed cast is a bad record."""
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
        f"{reason_sql} AS _cast_problem FROM {source}"
    )
    required = bronze_rule_sql(cfg)
    result = _split(con, "_staged", cfg, f"coalesce(_cast_problem, {required})", relative, ctx)
    con.execute("DROP VIEW _staged")
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
    con.register("_pq_text", staged)
    good, bad = _typed_split(con, cfg, "_pq_text", leaves, names, relative, ctx)
    con.unregister("_pq_text")
    return good, bad, good.num_rows + bad.num_rows
