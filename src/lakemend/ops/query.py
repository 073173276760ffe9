"""``lakemend query``: DuckDB SQL over the catalog's tables by their layer-qualified names."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from lakemend.engines.sql import q
from lakemend.errors import SqlError, UsageError
from lakemend.lake import Lake


def referenced_tables(sql: str) -> list[tuple[str, str]]:
    """The ``layer.table`` names a query reads (parsed, not guessed from text)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"cannot parse the query: {first}", "write DuckDB SQL, e.g. SELECT COUNT(*) FROM bronze.orders") from None
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    names = []
    for table in tree.find_all(exp.Table):
        if table.db and table.name not in ctes:
            names.append((table.db, table.name))
    return sorted(set(names))


def day_bounds(sql: str) -> tuple[dt.date | None, dt.date | None]:
    """Days a query restricts itself to with ``day = '...'`` / ``day BETWEEN`` (used to prune the scan)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    where = tree.find(exp.Where)
    if where is None or where.find(exp.Or):
        return None, None
    for node in where.find_all(exp.EQ, exp.Between):
        column = node.this if isinstance(node.this, exp.Column) else None
        if column is None or column.name != "day":
            continue
        try:
            if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Literal):
                day = dt.date.fromisoformat(node.expression.name)
                return day, day
            if isinstance(node, exp.Between):
                return dt.date.fromisoformat(node.args["low"].name), dt.date.fromisoformat(node.args["high"].name)
        except ValueError:
            return None, None
    return None, None


def run_query(lake: Lake, sql: str) -> pa.Table:
    from pyiceberg.expressions import AlwaysTrue, And, GreaterThanOrEqual, LessThanOrEqual

    tables = referenced_tables(sql)
    if not tables:
        raise UsageError("the query reads no lake table", "name tables by layer, e.g. FROM bronze.orders")
    first, last = day_bounds(sql)
    row_filter = AlwaysTrue()
    if first and last:
        row_filter = And(GreaterThanOrEqual("day", first.isoformat()), LessThanOrEqual("day", last.isoformat()))
    with lake.engine.session() as con:
        for index, (layer, name) in enumerate(tables):
            table = lake.table(f"{layer}.{name}")
            if table is None:
                known = ", ".join(sorted(f"{ns[0]}.{t[1]}" for ns in lake.catalog.list_namespaces()
                                         for t in lake.catalog.list_tables(ns)))
                raise UsageError(f"no table {layer}.{name} in the catalog", f"tables: {known or 'none yet — run lakemend run'}")
            con.register(f"_t{index}", table.scan(row_filter=row_filter).to_arrow())
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(layer)}")
            con.execute(f"CREATE OR REPLACE VIEW {q(layer)}.{q(name)} AS SELECT * FROM _t{index}")
        try:
            return con.arrow(sql)
        except SqlError as exc:
            raise UsageError(f"query failed: {str(exc).splitlines()[0]}", "check the SQL (DuckDB dialect)") from None
