"""``lakemend query`` (issue 11, items 3 and 8): pruning only where provably correct, and a
read-only, isolated session — one SELECT / WITH … SELECT / EXPLAIN, DuckDB locked down.

Every test runs over the shared ``built_example`` (read-only: queries run with ``--project`` from
``tmp_path``, so anything a query managed to write would land there, never in the example).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

DAY = "2025-10-26"


def lake_of(root: Path):
    from lakemend.lake import Lake

    return Lake.open(root)


def rows(table: pa.Table) -> list[tuple]:
    """A result as sorted tuples (order is not part of a query without ORDER BY)."""
    return sorted((tuple(r.values()) for r in table.to_pylist()), key=repr)


def query(cli, root: Path, cwd: Path, sql: str, *extra: str):
    return cli("--project", str(root), "query", sql, *extra, cwd=cwd)


# ----- item 3: pruning -------------------------------------------------------------------------


def test_not_day_counts_every_other_day(built_example: Path) -> None:
    """The issue's repro: NOT (day = …) was pruned to that day and returned 0."""
    from lakemend.ops.query import run_query

    lake = lake_of(built_example)
    total = run_query(lake, "SELECT count(*) AS n FROM bronze.orders").column("n")[0].as_py()
    that_day = run_query(lake, f"SELECT count(*) AS n FROM bronze.orders WHERE day = '{DAY}'").column("n")[0].as_py()
    others = run_query(lake, f"SELECT count(*) AS n FROM bronze.orders WHERE NOT (day = '{DAY}')").column("n")[0].as_py()
    assert 0 < that_day < total
    assert others == total - that_day


EQUIVALENCE = {
    "not": f"SELECT count(*) FROM bronze.orders WHERE NOT (day = '{DAY}')",
    "not-in": "SELECT day, count(*) FROM bronze.orders WHERE day NOT IN ('2025-10-20', '2025-10-21') GROUP BY day",
    "or": f"SELECT day, count(*) FROM bronze.orders WHERE day = '{DAY}' OR amount > 100 GROUP BY day",
    "subquery-on-another-table": (
        "SELECT count(*) FROM bronze.orders WHERE trim(order_id) IN "
        f"(SELECT order_id FROM silver.orders_clean WHERE day = '{DAY}')"
    ),
    "correlated-subquery": (
        "SELECT count(*) FROM silver.orders_clean o WHERE EXISTS "
        f"(SELECT 1 FROM bronze.orders b WHERE trim(b.order_id) = o.order_id AND o.day = '{DAY}')"
    ),
    "join": (
        "SELECT b.day, count(*) FROM bronze.orders b JOIN silver.orders_clean s ON trim(b.order_id) = s.order_id "
        f"WHERE s.day = '{DAY}' GROUP BY b.day"
    ),
    "join-unqualified": (
        "SELECT count(*) FROM bronze.orders b JOIN silver.orders_clean s ON trim(b.order_id) = s.order_id "
        "AND b.day = s.day WHERE b.day >= '2025-10-25' AND s.day < '2025-10-27'"
    ),
    "left-join": (
        "SELECT count(*), count(s.order_id) FROM bronze.orders b LEFT JOIN silver.orders_clean s "
        f"ON trim(b.order_id) = s.order_id AND s.day = '{DAY}' WHERE b.day BETWEEN '2025-10-25' AND '{DAY}'"
    ),
    "cte": (
        "WITH recent AS (SELECT * FROM bronze.orders WHERE day BETWEEN '2025-10-22' AND '2025-10-24') "
        "SELECT day, count(*) FROM recent WHERE NOT day = '2025-10-23' GROUP BY day"
    ),
    "cte-and-direct": (
        f"WITH d AS (SELECT * FROM bronze.orders WHERE day = '{DAY}') "
        "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM bronze.orders)"
    ),
    "qualified-alias": f"SELECT count(*) FROM bronze.orders AS o WHERE o.day = DATE '{DAY}'",
    "wrong-alias": (
        "SELECT count(*) FROM bronze.orders o WHERE EXISTS "
        f"(SELECT 1 FROM silver.orders_clean s WHERE o.day = '{DAY}' AND s.order_id = trim(o.order_id))"
    ),
    "between": "SELECT day, sum(amount) FROM bronze.orders WHERE day BETWEEN '2025-10-21' AND '2025-10-23' GROUP BY day",
    "comparisons": "SELECT day, count(*) FROM bronze.orders WHERE '2025-10-21' < day AND day <= '2025-10-24' GROUP BY day",
    "in": "SELECT day, count(*) FROM bronze.orders WHERE day IN ('2025-10-20', '2025-10-27') GROUP BY day",
    "union": (
        f"SELECT 'a', count(*) FROM bronze.orders WHERE day = '{DAY}' "
        "UNION ALL SELECT 'b', count(*) FROM bronze.orders WHERE day < '2025-10-22'"
    ),
    "union-one-side-whole": (
        f"SELECT 'a', count(*) FROM bronze.orders WHERE day = '{DAY}' UNION ALL SELECT 'b', count(*) FROM bronze.orders"
    ),
    "alias-named-day-in-select": f"SELECT '2025-10-20' AS day, count(*) FROM bronze.orders WHERE day = '{DAY}'",
    "runbook": f"SELECT COUNT(*) FROM bronze.orders WHERE day='{DAY}'",
}


