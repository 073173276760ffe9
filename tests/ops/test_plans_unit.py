"""Backfill planning: which downstream partitions a change reaches, and what a plan holds.

``downstream_days`` runs over a tiny project with nothing built: the days each dependant has
"published" are seeded as partition states in a real state DB, so every cascade is a literal set.
``plan_backfill`` runs on the built example (read-only: planning writes nothing).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import END, START
from support import landed_order_records

from lakemend.errors import PreconditionFailed
from lakemend.iceberg.files import partition_stats
from lakemend.lake import Lake
from lakemend.ops.plans import downstream_days, plan_backfill, plan_key
from lakemend.project.project import Input
from lakemend.project.sources import landing_files


def d(day: int) -> dt.date:
    return dt.date(2025, 10, day)


# ----- the partition mappings, as pure functions over literal days ---------------------------

@pytest.mark.parametrize(("mapping", "day", "window"), [
    ("same", d(22), (d(22), d(22))),
    ("window:1", d(22), (d(22), d(22))),
    ("window:3", d(22), (d(20), d(22))),
    ("window:7", d(3), (dt.date(2025, 9, 27), d(3))),
    ("upto", d(22), (None, d(22))),
])
def test_input_window(mapping: str, day: dt.date, window: tuple) -> None:
    assert Input("silver.x", mapping).window(day) == window


WEEK = [d(n) for n in range(20, 27)]  # 20 … 26


@pytest.mark.parametrize(("mapping", "changed", "affected"), [
    ("same", d(22), [d(22)]),
    ("same", d(27), []),
    ("window:3", d(22), [d(22), d(23), d(24)]),
    ("window:3", d(25), [d(25), d(26)]),  # 27 is no candidate: nothing is invented past the last day
    ("window:3", d(19), [d(20), d(21)]),
    ("upto", d(22), [d(22), d(23), d(24), d(25), d(26)]),
    ("upto", d(19), WEEK),
    ("upto", d(27), []),
])
def test_input_affected(mapping: str, changed: dt.date, affected: list[dt.date]) -> None:
    assert Input("silver.x", mapping).affected(changed, WEEK) == affected


# ----- downstream_days over a tiny project -----------------------------------------------------

PROJECT_YAML = """\
name: cascade
sources:
  app:
    bronze:
      events:
        path: "events/{date}/*.jsonl"
        format: jsonl
        columns: {id: string}
silver:
  events_clean:
    sql: models/events_clean.sql
    depends_on: [bronze.events]
gold:
  rolling_3d:
    sql: models/rolling_3d.sql
    depends_on: [{table: silver.events_clean, window: 3}]
  to_date:
    sql: models/to_date.sql
    depends_on: [{table: silver.events_clean, days: upto}]
  rolling_summary:
    sql: models/rolling_summary.sql
    depends_on: [gold.rolling_3d]
