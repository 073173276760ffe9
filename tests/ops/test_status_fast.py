"""``status`` / ``gaps`` / ``late`` / stale from the state DB give the manifest scan's answers.

Every scenario builds a real lake through lakemend, changes it the way operators and other
writers do, and compares each answer of the fast path (partition records proven to be the
current snapshot's by its history, one listing of the day folders) with the same answer read
from the manifests (``Lake.use_records = False``), and checks which path was taken.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import START, build

from lakemend.examples.data import generate, parse_fault
from lakemend.iceberg.files import files_by_day
from lakemend.iceberg.publish import publish_day
from lakemend.lake import Lake
from lakemend.ops.heatmap import build_heatmap
from lakemend.ops.partition_ops import apply_quarantine, apply_rollback, plan_quarantine, plan_rollback
from lakemend.ops.reads import LakeReads
from lakemend.ops.recovery import find_gaps, find_late, find_stale, present_days
from lakemend.project.storage import local_path

D = dt.date
LAST = D(2025, 10, 23)
ORDERS = "bronze.orders"
CONTACTS = "bronze.hubspot_contacts"


@pytest.fixture
def lake_root(example: Path) -> Path:
    """The example built for START … LAST by ``lakemend run`` (batch commits), only those days landed."""
    import shutil

    for folder in (example / "landing").glob("*/**/2025-10-2[4-7]"):
        shutil.rmtree(folder)
    assert not build(example, START, LAST).failed
    return example


def answers(root: Path, *, use_records: bool) -> dict[str, Any]:
    """Every answer status, gaps and late give, through one path."""
    lake = Lake.open(root)
    lake.use_records = use_records
    tables = lake.project.ordered
    late, rest = find_late(lake)
    return {
        "present": {t.qualified: present_days(lake, t.qualified) for t in tables},
        "published": {t.qualified: lake.published_days(t.qualified, from_state=True) for t in tables},
        "gaps": find_gaps(lake, tables),
        "late": (late, rest),
        "stale": find_stale(lake),
        "heatmap": build_heatmap(lake, tables, START - dt.timedelta(days=3), LAST + dt.timedelta(days=3)),
    }


def fast_tables(root: Path) -> set[str]:
    """The tables the state DB answers for (the others fall back to their manifests) — the same
    whether the proof reads the tables through pyiceberg or their metadata JSON without it (the
    path ``status``, ``gaps`` and ``late`` take on a SQLite catalog)."""
    lake = Lake.open(root)
    fast = {t.qualified for t in lake.project.ordered if lake.recorded_partitions(t.qualified) is not None}
    reads = LakeReads(Lake.open(root))
    assert all(reads.view(t.qualified) is not None for t in lake.project.ordered)
    assert {t.qualified for t in lake.project.ordered if reads.records(t.qualified) is not None} == fast
    return fast


def same_answers(root: Path) -> dict[str, Any]:
    fast, slow = answers(root, use_records=True), answers(root, use_records=False)
    for key in fast:
        assert fast[key] == slow[key], key
    return fast


def assert_records_hold_the_files(root: Path, qualified: str) -> None:
    """Each recorded day's file paths are the ones its manifests publish (what the listing is checked against)."""
    lake = Lake.open(root)
    records = lake.recorded_partitions(qualified)
    assert records is not None
    published = files_by_day(lake.table(qualified))
    assert {day: r["files"] for day, r in records.items() if r["files"]} == {
        day: tuple(sorted(f.file_path for f in files)) for day, files in published.items()}


def all_tables(root: Path) -> set[str]:
    return {t.qualified for t in Lake.open(root).project.ordered}