@pytest.mark.parametrize("sql", EQUIVALENCE.values(), ids=EQUIVALENCE.keys())
def test_pruned_query_equals_the_unpruned_scan(built_example: Path, sql: str) -> None:
    from lakemend.ops.query import run_query

    lake = lake_of(built_example)
    assert rows(run_query(lake, sql)) == rows(run_query(lake, sql, prune=False))


def _pruned(sql: str) -> dict[str, object]:
    """Per table: None (read whole), else the sorted set of days the scan is narrowed to."""
    from lakemend.ops.query import day_pruning

    days = [dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(60)]

    def admits(predicate, day: dt.date) -> bool:
        op, values = predicate.op, predicate.days
        if op == "between":
            return values[0] <= day <= values[1]
        if op == "in":
            return day in values
        return {"=": day == values[0], "<": day < values[0], "<=": day <= values[0], ">": day > values[0],
                ">=": day >= values[0]}[op]

    out: dict[str, object] = {}
    for (layer, name), pruning in day_pruning(sql).items():
        out[f"{layer}.{name}"] = None if pruning is None else [
            d.isoformat() for d in days if any(all(admits(p, d) for p in alt) for alt in pruning)
        ]
    return out


PRUNING = {
    "runbook": (f"SELECT COUNT(*) FROM bronze.orders WHERE day='{DAY}'", {"bronze.orders": [DAY]}),
    "not": (f"SELECT count(*) FROM bronze.orders WHERE NOT (day = '{DAY}')", {"bronze.orders": None}),
    "or": (f"SELECT 1 FROM bronze.orders WHERE day = '{DAY}' OR day = '2025-10-20'", {"bronze.orders": None}),
    "subquery-on-another-table": (
        f"SELECT 1 FROM bronze.orders WHERE order_id IN (SELECT order_id FROM silver.orders_clean WHERE day = '{DAY}')",
        {"bronze.orders": None, "silver.orders_clean": [DAY]},
    ),
    "join-unqualified": (
        f"SELECT 1 FROM bronze.orders b JOIN silver.orders_clean s ON b.order_id = s.order_id WHERE day = '{DAY}'",
        {"bronze.orders": None, "silver.orders_clean": None},
    ),
    "join-qualified": (
        f"SELECT 1 FROM bronze.orders b JOIN silver.orders_clean s ON b.order_id = s.order_id WHERE s.day = '{DAY}'",
        {"bronze.orders": None, "silver.orders_clean": [DAY]},
    ),
    "cte": (
        ("WITH x AS (SELECT * FROM bronze.orders WHERE day BETWEEN '2025-10-22' AND '2025-10-23') "
         "SELECT 1 FROM x WHERE day = '2025-10-22'"),
        {"bronze.orders": ["2025-10-22", "2025-10-23"]},
    ),
    "qualified-alias": (f"SELECT 1 FROM bronze.orders AS o WHERE o.day = DATE '{DAY}'", {"bronze.orders": [DAY]}),
    "other-alias": (
        f"SELECT 1 FROM bronze.orders o WHERE EXISTS (SELECT 1 FROM silver.orders_clean s WHERE o.day = '{DAY}')",
        {"bronze.orders": None, "silver.orders_clean": None},
    ),
    "in-and-range": (
        "SELECT 1 FROM bronze.orders WHERE day IN ('2025-10-20', '2025-10-22', '2025-10-24') AND day > '2025-10-20'",
        {"bronze.orders": ["2025-10-22", "2025-10-24"]},
    ),
    "two-reads-union": (
        f"SELECT 1 FROM bronze.orders WHERE day = '{DAY}' UNION ALL SELECT 1 FROM bronze.orders WHERE day = '2025-10-20'",
        {"bronze.orders": ["2025-10-20", DAY]},
    ),
    "two-reads-one-whole": (
        f"SELECT 1 FROM bronze.orders WHERE day = '{DAY}' UNION ALL SELECT 1 FROM bronze.orders",
        {"bronze.orders": None},
    ),
    "sample": (f"SELECT 1 FROM bronze.orders USING SAMPLE 10% WHERE day = '{DAY}'", {"bronze.orders": None}),
    "asof": (
        f"SELECT 1 FROM bronze.orders a ASOF JOIN silver.orders_clean b ON a.ordered_at >= b.ordered_at WHERE b.day = '{DAY}'",
        {"bronze.orders": None, "silver.orders_clean": None},
    ),
    "not-a-day": ("SELECT 1 FROM bronze.orders WHERE day = '20251026'", {"bronze.orders": None}),
    "explain": (f"EXPLAIN SELECT 1 FROM bronze.orders WHERE day = '{DAY}'", {"bronze.orders": [DAY]}),
}