"""
BUILT = ("silver.events_clean", "gold.rolling_3d", "gold.to_date", "gold.rolling_summary")


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """The cascade project, every model table recorded as built for 2025-10-20 … 26."""
    (tmp_path / "lakemend.yaml").write_text(PROJECT_YAML, encoding="utf-8")
    (tmp_path / "models").mkdir()
    for name in ("events_clean", "rolling_3d", "to_date", "rolling_summary"):
        (tmp_path / "models" / f"{name}.sql").write_text("SELECT 1 AS x", encoding="utf-8")
    lake = Lake.open(tmp_path)
    for table in BUILT:
        for day in WEEK:
            lake.state.record_partition(table, day, input_key="seed", files_key="seed", snapshot_id=None,
                                        run_id="seed", rows=1)
    return lake


def pairs(found: dict[str, set[dt.date]]) -> set[tuple[str, dt.date]]:
    return {(table, day) for table, days in found.items() for day in days}


def test_same_maps_a_day_to_that_day(lake: Lake) -> None:
    assert pairs(downstream_days(lake, {"gold.rolling_3d": {d(22)}})) == {("gold.rolling_summary", d(22))}


def test_a_window_reaches_the_next_days_it_covers(lake: Lake) -> None:
    assert pairs(downstream_days(lake, {"silver.events_clean": {d(22)}})) == {
        ("gold.rolling_3d", d(22)), ("gold.rolling_3d", d(23)), ("gold.rolling_3d", d(24)),
        ("gold.rolling_summary", d(22)), ("gold.rolling_summary", d(23)), ("gold.rolling_summary", d(24)),
        ("gold.to_date", d(22)), ("gold.to_date", d(23)), ("gold.to_date", d(24)), ("gold.to_date", d(25)),
        ("gold.to_date", d(26)),
    }


def test_a_window_and_upto_stop_at_the_last_built_day(lake: Lake) -> None:
    assert pairs(downstream_days(lake, {"silver.events_clean": {d(26)}})) == {
        ("gold.rolling_3d", d(26)), ("gold.rolling_summary", d(26)), ("gold.to_date", d(26)),
    }


def test_upto_cascades_to_every_later_built_day(lake: Lake) -> None:
    found = downstream_days(lake, {"silver.events_clean": {d(20)}})
    assert found["gold.to_date"] == set(WEEK)
    assert found["gold.rolling_3d"] == {d(20), d(21), d(22)}


def test_a_bronze_day_cascades_transitively_through_every_layer(lake: Lake) -> None:
    assert pairs(downstream_days(lake, {"bronze.events": {d(24)}})) == {
        ("silver.events_clean", d(24)),
        ("gold.rolling_3d", d(24)), ("gold.rolling_3d", d(25)), ("gold.rolling_3d", d(26)),
        ("gold.rolling_summary", d(24)), ("gold.rolling_summary", d(25)), ("gold.rolling_summary", d(26)),
        ("gold.to_date", d(24)), ("gold.to_date", d(25)), ("gold.to_date", d(26)),
    }


def test_a_day_being_rebuilt_upstream_is_a_candidate_even_if_never_built(lake: Lake) -> None:
    assert pairs(downstream_days(lake, {"bronze.events": {d(27)}})) == {
        ("silver.events_clean", d(27)), ("gold.rolling_3d", d(27)), ("gold.rolling_summary", d(27)),
        ("gold.to_date", d(27)),
    }


def test_several_days_merge_their_windows(lake: Lake) -> None:
    found = downstream_days(lake, {"silver.events_clean": {d(20), d(25)}})
    assert found["gold.rolling_3d"] == {d(20), d(21), d(22), d(25), d(26)}
    assert found["gold.rolling_summary"] == {d(20), d(21), d(22), d(25), d(26)}
    assert found["gold.to_date"] == set(WEEK)


def test_targets_are_not_listed_again_as_downstream(lake: Lake) -> None:
    found = downstream_days(lake, {"silver.events_clean": {d(22)}, "gold.rolling_3d": {d(23)}})
    assert found["gold.rolling_3d"] == {d(22), d(24)}
    assert found["gold.rolling_summary"] == {d(22), d(23), d(24)}  # 23 via the gold.rolling_3d target itself


def test_no_dependants_and_no_targets_give_nothing(lake: Lake) -> None:
    assert pairs(downstream_days(lake, {"gold.to_date": {d(22)}})) == set()
    assert pairs(downstream_days(lake, {"gold.rolling_summary": {d(22)}})) == set()
    assert pairs(downstream_days(lake, {})) == set()


# ----- plan_backfill on the built example (read-only) ------------------------------------------

DAY = dt.date(2025, 10, 22)


def test_plan_of_one_bronze_day_without_downstream(built_example: Path) -> None:
    lake = Lake.open(built_example)
    plan = plan_backfill(lake, command="backfill", layer="bronze", targets={"bronze.orders": {DAY}},
                         downstream=False, args={"layer": "bronze"})
    key = plan_key("backfill", ["bronze.orders:2025-10-22"], [DAY], False)
    assert (plan.command, plan.layer, plan.tables, plan.days, plan.downstream) == (
        "backfill", "bronze", ("bronze.orders",), (DAY,), False)
    assert (plan.key, plan.args, plan.resume_of) == (key, {"layer": "bronze", "plan_key": key}, None)
    assert [(p.table, p.day, p.role, p.resumed) for p in plan.partitions] == [("bronze.orders", DAY, "target", False)]
    part = plan.partitions[0]
    landing = landing_files(lake.project, lake.project.tables["bronze.orders"], DAY)
    assert len(landing) == 2
    assert (part.reads.rows, part.reads.bytes) == (-1, sum(p.stat().st_size for p in landing))  # raw rows unknown
    published = partition_stats(lake.table("bronze.orders"))[DAY]
    assert (part.now.rows, part.now.bytes) == (landed_order_records(built_example, "2025-10-22"), published.bytes)
    assert plan.restore_points == (("bronze.orders", lake.table("bronze.orders").current_snapshot().snapshot_id),)
    assert plan.todo == list(plan.partitions)
    assert plan.days_by_table() == {"bronze.orders": (DAY,)}


def test_plan_of_one_bronze_day_with_downstream(built_example: Path) -> None:
    lake = Lake.open(built_example)
    plan = plan_backfill(lake, command="backfill", layer="bronze", targets={"bronze.orders": {DAY}},
                         downstream=True, args={})
    assert plan.key == plan_key("backfill", ["bronze.orders:2025-10-22"], [DAY], True)
    assert plan.key != plan_key("backfill", ["bronze.orders:2025-10-22"], [DAY], False)
    assert [(p.table, p.day, p.role) for p in plan.partitions] == [
        ("bronze.orders", DAY, "target"),
        ("silver.orders_clean", DAY, "downstream"),
        ("gold.customer_orders", DAY, "downstream"),
        ("gold.daily_revenue", DAY, "downstream"),
    ]
    stats = {t: partition_stats(lake.table(t)) for t in ("bronze.orders", "silver.orders_clean", "silver.customers_clean")}
    reads = {p.table: (p.reads.rows, p.reads.bytes) for p in plan.partitions}
    orders, clean = stats["bronze.orders"][DAY], stats["silver.orders_clean"][DAY]
    customers_upto = [stats["silver.customers_clean"][day] for day in (d(20), d(21), d(22))]
    assert reads["silver.orders_clean"] == (orders.rows, orders.bytes)
    assert reads["gold.daily_revenue"] == (clean.rows, clean.bytes)
    # customer_orders reads orders_clean of the day and customers_clean up to the day (upto)
    assert reads["gold.customer_orders"] == (clean.rows + sum(s.rows for s in customers_upto),
                                             clean.bytes + sum(s.bytes for s in customers_upto))
    assert reads["gold.customer_orders"][0] == 120 + 3 * 30
    assert [t for t, _ in plan.restore_points] == ["bronze.orders", "silver.orders_clean", "gold.customer_orders",
                                                  "gold.daily_revenue"]
    assert dict(plan.restore_points) == {t: lake.table(t).current_snapshot().snapshot_id for t in dict(plan.restore_points)}
    assert plan.days_by_table() == {t: (DAY,) for t in dict(plan.restore_points)}


def test_plan_of_a_contacts_day_cascades_through_upto_to_every_later_day(built_example: Path) -> None:
    lake = Lake.open(built_example)
    plan = plan_backfill(lake, command="backfill", layer="bronze", targets={"bronze.hubspot_contacts": {DAY}},
                         downstream=True, args={})
    assert [(p.table, p.day, p.role) for p in plan.partitions] == [
        ("bronze.hubspot_contacts", DAY, "target"),
        ("silver.customers_clean", DAY, "downstream"),
        *[("gold.customer_orders", d(n), "downstream") for n in range(22, END.day + 1)],
    ]


def test_plan_refuses_a_bronze_day_without_landing_data(built_example: Path) -> None:
    lake = Lake.open(built_example)
    missing = END + dt.timedelta(days=3)
    with pytest.raises(PreconditionFailed) as caught:
        plan_backfill(lake, command="backfill", layer="bronze", targets={"bronze.orders": {START, missing}},
                      downstream=False, args={})
    expected_at = lake.project.raw / "orders" / missing.isoformat() / "*.csv"
    assert caught.value.what == f"no landing data for bronze.orders on {missing}: expected files at {expected_at}"
    assert caught.value.fix == "check that the source delivered (runbook: verify source data is available), then rerun"
