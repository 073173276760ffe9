"""A table's metadata stays small as it ages (iceberg/maintenance), on real pyiceberg tables of a real
project: the metadata log is capped and its old files deleted, manifests are compacted, and no
restore point, rollback or vacuum loses anything it needs."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pytest

from lakemend.iceberg.history import changed_days
from lakemend.iceberg.maintenance import (
    COMPACT_AT,
    MAINTENANCE_PROPERTIES,
    METADATA_HISTORY,
    compact_manifests,
    data_manifests,
    missing_properties,
)
from lakemend.lake import Lake
from lakemend.ops.vacuum import apply_vacuum, plan_vacuum, referenced_files

NAME = "bronze.history_t"
SCHEMA = pa.schema([pa.field("day", pa.date32()), pa.field("id", pa.int64()), pa.field("v", pa.string())])
START = dt.date(2025, 1, 1)


def rows(day: dt.date, commit: int) -> pa.Table:
    return pa.table({"day": [day] * 3, "id": [commit * 10 + i for i in range(3)], "v": [f"c{commit}"] * 3}, schema=SCHEMA)


def publish(table, day: dt.date, commit: int) -> None:  # noqa: ANN001
    """lakemend's publish shape: tag main (a restore point), then one OVERWRITE replacing the day's files."""
    from pyiceberg.expressions import EqualTo
    from pyiceberg.io.pyarrow import _dataframe_to_data_files
    from pyiceberg.table.update.snapshot import ManageSnapshots

    table.refresh()
    files = list(_dataframe_to_data_files(table.metadata, rows(day, commit), table.io))
    with table.transaction() as tx:
        ManageSnapshots(tx).create_tag(table.current_snapshot().snapshot_id, f"pre-{commit:03d}").commit()
        with tx.update_snapshot(snapshot_properties={"lakemend.run-id": f"r{commit}", "lakemend.day": str(day)}).overwrite() as swap:
            for task in table.scan(row_filter=EqualTo("day", day.isoformat())).plan_files():
                swap.delete_data_file(task.file)
            for data_file in files:
                swap.append_data_file(data_file)


def content(table, snapshot_id: int | None = None) -> list[tuple]:  # noqa: ANN001
    return sorted(tuple(r.values()) for r in table.scan(snapshot_id=snapshot_id).to_arrow().to_pylist())


def metadata_files(table) -> set[str]:  # noqa: ANN001
    folder = Path(unquote(urlparse(table.metadata_location).path)).parent
    return {str(p) for p in folder.glob("*.metadata.json")}


def local(uri: str) -> str:
    return os.path.normpath(unquote(urlparse(uri).path))


@pytest.fixture
def aged(example: Path):  # noqa: ANN201 - (Lake, Table, {tag: rows at the tag})
    """A table lakemend created, after COMPACT_AT + 2 publishes (new days and rebuilds), each
    behind a restore point; the rows every restore point had are remembered."""
    lake = Lake.open(example)
    table = lake.ensure_table(NAME, SCHEMA)
    at_tag: dict[str, list[tuple]] = {}
    for commit in range(COMPACT_AT + 2):
        day = START + dt.timedelta(days=commit if commit % 3 else max(0, commit - 5))  # some days rebuilt
        before = content(table)
        publish(table, day, commit)
        at_tag[f"pre-{commit:03d}"] = before
    return lake, lake.table(NAME), at_tag


def test_the_metadata_log_is_capped_and_nothing_a_restore_point_needs_is_deleted(aged) -> None:  # noqa: ANN001
    lake, table, at_tag = aged
    assert {k: table.properties.get(k) for k in MAINTENANCE_PROPERTIES} == MAINTENANCE_PROPERTIES
    commits = len(table.metadata.snapshots)
    assert commits > METADATA_HISTORY + 10  # far more commits (and metadata files written) than the cap
    log = [e.metadata_file for e in table.metadata.metadata_log]
    assert len(log) == METADATA_HISTORY
    # exactly the log and the current file are left: the commit that drops a file from the log deletes it
    assert metadata_files(table) == {local(p) for p in [*log, table.metadata_location]}

    # every restore point still reads (the oldest ones are far older than the metadata log)
    for tag, expected in at_tag.items():
        assert content(table, table.metadata.refs[tag].snapshot_id) == expected, tag
    # and every file the snapshots need is there
    assert all(os.path.exists(p) for p in referenced_files(table, table.metadata.snapshots))

    # a whole-table rollback to the oldest restore point (what `rollback` does through the engine), then a new publish
    oldest = table.metadata.refs["pre-001"].snapshot_id
    table.manage_snapshots().rollback_to_snapshot(oldest).commit()
    table = lake.table(NAME)
    assert content(table) == at_tag["pre-001"]
    publish(table, START, 999)
    table = lake.table(NAME)
    assert {r[2] for r in content(table) if r[0] == START} == {"c999"}
    assert len(table.metadata.metadata_log) == METADATA_HISTORY
    assert metadata_files(table) == {local(p) for p in [*(e.metadata_file for e in table.metadata.metadata_log),
                                                         table.metadata_location]}


def test_compaction_keeps_main_and_every_restore_point(aged) -> None:  # noqa: ANN001
    lake, table, at_tag = aged
    before_rows, before_files = content(table), {t.file.file_path for t in table.scan().plan_files()}
    properties = dict(table.properties)
    manifests = data_manifests(table)
    assert manifests >= COMPACT_AT  # one or two manifests per publish: pyiceberg never merges on overwrite

    assert compact_manifests(table, "20250101T000000-abcdef") == (manifests, 1)
    table = lake.table(NAME)
    assert data_manifests(table) == 1
    assert content(table) == before_rows
    assert {t.file.file_path for t in table.scan().plan_files()} == before_files
    day = START + dt.timedelta(days=4)
    assert {t.file.file_path for t in table.scan(row_filter=f"day = '{day}'").plan_files()} == \
        {f for f in before_files if f"day={day}" in f}
    assert dict(table.properties) == properties  # merging was switched on for that one commit only
    summary = table.current_snapshot().summary
    assert summary["lakemend.action"] == "compact-manifests" and summary.get("added-data-files") in (None, "0")
    assert changed_days(table.current_snapshot()) == {}  # a lakemend commit that changed no day
    for tag, expected in at_tag.items():
        assert content(table, table.metadata.refs[tag].snapshot_id) == expected, tag
    assert compact_manifests(table, "20250101T000001-abcdef") == (1, 1)  # nothing to do: no commit
    assert len(table.metadata.snapshots) == len(lake.table(NAME).metadata.snapshots)


def test_vacuum_compacts_and_caps_older_tables(aged) -> None:  # noqa: ANN001
    lake, table, _ = aged
    # a table made by an older lakemend: no cap; another whose owner chose a longer history
    with table.transaction() as tx:
        tx.remove_properties(*MAINTENANCE_PROPERTIES)
    other = lake.ensure_table("bronze.history_u", SCHEMA)
    with other.transaction() as tx:
        tx.set_properties({"write.metadata.previous-versions-max": "50"})
    table = lake.table(NAME)
    assert missing_properties(table) == MAINTENANCE_PROPERTIES and missing_properties(lake.table("bronze.history_u")) == {}
    before = content(table)

    plan = plan_vacuum(lake, dt.timedelta(days=7), [NAME, "bronze.history_u"])
    item, untouched = plan.tables
    assert dict(item.properties) == MAINTENANCE_PROPERTIES and item.compact and item.manifests >= COMPACT_AT
    assert not item.files and not item.snapshots_expire  # all of it is younger than 7 days
    assert untouched.empty
    assert "compact the manifests of 1 table(s); cap the metadata history of 1 table(s)" in plan.describe()
    assert plan_vacuum(lake, dt.timedelta(days=7), [NAME]).tables[0].compact  # planning changed nothing

    (result,) = apply_vacuum(lake, plan).tables
    assert result.properties_set == tuple(sorted(MAINTENANCE_PROPERTIES)) and result.manifests == (item.manifests, 1)
    table = lake.table(NAME)
    assert missing_properties(table) == {} and data_manifests(table) == 1 and content(table) == before
    assert lake.table("bronze.history_u").properties["write.metadata.previous-versions-max"] == "50"
    assert plan_vacuum(lake, dt.timedelta(days=7), [NAME]).tables[0].empty

    # everything older than now goes: the manifests compaction replaced are deleted with their snapshots
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    final = plan_vacuum(lake, dt.timedelta(0), [NAME], now=later)
    assert any(f.kind == "manifest" for f in final.tables[0].files)
    apply_vacuum(lake, final)
    table = lake.table(NAME)
    assert content(table) == before and len(table.metadata.snapshots) == 1
    assert all(os.path.exists(p) for p in referenced_files(table, table.metadata.snapshots))


def test_a_table_of_an_older_lakemend_gets_the_cap_at_its_next_write(example: Path, cli) -> None:  # noqa: ANN001
    """A table created without the maintenance properties (an older lakemend): ``vacuum --dry-run``
    lists the upkeep it would do, and the next batch that writes the table sets them itself."""
    from conftest import START as DAY, build

    assert not build(example, DAY, DAY).failed
    table = Lake.open(example).table("bronze.orders")
    with table.transaction() as tx:
        tx.remove_properties(*MAINTENANCE_PROPERTIES)
    assert missing_properties(Lake.open(example).table("bronze.orders")) == MAINTENANCE_PROPERTIES

    plan = cli("-C", str(example), "vacuum", "--dry-run")
    assert plan.code == 0, plan.err
    assert "Table upkeep" in plan.out and "bronze.orders" in plan.out.split("Table upkeep", 1)[1]
    assert missing_properties(Lake.open(example).table("bronze.orders")) == MAINTENANCE_PROPERTIES  # dry run

    from lakemend.ops.runner import execute

    lake = Lake.open(example)
    report = execute(lake, command="run", days=[DAY + dt.timedelta(days=1)], tables=[lake.project.table("bronze.orders")],
                     reason="test")
    assert [r.status for r in report.results] == ["succeeded"]
    assert missing_properties(Lake.open(example).table("bronze.orders")) == {}