def test_lakemend_lake_answers_from_records_and_the_listing(lake_root: Path) -> None:
    assert fast_tables(lake_root) == all_tables(lake_root)
    found = same_answers(lake_root)
    assert found["gaps"] == [] and found["stale"] == {} and found["late"] == ([], {})
    assert found["present"][ORDERS] == {START + dt.timedelta(days=i) for i in range(4)}
    for table in all_tables(lake_root):
        assert_records_hold_the_files(lake_root, table)

    # a deleted data file and a deleted day folder: storage truth, still without reading manifests
    lake = Lake.open(lake_root)
    [data_file] = files_by_day(lake.table(ORDERS))[D(2025, 10, 21)]
    os.remove(local_path(data_file.file_path))
    import shutil

    shutil.rmtree(lake_root / "lake" / "silver" / "orders_clean" / "day=2025-10-22")
    assert fast_tables(lake_root) == all_tables(lake_root)
    found = same_answers(lake_root)
    assert {(g.table, g.start, g.end) for g in found["gaps"]} == {
        (ORDERS, D(2025, 10, 21), D(2025, 10, 21)), ("silver.orders_clean", D(2025, 10, 22), D(2025, 10, 22))}
    assert found["heatmap"].cells[ORDERS][D(2025, 10, 21)] == "missing"


def test_quarantine_rebuild_and_rollback_keep_the_fast_path(lake_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "test")
    lake = Lake.open(lake_root)
    plan = plan_quarantine(lake, lake.project.find_table("silver.orders_clean"), D(2025, 10, 22))
    apply_quarantine(lake, plan, "bad day")
    assert "silver.orders_clean" in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert found["heatmap"].cells["silver.orders_clean"][D(2025, 10, 22)] == "quarantined"
    assert D(2025, 10, 22) not in found["present"]["silver.orders_clean"]

    # late landing data: the day is late, then rebuilt (its old files stay in the folder until vacuum)
    generate(lake_root / "landing", D(2025, 10, 21), D(2025, 10, 21), rows=120,
             faults=[parse_fault("late:2025-10-21:hubspot")])
    found = same_answers(lake_root)
    assert [(item.table, item.day) for item in found["late"][0]] == [(CONTACTS, D(2025, 10, 21))]
    report = build(lake_root, D(2025, 10, 21), D(2025, 10, 21))
    assert not report.failed
    folder = lake_root / "lake" / "bronze" / "hubspot_contacts" / "day=2025-10-21"
    assert len([p for p in folder.iterdir() if not p.name.startswith(".")]) >= 2
    assert CONTACTS in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert D(2025, 10, 21) in found["present"][CONTACTS] and found["late"][0] == []
    assert_records_hold_the_files(lake_root, CONTACTS)  # the rebuilt day: its new files only

    # roll the rebuilt day back to its restore point: recorded with the rollback's snapshot
    lake = Lake.open(lake_root)
    rebuild = next(r["run_id"] for r in lake.state.list_runs() if r["command"] == "run")
    spec = lake.project.find_table(CONTACTS)
    rollback = plan_rollback(lake, spec, f"pre-{rebuild}", D(2025, 10, 21))
    assert rollback.days == (D(2025, 10, 21),)
    apply_rollback(lake, rollback, "undo the late export")
    assert CONTACTS in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert D(2025, 10, 21) in found["present"][CONTACTS]
    assert D(2025, 10, 21) in found["stale"]["silver.customers_clean"]  # marked by the rollback
    assert_records_hold_the_files(lake_root, CONTACTS)  # the rolled-back day: the restore point's files


def _outside_overwrite(lake: Lake, qualified: str, day: dt.date) -> None:
    """What another writer does: pyiceberg rewrites the day's rows into new files, directly."""
    from pyiceberg.expressions import EqualTo

    table = lake.catalog.load_table(qualified)
    rows = table.scan(row_filter=EqualTo("day", day.isoformat())).to_arrow()
    table.overwrite(rows, overwrite_filter=EqualTo("day", day.isoformat()))


