"""``lakemend query``: read-only SQL over the catalog's tables by their layer-qualified names.

The rules, in order:

1. **One read-only statement.** The SQL is parsed with sqlglot (DuckDB dialect) and must hold
   exactly one statement: ``SELECT``, ``WITH … SELECT``, a set operation of them, or ``EXPLAIN``
   of one. Anything else — ``;``-separated statements, COPY, ATTACH, CREATE, INSERT, INSTALL,
   LOAD, PRAGMA, SET, ``SELECT … INTO`` — is a :class:`UsageError` before the engine sees it.
2. **Isolated.** Each ``layer.table`` the statement names is scanned from the catalog and
   registered in a fresh engine session, which is then locked down
   (:meth:`lakemend.engines.base.Session.lock_down`): no file, URL, database or extension is
   reachable and no setting can be changed, so ``read_csv('/etc/passwd')`` fails too.
3. **Pruning only where provably correct.** A table's scan is narrowed to some days only when
   *every* place that reads it is a SELECT reading it directly (FROM or an inner/outer/cross
   JOIN) whose WHERE has, among its top-level AND-conjuncts, a comparison of that table's
   ``day`` column with date literals (``=``, ``BETWEEN``, ``<`` ``<=`` ``>`` ``>=``, ``IN``).
   ``day`` counts as that table's when it is qualified with the table's alias (or name), or
   unqualified in a SELECT reading that table alone. Such a predicate is null-rejecting and
   applied to the table's own rows, so dropping the other days before the query changes nothing;
   the query's WHERE still runs in full. Under NOT or OR, in a subquery on another table, in a
   sampled, ASOF, POSITIONAL, NATURAL, SEMI or ANTI join, the table is read whole.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

import pyarrow as pa

from lakemend.build.ingest import QUARANTINE_SCHEMA
from lakemend.engines.sql import q
from lakemend.errors import LakemendError, SqlError, UsageError
from lakemend.lake import Lake

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from sqlglot import exp

EXAMPLE = "SELECT COUNT(*) FROM bronze.orders WHERE day='2025-10-26'"
ALLOWED = "SELECT, WITH … SELECT or EXPLAIN SELECT"


@dataclass(frozen=True)
class DayPredicate:
    """One pruning conjunct on a table's ``day``: ``op`` is =, <, <=, >, >=, between or in."""

    op: str
    days: tuple[dt.date, ...]


# A table's pruning: None reads it whole; else the alternatives (OR) of conjunct sets (AND),
# one per place the statement reads the table.
Pruning = tuple[tuple[DayPredicate, ...], ...] | None


def parse_statement(sql: str) -> exp.Query:
    """The one read-only query the SQL holds (the query inside an EXPLAIN), or a UsageError."""
    import sqlglot
    from sqlglot import exp

    explained = _after_explain(sql)
    statements = _parse(sql if explained is None else explained)
    if not statements and explained is not None:
        raise UsageError("EXPLAIN must be followed by a query", f"e.g. lakemend query \"EXPLAIN {EXAMPLE}\"")
    if len(statements) != 1:
        raise UsageError(
            f"the query holds {len(statements)} statements; lakemend query runs exactly one",
            f"run one {ALLOWED} per call, without ';'-separated statements",
        )
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)) or tree.find(exp.Into):
        kind = _keyword(tree, sqlglot)
        raise UsageError(
            f"lakemend query is read-only and runs only {ALLOWED}, not {kind}",
            "change tables with run, backfill, repair or rollback; query them with SELECT",
        )
    return tree


def _after_explain(sql: str) -> str | None:
    """The statement after a leading ``EXPLAIN [ANALYZE]`` (sqlglot has no EXPLAIN node), else None."""
    import sqlglot

    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except sqlglot.errors.TokenError:
        return None  # reported by the parser
    if not tokens or tokens[0].text.upper() != "EXPLAIN":
        return None
    return re.sub(r"^\s*ANALY[SZ]E\b", "", sql[tokens[0].end + 1:], flags=re.IGNORECASE)


def _parse(sql: str) -> list[exp.Expression]:
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:  # ParseError, TokenError
        first = str(exc).splitlines()[0]
        raise UsageError(f"cannot parse the query: {first}", f"write one DuckDB {ALLOWED}, e.g. {EXAMPLE}") from None
    return [t for t in trees if t is not None and not isinstance(t, exp.Semicolon)]


