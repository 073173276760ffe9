"""Contracts as SQL, run on a real DuckDB session over tiny literal tables.

Row rules give each row the first rule it breaks (or NULL); table checks measure the rows
about to be published; schema problems and the dedup ORDER BY are checked before any SQL runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakemend.build.contracts import (
    CheckResult,
    order_by_sql,
    row_rule_sql,
    schema_problems,
    table_checks,
)
from lakemend.engines import open_engine
from lakemend.project.config import Contract

DAY = dt.date(2025, 10, 20)
Checks = Callable[..., list[CheckResult]]


def contract(columns: dict[str, Any] | None = None, checks: dict[str, Any] | None = None) -> Contract:
    return Contract.model_validate({"columns": columns or {}, "checks": checks or {}})


@pytest.fixture
def con() -> Iterator[Any]:
    with open_engine("duckdb").session() as session:
        yield session


def reasons(con: Any, rows: str, names: str, rule: Contract | None) -> list[tuple[Any, str | None]]:
    """(first column, broken rule) per row of a literal VALUES list."""
    con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM (VALUES {rows}) v({names})")
    present = {r[0] for r in con.execute("DESCRIBE t")}
    first = names.split(",")[0].strip()
    return [tuple(r) for r in con.execute(f"SELECT {first}, {row_rule_sql(rule, present)} FROM t ORDER BY {first}")]


# ----- row rules -------------------------------------------------------------------------------

def test_not_null(con: Any) -> None:
    rule = contract({"email": {"nullable": False}})
    assert reasons(con, "(1, 'a@x.io'), (2, NULL), (3, '')", "id, email", rule) == [
        (1, None), (2, "email: must not be null"), (3, None)]


def test_nullable_is_the_default(con: Any) -> None:
    assert reasons(con, "(1, NULL)", "id, email", contract({"email": {}})) == [(1, None)]


def test_accepted_values(con: Any) -> None:
    rule = contract({"status": {"accepted_values": ["paid", "refunded"]}})
    assert reasons(con, "(1, 'paid'), (2, 'pending'), (3, 'refunded'), (4, NULL), (5, 'PAID')", "id, status", rule) == [
        (1, None),
        (2, "status: pending is not one of [paid, refunded]"),
        (3, None),
        (4, None),  # NULL is for nullable to judge
        (5, "status: PAID is not one of [paid, refunded]"),
    ]


def test_accepted_values_compare_as_text_and_quote_safely(con: Any) -> None:
    numbers = contract({"level": {"accepted_values": [1, 2]}})
    assert reasons(con, "(1, 1), (2, 2), (3, 3)", "id, level", numbers) == [
        (1, None), (2, None), (3, "level: 3 is not one of [1, 2]")]
    quoted = contract({"note": {"accepted_values": ["o'k"]}})
    assert reasons(con, "(1, 'o''k'), (2, 'ok')", "id, note", quoted) == [(1, None), (2, "note: ok is not one of [o'k]")]


def test_min_and_max(con: Any) -> None:
    rule = contract({"amount": {"min": 0, "max": 1000}})
    assert reasons(con, "(1, 0), (2, -5), (3, 1000), (4, 1001), (5, NULL)", "id, amount", rule) == [
        (1, None), (2, "amount: -5 is below min 0"), (3, None), (4, "amount: 1001 is above max 1000"), (5, None)]


def test_fractional_bounds(con: Any) -> None:
    rule = contract({"ratio": {"min": 0.5, "max": 1.5}})
    assert reasons(con, "(1, 0.25::DOUBLE), (2, 1.0::DOUBLE), (3, 1.75::DOUBLE)", "id, ratio", rule) == [
        (1, "ratio: 0.25 is below min 0.5"), (2, None), (3, "ratio: 1.75 is above max 1.5")]


def test_pattern_must_match_the_whole_value(con: Any) -> None:
    rule = contract({"email": {"pattern": "[^@ ]+@[^@ ]+"}})
    assert reasons(con, "(1, 'a@x.io'), (2, 'not-an-email'), (3, 'a@x.io and more@y'), (4, NULL)", "id, email", rule) == [
        (1, None),
        (2, "email: value does not match pattern [^@ ]+@[^@ ]+"),
        (3, "email: value does not match pattern [^@ ]+@[^@ ]+"),
        (4, None),
    ]


def test_a_quote_in_a_pattern_is_escaped(con: Any) -> None:
    rule = contract({"name": {"pattern": "[a-z']+"}})
    assert reasons(con, "(1, 'o''neil'), (2, 'O''Neil')", "id, name", rule) == [
        (1, None), (2, "name: value does not match pattern [a-z']+")]


def test_the_first_broken_rule_is_reported(con: Any) -> None:
    rule = contract({
        "email": {"nullable": False, "pattern": "[^@]+@[^@]+"},
        "amount": {"min": 0},
    })
    rows = "(1, NULL, -1), (2, 'bad', -1), (3, 'a@x.io', -1), (4, 'a@x.io', 1)"
    assert reasons(con, rows, "id, email, amount", rule) == [
        (1, "email: must not be null"),
        (2, "email: value does not match pattern [^@]+@[^@]+"),
        (3, "amount: -1 is below min 0"),
        (4, None),
    ]


def test_rules_of_absent_columns_are_left_to_schema_problems(con: Any) -> None:
    rule = contract({"missing": {"nullable": False}, "email": {"nullable": False}})
    assert reasons(con, "(1, 'a@x.io'), (2, NULL)", "id, email", rule) == [(1, None), (2, "email: must not be null")]
    assert row_rule_sql(rule, {"id"}) == "CAST(NULL AS VARCHAR)"


def test_no_contract_or_no_row_rules_keep_every_row(con: Any) -> None:
    assert row_rule_sql(None, {"id"}) == "CAST(NULL AS VARCHAR)"
    assert row_rule_sql(contract({"id": {"unique": True, "type": "integer"}}), {"id"}) == "CAST(NULL AS VARCHAR)"
    assert reasons(con, "(1), (1)", "id", None) == [(1, None), (1, None)]


# ----- table checks ----------------------------------------------------------------------------

@pytest.fixture
def orders(con: Any) -> str:
    con.execute("""
        CREATE TABLE orders AS SELECT * FROM (VALUES
            (1, 'a@x.io', TIMESTAMP '2025-10-20 08:00:00'),
            (2, NULL,     TIMESTAMP '2025-10-20 18:00:00'),
            (2, 'b@x.io', TIMESTAMP '2025-10-20 12:00:00'),
            (3, NULL,     NULL)
        ) v(order_id, email, ordered_at)""")
    return "orders"


@pytest.fixture(params=["statement", "rows in memory"])
def checks(request: pytest.FixtureRequest) -> Checks:
    """``table_checks`` measuring by a statement over the relation, or on the same rows as Arrow
    (what a model build passes): every table-check test runs both ways."""
    if request.param == "statement":
        return table_checks

    def from_rows(con: Any, relation: str, rule: Contract | None, day: dt.date, recent: list[int]) -> list[CheckResult]:
        rows = con.arrow(f"SELECT * FROM {relation}")
        return table_checks(_NoStatements(con), relation, rule, day, recent, rows.column_names, rows)

    return from_rows


class _NoStatements:
    """A session that fails any statement: the figures must come from the rows."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def execute(self, sql: str, *args: Any) -> Any:
        raise AssertionError(f"a statement ran: {sql}")


