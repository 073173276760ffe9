"""verify's one aggregate pass per day finds what the separate checks found: rule breaks, unmasked
values (also where the contract's pattern already covers the mask), PII at value boundaries."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import START, build
from lakemend.build.pii import BUILT_IN, any_pii_sql, detectors
from lakemend.engines.duckdb import DuckDBEngine
from lakemend.lake import Lake
from lakemend.ops import day_pass, verify

DAY = str(START)


def rewrite_gold(root: Path, change) -> int:  # noqa: ANN001
    import pyarrow.parquet as pq

    path = sorted((root / "lake" / "gold" / "customer_orders" / f"day={DAY}").glob("*.parquet"))[0]
    table = pq.read_table(path)
    pq.write_table(change(table), path)
    return table.num_rows


def set_column(table: pa.Table, name: str, values: list) -> pa.Table:  # noqa: ANN401
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(name), pa.array(values, table.schema.field(name).type))


@pytest.fixture(params=["one pass", "split in 3"])
def built(example: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example built for one day; verify reads it in one pass, or (as a big day on 3 cores)
    its columns split into three passes side by side: every finding is the same."""
    assert not build(example, START, START).failed
    if request.param == "split in 3":
        monkeypatch.setattr(day_pass, "SPLIT_ROWS", 0)
        monkeypatch.setattr(verify, "VERIFY_THREADS", 3)
    return example


def test_a_clean_day_passes_and_unmasked_hashes_are_found(built: Path, cli) -> None:  # noqa: ANN001
    assert cli("verify", "--table", "gold.customer_orders", "--date", DAY, cwd=built).code == 0
    # email is hash-masked and its contract pattern is the hash's shape: the pass checks it once, and
    # a day that breaks it gets both findings, counted exactly
    rows = rewrite_gold(built, lambda t: set_column(t, "email", [f"ada{i}@example.com" for i in range(t.num_rows)]))
    result = cli("verify", "--table", "gold.customer_orders", "--date", DAY, cwd=built)
    assert result.code == 1
    assert f"contract: {rows} row(s) break 'email: value does not match pattern" in result.err
    assert f"PII: {rows} value(s) of email are not masked (hash)" in result.err


def test_redacted_and_partial_masks_and_rule_breaks_in_one_pass(built: Path, cli) -> None:  # noqa: ANN001
    def change(t: pa.Table) -> pa.Table:
        n = t.num_rows
        t = set_column(t, "phone", ["+1 415 555 0100"] + ["[redacted]"] * (n - 1))
        t = set_column(t, "email_domain", ["ada@example.com", "bob@example.com"] + t.column("email_domain").to_pylist()[2:])
        return set_column(t, "amount", [None] * 3 + t.column("amount").to_pylist()[3:])

    rewrite_gold(built, change)
    result = cli("verify", "--table", "gold.customer_orders", "--date", DAY, "--output", "json", cwd=built)
    assert result.code == 1
    import json

    reasons = sorted(d["reason"] for d in json.loads(result.out))
    assert reasons == sorted([
        "contract: 3 row(s) break 'amount: must not be null'",
        "PII: 1 value(s) of phone are not masked (redact)",
        "PII: 2 value(s) of email_domain are not masked (partial)",
    ])


def test_pii_in_one_column_is_named_with_its_count(built: Path, cli) -> None:  # noqa: ANN001
    rewrite_gold(built, lambda t: set_column(t, "status", ["call 020 7946 0958"] * 2 + t.column("status").to_pylist()[2:]))
    result = cli("verify", "--table", "gold.customer_orders", "--date", DAY, cwd=built)
    assert result.code == 1
    assert result.err.strip().splitlines() == [f"Error: gold.customer_orders {DAY}: PII: 2 phone number(s) in unmasked column status"]


def test_a_corrupt_column_is_unreadable_even_where_no_check_reads_it(built: Path, cli) -> None:  # noqa: ANN001
    """The pass hashes every value: damage in a column no check looks at (gold's updated_at: no
    contract rule, not text) is still found — ``count(c)`` would be answered from the statistics."""
    path = sorted((built / "lake" / "gold" / "customer_orders" / f"day={DAY}").glob("*.parquet"))[0]
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    column = meta.row_group(0).column(names.index("updated_at"))
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    for i in range(start + 20, start + column.total_compressed_size - 4):
        data[i] ^= 0x5A  # garble the column's pages; the footer stays intact
    path.write_bytes(bytes(data))
    result = cli("verify", "--table", "gold.customer_orders", "--date", DAY, cwd=built)
    assert result.code == 1 and "unreadable" in result.err


# ----- the joined PII pass finds exactly the rows the per-value patterns would ------------------------------