def _keyword(tree: exp.Expression, sqlglot) -> str:
    from sqlglot import exp

    if isinstance(tree, exp.Command):
        return tree.name.upper()
    if isinstance(tree, exp.Select):
        return "SELECT … INTO"
    try:
        tokens = sqlglot.tokenize(tree.sql(dialect="duckdb"), read="duckdb")
        return tokens[0].text.upper() if tokens else tree.key.upper()
    except Exception:  # noqa: BLE001 - only for the message
        return tree.key.upper()


def _lake_tables(tree: exp.Expression) -> list[exp.Table]:
    from sqlglot import exp

    return [t for t in tree.find_all(exp.Table) if t.db and isinstance(t.this, exp.Identifier)]


def referenced_tables(sql: str | exp.Expression) -> list[tuple[str, str]]:
    """The ``layer.table`` names a query reads (parsed, not guessed from text)."""
    tree = parse_statement(sql) if isinstance(sql, str) else sql
    return sorted({_key(t) for t in _lake_tables(tree)})


def _key(table: exp.Table) -> tuple[str, str]:
    # SQL names are case-insensitive (lakemend's table names are lower case): one key per table,
    # so two spellings of a table never register two different scans under one view name.
    return table.db.lower(), table.name.lower()


def day_pruning(sql: str | exp.Expression) -> dict[tuple[str, str], Pruning]:
    """Per ``(layer, table)``: how its scan may be narrowed by day (None: read it whole)."""
    tree = parse_statement(sql) if isinstance(sql, str) else sql
    found: dict[tuple[str, str], list[tuple[DayPredicate, ...]]] = {}
    whole: set[tuple[str, str]] = set()
    for table in _lake_tables(tree):
        key = _key(table)
        conjuncts = _reference_predicates(table)
        if conjuncts:
            found.setdefault(key, []).append(conjuncts)
        else:
            whole.add(key)
    result: dict[tuple[str, str], Pruning] = {key: None for key in whole}
    for key, alternatives in found.items():
        if key not in whole:
            result[key] = tuple(dict.fromkeys(alternatives))
    return result


_SAFE_JOIN_KINDS = {"", "INNER", "OUTER", "CROSS"}
_SAFE_JOIN_SIDES = {"", "LEFT", "RIGHT", "FULL"}


def _reference_predicates(table: exp.Table) -> tuple[DayPredicate, ...]:
    """The day conjuncts that provably bound what this one reference to a table contributes."""
    from sqlglot import exp

    holder = table.parent
    select = holder.parent if isinstance(holder, (exp.From, exp.Join)) else None
    if not isinstance(select, exp.Select):
        return ()
    where = select.args.get("where")
    joins = select.args.get("joins") or []
    if where is None or table.args.get("sample") or select.args.get("sample"):
        return ()
    if table.args.get("joins") or table.args.get("pivots") or table.args.get("laterals") or select.args.get("laterals"):
        return ()
    for join in joins:
        if (join.args.get("method") or (join.args.get("kind") or "").upper() not in _SAFE_JOIN_KINDS
                or (join.args.get("side") or "").upper() not in _SAFE_JOIN_SIDES):
            return ()
    alias = table.alias_or_name.lower()
    if alias == "day":
        return ()
    alone = isinstance(holder, exp.From) and not joins

    def is_day(node: exp.Expression) -> bool:
        if not isinstance(node, exp.Column) or node.name.lower() != "day" or node.args.get("catalog"):
            return False
        if not node.table:
            return alone
        if node.table.lower() != alias:
            return False
        return not node.db or (not table.alias and node.db.lower() == table.db.lower())

    return tuple(p for p in (_day_predicate(c, is_day) for c in _conjuncts(where.this)) if p is not None)


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    from sqlglot import exp

    node = node.unnest()
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


_FLIP = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _day_predicate(node: exp.Expression, is_day) -> DayPredicate | None:
    from sqlglot import exp

    ops = {exp.EQ: "=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
    for kind, op in ops.items():
        if type(node) is kind:
            left, right = node.this.unnest(), node.expression.unnest()
            if is_day(left) and (day := _date_literal(right)):
                return DayPredicate(op, (day,))
            if is_day(right) and (day := _date_literal(left)):
                return DayPredicate(_FLIP[op], (day,))
            return None
    if type(node) is exp.Between and not node.args.get("symmetric") and is_day(node.this.unnest()):
        low, high = _date_literal(node.args["low"].unnest()), _date_literal(node.args["high"].unnest())
        return DayPredicate("between", (low, high)) if low and high else None
    if type(node) is exp.In and is_day(node.this.unnest()) and node.expressions:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field") or node.args.get("is_global"):
            return None
        days = [_date_literal(e.unnest()) for e in node.expressions]
        return DayPredicate("in", tuple(sorted(set(days)))) if all(days) else None
    return None


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_literal(node: exp.Expression) -> dt.date | None:
    """A day written as ``'YYYY-MM-DD'``, ``DATE 'YYYY-MM-DD'`` or ``'YYYY-MM-DD'::DATE``."""
    from sqlglot import exp

    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DATE):
        node = node.this
    if not isinstance(node, exp.Literal) or not node.is_string or not _ISO_DAY.fullmatch(node.name):
        return None
    try:
        return dt.date.fromisoformat(node.name)
    except ValueError:
        return None