def test_unique(con: Any, orders: str, checks: Checks) -> None:
    rule = contract({"order_id": {"unique": True}, "email": {"unique": True}, "gone": {"unique": True}})
    assert checks(con, orders, rule, DAY, []) == [
        CheckResult("unique(order_id)", 1, "0 duplicates", False),
        CheckResult("unique(email)", 0, "0 duplicates", True),  # NULLs are not duplicates
    ]


@pytest.mark.parametrize(("bounds", "threshold", "passed"), [
    ({"min": 1, "max": 10}, "between 1 and 10", True),
    ({"min": 5}, "at least 5", False),
    ({"max": 3}, "at most 3", False),
    ({"min": 4, "max": 4}, "between 4 and 4", True),
])
def test_row_count(con: Any, orders: str, bounds: dict, threshold: str, passed: bool,
                   checks: Checks) -> None:
    assert checks(con, orders, contract(checks={"row_count": bounds}), DAY, []) == [
        CheckResult("row_count", 4, threshold, passed)]


def test_null_rate(con: Any, orders: str, checks: Checks) -> None:
    rule = contract(checks={"null_rate": {"email": 0.5, "ordered_at": 0.2, "order_id": 0.0, "gone": 1.0}})
    assert checks(con, orders, rule, DAY, []) == [
        CheckResult("null_rate(email)", 0.5, "<= 0.5", True),
        CheckResult("null_rate(ordered_at)", 0.25, "<= 0.2", False),
        CheckResult("null_rate(order_id)", 0.0, "<= 0.0", True),
        CheckResult("null_rate(gone)", None, "<= 1.0", False),
    ]