TRICKY = ["", "ord-10373000005", "2372693422", "415-555-0100", "+1 415 555 0100", "(415) 555 0100", "ada@example.com",
          "x@y", "a@b.c", "1.2.3.4", "2025-10-20", "12:30:00", "020 7946 0958", "7946 0958", "415", "555-0100", "a\nb",
          "call 1-800-555-0199.", "@", "example.com", "+", "+1", "555 0100 99", "ada@", "@example.com", None, "x 415"]


def test_joined_values_match_exactly_the_rows_a_value_would() -> None:
    rng = random.Random(7)
    columns = ["a", "b", "c"]
    rows = [[rng.choice(TRICKY) for _ in columns] for _ in range(3000)]
    rows += [["415", "555 0100", "x"], ["ada", "@example.com", None], ["415-555", "0100", "1"], [None, None, None]]
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    built_in = re.compile("|".join(f"(?:{p})" for _, p in BUILT_IN))
    expected = sum(1 for r in rows if any(v is not None and built_in.search(v) for v in r))

    class Spec:  # a table without pii_patterns of its own
        model = None
        qualified = "gold.t"

    assert detectors(Spec()) == list(BUILT_IN)  # type: ignore[arg-type]
    with DuckDBEngine().session() as con:
        con.register("t", table)
        assert con.scalar(f"SELECT {any_pii_sql(Spec(), columns)} FROM t") == expected  # type: ignore[arg-type]
        per_value = con.execute("SELECT " + ", ".join(any_pii_sql(Spec(), [c]) for c in columns) + " FROM t")[0]  # type: ignore[arg-type]
    assert 0 < expected < len(rows) and list(per_value) == [
        sum(1 for r in rows if r[i] is not None and built_in.search(r[i])) for i in range(len(columns))]


def test_a_tables_own_pattern_anchored_on_a_value_still_matches(built: Path, cli) -> None:  # noqa: ANN001
    """A table's own ``pii_patterns`` run per value (not over the joined text), so ``^…$`` anchors hold."""
    import yaml

    path = built / "lakemend.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["gold"]["customer_orders"]["pii_patterns"] = ["^[A-Z]{2}[0-9]{2}$"]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert cli("verify", "--table", "gold.customer_orders", "--date", DAY, cwd=built).code == 0
    rewrite_gold(built, lambda t: set_column(t, "currency", ["ZZ99"] + t.column("currency").to_pylist()[1:]))
    result = cli("verify", "--table", "gold.customer_orders", "--date", DAY, cwd=built)
    assert result.code == 1
    assert "PII: 1 value(s) matching pii pattern '^[A-Z]{2}[0-9]{2}$' in unmasked column currency" in result.err


# ----- a big day's columns in passes side by side ---------------------------------------------------


def test_columns_are_grouped_by_their_work_each_group_in_column_order() -> None:
    weights = {"a": 1, "email": 17, "b": 5, "c": 5, "d": 5, "e": 1}
    groups = day_pass.column_groups(weights, 2)
    assert groups == [["email"], ["a", "b", "c", "d", "e"]]  # 17 and 17: the heaviest first, each onto the lighter
    assert sorted(c for g in groups for c in g) == sorted(weights)
    assert day_pass.column_groups(weights, 1) == [list(weights)]
    assert day_pass.column_groups({"a": 1, "b": 1}, 8) == [["a"], ["b"]]  # never an empty group


def test_gold_is_split_in_three_passes_that_each_hold_work(built: Path) -> None:
    """The split the findings above were made with: three passes, each with columns to hash and
    the regex-heavy checks spread over them (the hash-pattern e-mail in one, PII text in others)."""
    lake = Lake.open(built)
    spec = lake.project.table("gold.customer_orders")
    with lake.engine.session() as con:
        path = sorted((built / "lake" / "gold" / "customer_orders" / f"day={DAY}").glob("*.parquet"))[0]
        con.execute(f"CREATE TEMP VIEW _day AS SELECT * FROM {con.parquet_relation([str(path)])}")
        columns = [r[0] for r in con.execute("DESCRIBE _day")]
        from lakemend.build.pii import text_columns

        text = text_columns(con, "_day", skip=list(spec.model.mask))
    groups = day_pass.column_groups(day_pass._weights(spec, columns, text), 3)
    assert len(groups) == 3 and sorted(c for g in groups for c in g) == sorted(columns)
    passes = [day_pass._pass(spec, g, text, pii=True) for g in groups]
    assert ["email" in g for g in groups].count(True) == 1
    assert sum("pii" in p.checks for p in passes) >= 2
    # one pass per core it may use (``verify --max-parallel`` caps them), for a day big enough
    assert [day_pass._parts(lake, day_pass.SPLIT_ROWS, cores) for cores in (1, 2, 3)] == [1, 2, 3]
    if day_pass.SPLIT_ROWS:
        assert day_pass._parts(lake, day_pass.SPLIT_ROWS - 1, 3) == 1