def row_filter(pruning: Pruning) -> BooleanExpression:
    """The pyiceberg scan filter for one table's pruning (AlwaysTrue when read whole)."""
    from pyiceberg.expressions import (
        AlwaysTrue,
        And,
        EqualTo,
        GreaterThan,
        GreaterThanOrEqual,
        In,
        LessThan,
        LessThanOrEqual,
        Or,
    )

    if not pruning:
        return AlwaysTrue()

    def one(p: DayPredicate) -> BooleanExpression:
        days = [d.isoformat() for d in p.days]
        if p.op == "between":
            return And(GreaterThanOrEqual("day", days[0]), LessThanOrEqual("day", days[1]))
        if p.op == "in":
            return In("day", set(days))
        return {"=": EqualTo, "<": LessThan, "<=": LessThanOrEqual, ">": GreaterThan, ">=": GreaterThanOrEqual}[p.op]("day", days[0])

    def all_of(conjuncts: tuple[DayPredicate, ...]) -> BooleanExpression:
        return reduce(And, (one(p) for p in conjuncts))

    return reduce(Or, (all_of(c) for c in pruning))


def run_query(lake: Lake, sql: str, *, prune: bool = True) -> pa.Table:
    """Run one read-only query; ``prune=False`` scans every referenced table whole (the reference)."""
    tree = parse_statement(sql)
    tables = referenced_tables(tree)
    if not tables:
        raise UsageError("the query reads no lake table", f"name tables by layer, e.g. {EXAMPLE}")
    pruning = day_pruning(tree) if prune else {}
    with lake.local_engine.session() as con:
        for index, (layer, name) in enumerate(tables):
            table = lake.table(f"{layer}.{name}")
            if table is None and _empty_quarantine(lake, layer, name):
                # quarantine.<t> is created with its first record: until then it is empty, not unknown
                con.register(f"_t{index}", QUARANTINE_SCHEMA.empty_table())
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(layer)}")
                con.execute(f"CREATE OR REPLACE VIEW {q(layer)}.{q(name)} AS SELECT * FROM _t{index}")
                continue
            if table is None:
                known = ", ".join(sorted(f"{ns[0]}.{t[1]}" for ns in lake.catalog.list_namespaces()
                                         for t in lake.catalog.list_tables(ns)))
                raise UsageError(f"no table {layer}.{name} in the catalog", f"tables: {known or 'none yet — run lakemend run'}")
            narrowed = pruning.get((layer, name))
            if "day" not in table.schema().column_names:
                narrowed = None
            con.register(f"_t{index}", _read(table, f"{layer}.{name}", row_filter(narrowed)))
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(layer)}")
            con.execute(f"CREATE OR REPLACE VIEW {q(layer)}.{q(name)} AS SELECT * FROM _t{index}")
        con.lock_down()
        try:
            return con.arrow(sql)
        except SqlError as exc:
            first = str(exc).splitlines()[0]
            if "disabled by configuration" in first or "configuration has been locked" in first:
                raise UsageError(
                    f"query refused: {first}",
                    "lakemend query reads only the lake's tables by layer.table; files, URLs, databases, "
                    "extensions and settings are out of reach",
                ) from None
            raise UsageError(f"query failed: {first}", "check the SQL (DuckDB dialect)") from None


def _empty_quarantine(lake: Lake, layer: str, name: str) -> bool:
    """``quarantine.<t>`` of a project table that has quarantined nothing yet (so no table)."""
    return layer == "quarantine" and any(spec.name == name for spec in lake.project.tables.values())


def _read(table, qualified: str, narrowed: BooleanExpression) -> pa.Table:  # noqa: ANN001 - a pyiceberg Table
    """The table's rows; a data file that is missing or damaged is a clear error naming the fix."""
    try:
        return table.scan(row_filter=narrowed).to_arrow()
    except (FileNotFoundError, pa.ArrowInvalid, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LakemendError(
            f"cannot read {qualified}: a data file is missing or damaged ({first})",
            f"find the damaged days with: lakemend verify --table {qualified}; then restore them with "
            "lakemend repair --missing (or lakemend rollback / a rebuild of the day)",
        ) from None