@pytest.mark.parametrize(("max_lag", "passed"), [(6, True), (5.5, False)])
def test_freshness_measures_the_newest_value_against_the_end_of_the_day(con: Any, orders: str, max_lag: float,
                                                                          passed: bool, checks: Checks) -> None:
    rule = contract(checks={"freshness": {"column": "ordered_at", "max_lag_hours": max_lag}})
    assert checks(con, orders, rule, DAY, []) == [
        CheckResult("freshness(ordered_at)", "6.0h", f"<= {float(max_lag)}h", passed)]


def test_freshness_without_values(con: Any, orders: str, checks: Checks) -> None:
    gone = contract(checks={"freshness": {"column": "gone", "max_lag_hours": 6}})
    assert checks(con, orders, gone, DAY, []) == [
        CheckResult("freshness(gone)", None, "within 6.0h of day end", False)]
    con.execute("CREATE TABLE empty AS SELECT * FROM orders WHERE false")
    fresh = contract(checks={"freshness": {"column": "ordered_at", "max_lag_hours": 6}})
    assert checks(con, "empty", fresh, DAY, []) == [
        CheckResult("freshness(ordered_at)", None, "within 6.0h of day end", True)]


def test_freshness_of_a_column_without_time_fails_the_check(con: Any, orders: str, checks: Checks) -> None:
    rule = contract(checks={"freshness": {"column": "email", "max_lag_hours": 6}})
    assert checks(con, orders, rule, DAY, []) == [
        CheckResult("freshness(email)", "'b@x.io' (not a date or timestamp)",
                    "a date or timestamp column within 6.0h of day end", False)]


@pytest.mark.parametrize(("spec", "recent", "expected"), [
    ({"min_ratio": 0.5}, [4, 4], CheckResult("row_count_vs_recent(2d)", 1.0, ">= 0.5", True)),
    ({"min_ratio": 0.5, "max_ratio": 1.5}, [2, 4, 6], CheckResult("row_count_vs_recent(3d)", 1.0, ">= 0.5 and <= 1.5", True)),
    ({"min_ratio": 0.5}, [10, 10], CheckResult("row_count_vs_recent(2d)", 0.4, ">= 0.5", False)),
    ({"min_ratio": 0.0, "max_ratio": 1.2}, [3], CheckResult("row_count_vs_recent(1d)", 1.333, ">= 0.0 and <= 1.2", False)),
    ({"min_ratio": 0.5}, [0, 0], CheckResult("row_count_vs_recent(2d)", None, ">= 0.5", True)),
])
def test_row_count_vs_recent(con: Any, orders: str, spec: dict, recent: list[int], expected: CheckResult,
                             checks: Checks) -> None:
    assert checks(con, orders, contract(checks={"row_count_vs_recent": spec}), DAY, recent) == [expected]


def test_row_count_vs_recent_needs_history(con: Any, orders: str, checks: Checks) -> None:
    assert checks(con, orders, contract(checks={"row_count_vs_recent": {"min_ratio": 0.5}}), DAY, []) == []


def test_no_contract_means_no_checks(con: Any, orders: str, checks: Checks) -> None:
    assert checks(con, orders, None, DAY, [1]) == []
    assert checks(con, orders, contract({"email": {"nullable": False}}), DAY, [1]) == []