def test_a_commit_outside_lakemend_falls_back_to_the_manifests(lake_root: Path) -> None:
    lake = Lake.open(lake_root)
    _outside_overwrite(lake, ORDERS, D(2025, 10, 22))
    assert ORDERS not in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert D(2025, 10, 22) in found["stale"][ORDERS]  # published files changed outside lakemend

    # lakemend commits a new day on top: its snapshot is current and recorded, the foreign one is still seen
    generate(lake_root / "landing", D(2025, 10, 24), D(2025, 10, 24), rows=120)
    assert not build(lake_root, D(2025, 10, 24), D(2025, 10, 24)).failed
    lake = Lake.open(lake_root)
    current = lake.table(ORDERS).current_snapshot().snapshot_id
    assert current in {r["snapshot_id"] for r in lake.state.partition_states(ORDERS).values()}
    assert ORDERS not in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert D(2025, 10, 22) in found["stale"][ORDERS] and D(2025, 10, 24) in found["present"][ORDERS]


def test_a_lake_that_loaded_the_table_earlier_sees_the_commit_made_since(lake_root: Path) -> None:
    """The proof reads the metadata JSON, not the Lake's pyiceberg table: when it fails, the
    manifests read must be the newest too, not the table as this long-lived Lake loaded it."""
    lake = Lake.open(lake_root)
    assert lake.table(ORDERS) is not None  # held by this Lake from now on, as loaded now
    _outside_overwrite(Lake.open(lake_root), ORDERS, D(2025, 10, 22))
    reads = LakeReads(lake)
    assert reads.records(ORDERS) is None  # a foreign commit: the records are not the current snapshot's
    fresh = Lake.open(lake_root).published_days(ORDERS)
    assert reads.published_days(ORDERS) == fresh
    assert fresh[D(2025, 10, 22)] != lake.state.partition_states(ORDERS)[D(2025, 10, 22)]["files_key"]


def test_a_commit_killed_before_it_was_recorded_falls_back(lake_root: Path) -> None:
    """A job killed between its commit and its record: the day's files are new, its record old."""
    from pyiceberg.expressions import EqualTo

    lake = Lake.open(lake_root)
    table = lake.table("silver.orders_clean")
    rows = table.scan(row_filter=EqualTo("day", "2025-10-21")).to_arrow()
    publish_day(table, rows, D(2025, 10, 21), "killed-run")
    assert "silver.orders_clean" not in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert D(2025, 10, 21) in found["stale"]["silver.orders_clean"]


def test_an_outside_append_of_a_new_day_is_published(lake_root: Path) -> None:
    """A day nobody recorded, added by another writer, is published (and not stale: never built)."""
    from pyiceberg.expressions import EqualTo

    lake = Lake.open(lake_root)
    table = lake.catalog.load_table(ORDERS)
    rows = table.scan(row_filter=EqualTo("day", "2025-10-23")).to_arrow()
    import pyarrow as pa
    import pyarrow.compute as pc

    moved = rows.set_column(rows.schema.get_field_index("day"), "day",
                            pc.cast(pa.array([D(2025, 10, 19)] * rows.num_rows), rows.schema.field("day").type))
    table.append(moved)
    assert ORDERS not in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert D(2025, 10, 19) in found["present"][ORDERS]


