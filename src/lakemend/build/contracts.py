"""Contracts as SQL: row rules split rows into good and quarantined; table checks gate the publish."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakemend.project.coltypes import arrow_matches
from lakemend.project.config import BronzeTableConfig, Contract
from lakemend.engines.base import Session as Connection
from lakemend.engines.sql import lit, q

if TYPE_CHECKING:  # the row rules as SQL (verify's passes) need no Arrow
    import pyarrow as pa


@dataclass(frozen=True)
class CheckResult:
    """One table-level check: what was measured against what was allowed."""

    name: str
    observed: float | int | str | None
    threshold: str
    passed: bool

    def describe(self) -> str:
        return f"{self.name}: observed {self.observed}, expected {self.threshold}"


def _bounds(low: object, high: object) -> str:
    """``between 1 and 10``, ``at least 1``, ``at most 10``: the allowed range in words."""
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _number(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def bronze_required_rules(cfg: BronzeTableConfig, present: set[str] | None = None) -> list[tuple[str, str]]:
    """Bronze's own row rule, one (field, SQL) per required field: the SQL gives the broken
    rule's message or NULL. Ingest guarantees it; damage to a published day breaks it."""
    return [(name, f"CASE WHEN {q(name)} IS NULL THEN 'required field {name} is empty' END")
            for name, col in cfg.columns.items() if col.required and (present is None or name in present)]


def bronze_rule_sql(cfg: BronzeTableConfig, present: set[str] | None = None) -> str:
    """The first required field a bronze row lacks, as a message, or NULL."""
    rules = [sql for _, sql in bronze_required_rules(cfg, present)]
    return f"coalesce({', '.join(rules)})" if len(rules) > 1 else (rules[0] if rules else "CAST(NULL AS VARCHAR)")


def row_rule_sql(contract: Contract | None, present: set[str]) -> str:
    """A SQL expression giving the first row-level rule a row breaks, or NULL when it keeps them all."""
    if contract is None:
        return "CAST(NULL AS VARCHAR)"
    cases: list[str] = []
    for name, col in contract.columns.items():
        if name not in present:
            continue  # reported by schema_problems as a table-level failure
        c = q(name)
        if not col.nullable:
            cases.append(f"WHEN {c} IS NULL THEN '{name}: must not be null'")
        if col.accepted_values is not None:
            values = ", ".join(lit(str(v)) for v in col.accepted_values)
            shown = ", ".join(str(v) for v in col.accepted_values).replace("'", "''")
            cases.append(
                f"WHEN {c} IS NOT NULL AND CAST({c} AS VARCHAR) NOT IN ({values}) "
                f"THEN '{name}: ' || CAST({c} AS VARCHAR) || ' is not one of [{shown}]'"
            )
        if col.min is not None:
            cases.append(f"WHEN {c} < {_number(col.min)} THEN '{name}: ' || CAST({c} AS VARCHAR) || ' is below min {_number(col.min)}'")
        if col.max is not None:
            cases.append(f"WHEN {c} > {_number(col.max)} THEN '{name}: ' || CAST({c} AS VARCHAR) || ' is above max {_number(col.max)}'")
        if col.pattern is not None:
            cases.append(
                f"WHEN {c} IS NOT NULL AND NOT regexp_full_match(CAST({c} AS VARCHAR), {lit(col.pattern)}) "
                f"THEN '{name}: value does not match pattern {col.pattern.replace(chr(39), chr(39) * 2)}'"
            )
    return f"CASE {' '.join(cases)} END" if cases else "CAST(NULL AS VARCHAR)"


def schema_problems(contract: Contract | None, schema: pa.Schema) -> list[str]:
    """Columns the contract names that the rows lack or carry with another type."""
    if contract is None:
        return []
    problems = []
    for name, col in contract.columns.items():
        if name not in schema.names:
            problems.append(f"column {name} is missing from the output")
        elif col.type and not arrow_matches(col.type, schema.field(name).type):
            problems.append(f"column {name} is {schema.field(name).type}, the contract says {col.type}")
    return problems


def written_problems(contract: Contract | None, rows: pa.Table) -> list[str]:
    """The contract on the rows actually written (after they were conformed to the table):
    every column it names present with its type, and no NULL where it says ``nullable: false``."""
    if contract is None:
        return []
    problems = schema_problems(contract, rows.schema)
    for name, col in contract.columns.items():
        if not col.nullable and name in rows.column_names:
            nulls = rows.column(name).null_count
            if nulls:
                problems.append(f"column {name} would be written with {nulls} NULL value(s) (nullable: false)")
    return problems