_VALUES = {
    "INTEGER": st.integers(-3, 3),
    "VARCHAR": st.sampled_from(["a", "A", "a ", "", "é", "ß"]),
    "DATE": st.sampled_from([dt.date(2025, 10, 19), dt.date(2025, 10, 20)]),
    "TIMESTAMP": st.sampled_from([dt.datetime(2025, 10, 20, 8), dt.datetime(2025, 10, 20, 8, 0, 0, 1)]),
    "TIMESTAMPTZ": st.sampled_from([dt.datetime(2025, 10, 20, 8, tzinfo=dt.timezone.utc),
                                    dt.datetime(2025, 10, 20, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))]),
    "DECIMAL(10,2)": st.sampled_from(["1.00", "1.0", "2.50"]),
    "DOUBLE": st.sampled_from([0.0, -0.0, float("nan"), 1.5]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(_VALUES)), data=st.data())
def test_figures_from_rows_in_memory_equal_the_statements(con: Any, kind: str, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.one_of(st.none(), _VALUES[kind]), max_size=8))
    con.execute(f"CREATE OR REPLACE TABLE t (v {kind})")
    for value in values:
        con.execute("INSERT INTO t VALUES (?)", [value])
    rule = contract({"v": {"unique": True}}, {"null_rate": {"v": 1.0}, "row_count": {"min": 0},
                                               "freshness": {"column": "v", "max_lag_hours": 48}})
    rows = con.arrow("SELECT * FROM t")
    by_statement = table_checks(con, "t", rule, DAY, [])
    assert table_checks(con, "t", rule, DAY, [], rows.column_names, rows) == by_statement


def test_floating_point_figures_are_left_to_the_statement(con: Any) -> None:
    """0.0 and -0.0 are one value to SQL's DISTINCT; a hash of their bits would count two."""
    con.execute("CREATE TABLE f AS SELECT * FROM (VALUES (0.0::DOUBLE), (-0.0::DOUBLE)) v(x)")
    rows = con.arrow("SELECT * FROM f")
    rule = contract({"x": {"unique": True}})
    with pytest.raises(AssertionError, match="a statement ran"):
        table_checks(_NoStatements(con), "f", rule, DAY, [], ["x"], rows)
    assert table_checks(con, "f", rule, DAY, [], ["x"], rows) == [
        CheckResult("unique(x)", 1, "0 duplicates", False)]


def test_check_results_describe_themselves() -> None:
    assert CheckResult("row_count", 4, "at least 5", False).describe() == "row_count: observed 4, expected at least 5"


# ----- schema problems -------------------------------------------------------------------------

def test_schema_problems() -> None:
    rule = contract({
        "order_id": {"type": "integer"},     # any integer width matches
        "email": {"type": "string"},
        "ordered_at": {"type": "timestamp"},  # with or without a time zone
        "amount": {"type": "decimal(12,2)"},
        "status": {},                          # no type: only presence is checked
        "missing": {"type": "string"},
    })
    schema = pa.schema([
        ("order_id", pa.int64()), ("email", pa.large_string()), ("ordered_at", pa.timestamp("us", tz="UTC")),
        ("amount", pa.float64()), ("status", pa.bool_()),
    ])
    assert schema_problems(rule, schema) == [
        "column amount is double, the contract says decimal(12,2)",
        "column missing is missing from the output",
    ]
    assert schema_problems(None, schema) == []


# ----- dedup ORDER BY ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "sql"), [
    ("updated_at", '"updated_at"'),
    ("updated_at DESC", '"updated_at" DESC'),
    (" updated_at desc ,  order_id ", '"updated_at" desc, "order_id"'),
    ("updated_at DESC NULLS LAST, _id ASC", '"updated_at" DESC NULLS LAST, "_id" ASC'),
])
def test_order_by_quotes_column_names(text: str, sql: str) -> None:
    assert order_by_sql(text) == sql


@pytest.mark.parametrize("item", ["lower(email)", "updated_at; DROP TABLE t", "a b", "1col", "updated_at DESC NULLS", ""])
def test_order_by_refuses_anything_but_columns(item: str) -> None:
    with pytest.raises(ValueError) as caught:
        order_by_sql(f"order_id, {item}")
    assert str(caught.value) == f"dedup_order_by item {item.strip()!r}: use column names with optional ASC/DESC"


def test_order_by_runs_in_the_engine(con: Any, orders: str) -> None:
    got = con.execute(f"SELECT order_id FROM {orders} ORDER BY {order_by_sql('ordered_at DESC NULLS LAST, order_id')}")
    assert [r[0] for r in got] == [2, 2, 1, 3]