@pytest.mark.parametrize(("sql", "expected"), PRUNING.values(), ids=PRUNING.keys())
def test_pruning_only_from_top_level_conjuncts_of_the_reading_select(sql: str, expected: dict) -> None:
    assert _pruned(sql) == expected


# ----- item 8: read-only and isolated ------------------------------------------------------------


def _one_error_line(result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def test_query_refuses_more_than_one_statement(cli, built_example: Path, tmp_path: Path) -> None:
    sql = "SELECT count(*) FROM bronze.orders; COPY (SELECT 42) TO 'out.csv'"
    result = query(cli, built_example, tmp_path, sql)
    assert result.code == 2, (result.out, result.err)
    assert "exactly one" in _one_error_line(result)
    assert not (tmp_path / "out.csv").exists()
    assert result.out == ""


REFUSED = {
    "copy": ("COPY (SELECT * FROM bronze.orders) TO 'out.csv'", "COPY"),
    "attach": ("ATTACH 'other.db' AS other", "ATTACH"),
    "create": ("CREATE TABLE bronze.copy AS SELECT * FROM bronze.orders", "CREATE"),
    "insert": ("INSERT INTO bronze.orders SELECT * FROM bronze.orders", "INSERT"),
    "install": ("INSTALL httpfs", "INSTALL"),
    "load": ("LOAD httpfs", "LOAD"),
    "pragma": ("PRAGMA database_list", "PRAGMA"),
    "set": ("SET enable_external_access = true", "SET"),
    "select-into": ("SELECT * INTO snapshot FROM bronze.orders", "INTO"),
    "explain-copy": ("EXPLAIN COPY (SELECT * FROM bronze.orders) TO 'out.csv'", "COPY"),
}


@pytest.mark.parametrize(("sql", "kind"), REFUSED.values(), ids=REFUSED.keys())
def test_query_runs_only_select_with_or_explain(cli, built_example: Path, tmp_path: Path, sql: str, kind: str) -> None:
    result = query(cli, built_example, tmp_path, sql)
    assert result.code == 2, (result.out, result.err)
    line = _one_error_line(result)
    assert "read-only" in line and kind in line and "SELECT" in line
    assert list(tmp_path.iterdir()) == []


def test_explain_and_with_are_allowed(cli, built_example: Path, tmp_path: Path) -> None:
    explained = query(cli, built_example, tmp_path, f"EXPLAIN SELECT count(*) FROM bronze.orders WHERE day = '{DAY}'")
    assert explained.code == 0, explained.err
    with_select = query(cli, built_example, tmp_path,
                        f"WITH d AS (SELECT * FROM bronze.orders WHERE day = '{DAY}') SELECT count(*) AS n FROM d",
                        "--output", "json")
    assert with_select.code == 0, with_select.err
    assert json.loads(with_select.out)[0]["n"] > 0


def _escapes(root: Path) -> dict[str, str]:
    key = root / ".lakemend" / "mask.key"
    data_file = next((root / "lake").rglob("*.parquet"))
    return {
        "read_text-mask-key": f"SELECT content FROM read_text('{key}'), (SELECT count(*) FROM bronze.orders)",
        "read_text-relative": "SELECT content FROM read_text('.lakemend/mask.key') CROSS JOIN bronze.orders LIMIT 1",
        "read_csv-passwd": "SELECT * FROM read_csv('/etc/passwd') CROSS JOIN (SELECT count(*) FROM bronze.orders)",
        "glob-root": "SELECT * FROM glob('/root/*') CROSS JOIN (SELECT count(*) FROM bronze.orders)",
        "read_parquet-lake-file": f"SELECT count(*) FROM read_parquet('{data_file}') CROSS JOIN (SELECT 1 FROM bronze.orders LIMIT 1)",
        "url": "SELECT * FROM 'https://example.com/x.csv' CROSS JOIN (SELECT count(*) FROM bronze.orders)",
    }


@pytest.mark.parametrize("case", ["read_text-mask-key", "read_text-relative", "read_csv-passwd", "glob-root",
                                  "read_parquet-lake-file", "url"])
def test_query_cannot_reach_files_urls_or_secrets(cli, built_example: Path, tmp_path: Path, case: str) -> None:
    sql = _escapes(built_example)[case]
    cwd = built_example if case == "read_text-relative" else tmp_path  # the repro runs in the project
    result = query(cli, built_example, cwd, sql)
    assert result.code == 2, (result.out, result.err)
    line = _one_error_line(result)
    assert "query refused" in line and "layer.table" in line
    secret = (built_example / ".lakemend" / "mask.key").read_text().strip()
    assert secret and secret not in result.out + result.err
    assert "root:" not in result.out


def test_locked_session_reads_registered_tables_and_nothing_else(built_example: Path, tmp_path: Path) -> None:
    """The engine boundary's lock_down: Arrow tables registered before it stay readable."""
    from lakemend.errors import SqlError

    lake = lake_of(built_example)
    with lake.engine.session() as session:
        session.register("t", pa.table({"day": [dt.date(2025, 10, 26)], "amount": [Decimal("1.50")]}))
        session.lock_down()
        assert session.scalar("SELECT sum(amount) FROM t") == Decimal("1.50")
        for statement in ("SET enable_external_access = true", "SET lock_configuration = false",
                          "RESET enable_external_access", "INSTALL httpfs", "LOAD httpfs",
                          "SELECT * FROM read_csv('/etc/passwd')", f"COPY t TO '{tmp_path / 'out.csv'}'",
                          f"ATTACH '{tmp_path / 'other.db'}' AS other"):
            with pytest.raises(SqlError):
                session.execute(statement)
    assert list(tmp_path.iterdir()) == []


README = [
    f"SELECT COUNT(*) FROM bronze.orders WHERE day='{DAY}'",
    f"SELECT email, email_domain, full_name, phone, amount FROM gold.customer_orders WHERE day='{DAY}' LIMIT 3",
]


@pytest.mark.parametrize("sql", README, ids=["row-count", "masked-gold"])
def test_readme_queries_run_on_the_locked_session(cli, built_example: Path, tmp_path: Path, sql: str) -> None:
    from lakemend.ops.query import run_query

    result = query(cli, built_example, tmp_path, sql, "--output", "json")
    assert result.code == 0, result.err
    got = json.loads(result.out)
    whole = run_query(lake_of(built_example), sql.removesuffix(" LIMIT 3"), prune=False).to_pylist()
    if sql.endswith("LIMIT 3"):
        assert len(got) == 3
        assert all(any(str(row["amount"]) == str(w["amount"]) and row["email"] == w["email"] for w in whole) for row in got)
    else:
        assert got == whole and got[0]["count_star()"] > 0


def test_query_reads_a_spark_projects_tables_with_duckdb(cli, example: Path) -> None:  # noqa: ANN001
    """``engine: spark`` builds with Spark; a read-only query still runs on DuckDB here (no JVM started)."""
    from conftest import START, build
    from spark_fixtures import use_spark

    assert not build(example, START, START).failed
    use_spark(example)
    result = cli("query", f"SELECT count(*) AS n FROM bronze.orders WHERE day = '{START}'", "-o", "json", cwd=example)
    assert result.code == 0, result.err
    assert json.loads(result.out)[0]["n"] > 0