def test_after_vacuum_the_records_still_answer(lake_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Vacuum expires the snapshots that published the days: the history left starts after them."""
    from lakemend.ops.vacuum import apply_vacuum, plan_vacuum

    monkeypatch.setenv("LAKEMEND_REASON", "test")
    generate(lake_root / "landing", D(2025, 10, 24), D(2025, 10, 24), rows=120)
    assert not build(lake_root, D(2025, 10, 24), D(2025, 10, 24)).failed
    lake = Lake.open(lake_root)
    before = len(lake.table(ORDERS).snapshots())
    apply_vacuum(lake, plan_vacuum(lake, dt.timedelta(0)))
    lake = Lake.open(lake_root)
    assert len(lake.table(ORDERS).snapshots()) < before
    assert fast_tables(lake_root) == all_tables(lake_root)
    found = same_answers(lake_root)
    assert found["present"][ORDERS] == {START + dt.timedelta(days=i) for i in range(5)}


def test_a_batch_commit_recorded_for_only_some_of_its_days_falls_back(lake_root: Path) -> None:
    """One commit republished two days; only one was recorded with it (a kill between records)."""
    from pyiceberg.expressions import EqualTo

    from lakemend.iceberg.publish import conform, publish_days, stage_day

    lake = Lake.open(lake_root)
    table = lake.table(ORDERS)
    staged = []
    for day in (D(2025, 10, 21), D(2025, 10, 22)):
        rows = table.scan(row_filter=EqualTo("day", day.isoformat())).to_arrow()
        staged.append(stage_day(table, conform(table, rows, day), day))
    published = publish_days(table, staged, "killed-batch")
    old = lake.state.partition_states(ORDERS)[D(2025, 10, 21)]
    first = published[D(2025, 10, 21)]
    lake.state.record_partition(ORDERS, D(2025, 10, 21), input_key=old["input_key"], files_key=first.files_key,
                                snapshot_id=first.snapshot_after, run_id="killed-batch", rows=first.rows)
    assert table.current_snapshot().snapshot_id == first.snapshot_after  # current, and recorded for one day
    assert ORDERS not in fast_tables(lake_root)
    found = same_answers(lake_root)
    assert D(2025, 10, 22) in found["stale"][ORDERS] and D(2025, 10, 21) not in found["stale"].get(ORDERS, set())


@pytest.mark.parametrize(("files", "expected"), [
    (("/t/data/day=2025-10-21/a.parquet", "/t/data/day=2025-10-21/b.parquet"), ["a.parquet", "b.parquet"]),
    (None, None),  # recorded before the paths were kept: the files key decides
    ((), None),
    (("/elsewhere/a.parquet",), None),  # not in the day's folder: the manifests decide
    (("/t/data/day=2025-10-21/sub/a.parquet",), None),  # below it, not listed there
])
def test_recorded_paths_settle_a_day_only_when_they_lie_in_its_folder(files: tuple[str, ...] | None,
                                                                       expected: list[str] | None) -> None:
    from lakemend.ops.recovery import _names_in_folder

    assert _names_in_folder("/t/data/day=2025-10-21/", files) == expected


def test_recorded_files_are_looked_at_as_the_listing_sees_them(tmp_path: Path) -> None:
    """One lstat per recorded file answers what the listing of the day folders answered: regular
    files (not links) in a real day folder (not a link)."""
    from lakemend.ops.reads import LocalDayFiles, day_folder_listing

    root = tmp_path / "data"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.parquet").write_bytes(b"x")
    days = {n: D(2025, 10, n) for n in range(1, 6)}
    for n in (1, 2, 3):
        (root / f"day={days[n]}").mkdir(parents=True)
        (root / f"day={days[n]}" / "a.parquet").write_bytes(b"x")
    (root / f"day={days[2]}" / "b.parquet").symlink_to(elsewhere / "a.parquet")  # a file that is a link
    (root / f"day={days[4]}").symlink_to(elsewhere, target_is_directory=True)  # a folder that is a link
    asked = {days[1]: ["a.parquet"], days[2]: ["a.parquet", "b.parquet"], days[3]: ["a.parquet", "gone.parquet"],
             days[4]: ["a.parquet"], days[5]: ["a.parquet"]}
    listing = day_folder_listing(None, str(root))  # a local root: the project is not consulted
    by_listing = {day for day, names in asked.items() if set(names) <= set(listing.get(day, []))}
    assert by_listing == {days[1]}
    for whole in (True, False):
        local = LocalDayFiles(str(root), whole=whole)
        assert {day for day, names in asked.items() if local.hold(day, names)} == by_listing
        gone = LocalDayFiles(str(tmp_path / "no-such-root"), whole=whole)  # the whole data folder deleted
        assert not any(gone.hold(day, names) for day, names in asked.items())