def table_checks(
    con: Connection,
    relation: str,
    contract: Contract | None,
    day: dt.date,
    recent_counts: list[int],
    columns: Iterable[str] | None = None,
    rows: pa.Table | None = None,
) -> list[CheckResult]:
    """Run the contract's table-level checks on the rows about to be published (``columns``: the
    relation's columns when the caller knows them, else they are looked up; ``rows``: the same
    rows as Arrow, when the caller holds them — the figures are then taken from them, not by a
    statement over ``relation``)."""
    if contract is None:
        return []
    results: list[CheckResult] = []
    present = set(columns) if columns is not None else {r[0] for r in con.execute(f"DESCRIBE {relation}")}
    checks = contract.checks
    unique = [name for name, col in contract.columns.items() if col.unique and name in present]
    nullable = [name for name in checks.null_rate if name in present]
    fresh = checks.freshness if checks.freshness and checks.freshness.column in present else None
    row = _arrow_figures(rows, unique, nullable, fresh.column if fresh else None) if rows is not None else None
    if row is None:  # every figure in one pass over the rows
        figures = [f"count({q(name)}) - count(DISTINCT {q(name)})" for name in unique]
        figures += [f"count(*) - count({q(name)})" for name in nullable]
        figures += [f"max({q(fresh.column)})"] if fresh else []
        row = con.execute(f"SELECT {', '.join(['count(*)', *figures])} FROM {relation}")[0]
    total, values = row[0], iter(row[1:])
    for name in unique:
        dupes = next(values)
        results.append(CheckResult(f"unique({name})", int(dupes), "0 duplicates", dupes == 0))
    if checks.row_count:
        low, high = checks.row_count.min, checks.row_count.max
        passed = (low is None or total >= low) and (high is None or total <= high)
        results.append(CheckResult("row_count", total, _bounds(low, high), passed))
    for name, limit in checks.null_rate.items():
        if name not in present:
            results.append(CheckResult(f"null_rate({name})", None, f"<= {limit}", False))
            continue
        nulls = next(values)
        rate = round(nulls / total, 4) if total else 0.0
        results.append(CheckResult(f"null_rate({name})", rate, f"<= {limit}", rate <= limit))
    if checks.freshness:
        column, max_lag = checks.freshness.column, checks.freshness.max_lag_hours
        newest = next(values) if fresh else None
        day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
        if newest is None:
            results.append(CheckResult(f"freshness({column})", None, f"within {max_lag}h of day end", total == 0))
        elif not isinstance(newest, dt.date):  # a number or text: no time to measure a lag from
            results.append(CheckResult(f"freshness({column})", f"{newest!r} (not a date or timestamp)",
                                       f"a date or timestamp column within {max_lag}h of day end", False))
        else:
            newest = newest.replace(tzinfo=None) if isinstance(newest, dt.datetime) else dt.datetime.combine(newest, dt.time())
            lag = round((day_end - newest).total_seconds() / 3600, 2)
            results.append(CheckResult(f"freshness({column})", f"{lag}h", f"<= {max_lag}h", lag <= max_lag))
    if checks.row_count_vs_recent and recent_counts:
        spec = checks.row_count_vs_recent
        mean = sum(recent_counts) / len(recent_counts)
        ratio = round(total / mean, 3) if mean else None
        high = f" and <= {spec.max_ratio}" if spec.max_ratio is not None else ""
        passed = ratio is None or (ratio >= spec.min_ratio and (spec.max_ratio is None or ratio <= spec.max_ratio))
        results.append(CheckResult(f"row_count_vs_recent({len(recent_counts)}d)", ratio, f">= {spec.min_ratio}{high}", passed))
    return results


def _arrow_figures(rows: pa.Table, unique: list[str], nullable: list[str], fresh: str | None) -> tuple[object, ...] | None:
    """:func:`table_checks`' figures (row count, duplicates per unique column, NULLs per
    ``null_rate`` column, newest ``fresh`` value) from rows in memory, as its SQL gives them; None
    where a column's type could compare otherwise than in SQL (floating point: NaN and -0.0;
    nested types; timestamps finer than microseconds), so the statement decides.

    Each figure costs a pass over one column, without the engine's per-statement cost (about
    2 ms on DuckDB, most of a small day's checks).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def plain(name: str) -> bool:
        kind = rows.schema.field(name).type
        if pa.types.is_timestamp(kind):
            return kind.unit != "ns"
        return (pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_date(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind))

    if not all(plain(name) for name in [*unique, *([fresh] if fresh else [])]):
        return None
    figures: list[object] = [rows.num_rows]
    for name in unique:
        column = rows.column(name)
        distinct = pc.count_distinct(column, mode="only_valid").as_py()
        figures.append(len(column) - column.null_count - distinct)
    figures += [rows.column(name).null_count for name in nullable]
    if fresh:
        figures.append(pc.max(rows.column(fresh)).as_py())
    return tuple(figures)


_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*( (ASC|DESC))?( NULLS (FIRST|LAST))?$", re.IGNORECASE)


def order_by_sql(text: str) -> str:
    """Validate a dedup ORDER BY list (columns with ASC/DESC) and quote its column names."""
    parts = []
    for item in text.split(","):
        item = item.strip()
        if not _SAFE.match(item):
            raise ValueError(f"dedup_order_by item {item!r}: use column names with optional ASC/DESC")
        name, *rest = item.split(" ")
        parts.append(" ".join([q(name), *rest]))
    return ", ".join(parts)
