"""Parity: the example built by ``spark`` equals the one built by ``duckdb``; scenarios 1 and 3 on Spark.

One Spark-built lake serves the module, in this order: parity of all tables (by key and every
value), then the runbook's scenario 1 (missing partition → gaps / repair) and scenario 3 (late
data → late / repair) on it. Building the example on Spark is most of the cost (one JVM for the
whole run: ``spark_session`` in conftest), so it is built once.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import END, START, build
from support import META

from spark_fixtures import TIMINGS, use_spark
from lakemend.examples.data import generate, parse_fault
from lakemend.lake import Lake

pytestmark = pytest.mark.spark
D = dt.date


@pytest.fixture(scope="module")
def spark_lake(spark_session: object, tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    """The example (same landing data and masking key as ``built_example``) built on Spark."""
    root = tmp_path_factory.mktemp("spark") / "company"
    shutil.copytree(_pristine_example, root, symlinks=True)
    use_spark(root)
    started = time.perf_counter()
    report = build(root, START, END)
    TIMINGS["example build 2025-10-20 … 2025-10-27 on spark"] = time.perf_counter() - started
    assert not report.failed, [(r.table, r.day, r.error) for r in report.failed]
    return root


def rows_by_key(lake: Lake, qualified: str) -> tuple[object, dict[tuple, list[dict]]]:
    """A table's rows grouped by (unique key…, day) — by (source file, day) in bronze and quarantine."""
    table = lake.table(qualified)
    data = table.scan().to_arrow()
    keep = [c for c in data.column_names if c not in META]
    layer = qualified.split(".")[0]
    if layer in ("silver", "gold"):
        key = list(lake.project.table(qualified).unique_key)
    else:
        key = [c for c in ("_source_file", "source_file") if c in keep]
    out: dict[tuple, list[dict]] = {}
    for row in data.select(keep).to_pylist():
        out.setdefault(tuple(row[c] for c in key) + (row["day"],), []).append(row)
    return table.schema(), {k: sorted(v, key=repr) for k, v in out.items()}


def table_names(lake: Lake) -> list[str]:
    return sorted(f"{ns}.{name}" for ns in ("bronze", "silver", "gold", "quarantine") for _, name in lake.catalog.list_tables(ns))


def assert_same_lake(duck_root: Path, spark_root: Path) -> int:
    duck, spark = Lake.open(duck_root), Lake.open(spark_root)
    assert table_names(duck) == table_names(spark)
    compared = 0
    for qualified in table_names(duck):
        duck_schema, duck_rows = rows_by_key(duck, qualified)
        spark_schema, spark_rows = rows_by_key(spark, qualified)
        for a, b in zip(duck_schema.fields, spark_schema.fields, strict=True):
            assert a.name == b.name, qualified
            if str(a.field_type).startswith("decimal") and str(b.field_type).startswith("decimal"):
                # a SUM of decimal(p,s) is decimal(38,s) in DuckDB, decimal(p+10,s) in Spark: same values, same scale
                assert a.field_type.scale == b.field_type.scale, (qualified, a.name)
            else:
                assert a.field_type == b.field_type, (qualified, a.name, a.field_type, b.field_type)
        assert duck_rows.keys() == spark_rows.keys(), qualified
        for key, row in duck_rows.items():
            assert spark_rows[key] == row, (qualified, key)
        compared += sum(len(rows) for rows in duck_rows.values())
    return compared


def test_the_example_built_on_spark_equals_the_duckdb_build(spark_lake: Path, built_example: Path) -> None:
    assert assert_same_lake(built_example, spark_lake) > 1000
    lake = Lake.open(spark_lake)
    for qualified in ("bronze.orders", "silver.orders_clean", "gold.customer_orders", "gold.daily_revenue"):
        table = lake.table(qualified)
        written = [s for s in table.snapshots() if s.summary.operation.value == "overwrite"]
        assert len(written) == 8  # one published snapshot per day …
        assert all("spark.app.id" in s.summary.additional_properties for s in written)  # … written by Spark
        refs = table.metadata.refs
        assert [n for n in refs if n.startswith("stage-")] == []  # stage branches gone after fast_forward
        assert any(n.startswith("pre-") for n in refs)  # the run's restore point, a tag


def test_scenario_missing_partition_on_spark(spark_lake: Path, built_example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "scenario 1: missing partition (spark)")
    shutil.rmtree(spark_lake / "lake" / "bronze" / "orders" / "day=2025-10-22")
    verify = cli("verify", cwd=spark_lake)
    assert verify.code == 1
    assert "bronze.orders 2025-10-22: data file missing" in verify.err
    gaps = json.loads(cli("gaps", "--output", "json", cwd=spark_lake).out)
    assert gaps == [{"table": "bronze.orders", "from": "2025-10-22", "to": "2025-10-22", "days": 1}]
    dry = cli("repair", "--missing", "--dry-run", cwd=spark_lake)  # built and diffed on Spark, nothing written
    assert dry.code == 0 and "bronze.orders 2025-10-22: 0 →" in dry.out
    assert json.loads(cli("gaps", "--output", "json", cwd=spark_lake).out) == gaps
    assert cli("repair", "--missing", cwd=spark_lake).code == 0
    assert cli("verify", cwd=spark_lake).code == 0
    assert json.loads(cli("gaps", "--output", "json", cwd=spark_lake).out) == []
    assert_same_lake(built_example, spark_lake)


def test_scenario_late_data_on_spark(spark_lake: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "scenario 3: late CRM export (spark)")
    generate(spark_lake / "landing", D(2025, 10, 21), D(2025, 10, 21), rows=120, faults=[parse_fault("late:2025-10-21:hubspot")])
    found = json.loads(cli("late", "--output", "json", cwd=spark_lake).out)
    assert [(d["table"], d["day"]) for d in found["late"]] == [("bronze.hubspot_contacts", "2025-10-21")]
    assert found["downstream"] == {
        "silver.customers_clean": ["2025-10-21"],
        "gold.customer_orders": [f"2025-10-{d}" for d in range(21, 28)],  # upto: every later day
    }
    started = time.perf_counter()
    assert cli("repair", "--late", cwd=spark_lake).code == 0
    TIMINGS["repair --late on spark (9 partitions)"] = time.perf_counter() - started
    assert json.loads(cli("late", "--output", "json", cwd=spark_lake).out)["late"] == []
    # the repaired Spark lake equals a DuckDB build from scratch of the same landing data
    scratch = tmp_path / "scratch"
    shutil.copytree(spark_lake, scratch, ignore=shutil.ignore_patterns("lake", "state.db*"))
    config = scratch / "lakemend.yaml"
    config.write_text(config.read_text().replace("engine: spark", "engine: duckdb", 1))
    started = time.perf_counter()
    assert not build(scratch, START, END).failed
    TIMINGS["example build 2025-10-20 … 2025-10-27 on duckdb"] = time.perf_counter() - started
    assert_same_lake(scratch, spark_lake)
