"""Write-audit-publish on a real pyiceberg SqlCatalog: one day replaced, restore point, audit failures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from lakemend.iceberg.files import day_files
from lakemend.errors import AuditFailed
from lakemend.iceberg.publish import publish_day, restore_tag

D1, D2 = dt.date(2025, 10, 20), dt.date(2025, 10, 21)
SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("day", pa.date32())])


@pytest.fixture
def table(tmp_path: Path):  # noqa: ANN201
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.transforms import IdentityTransform

    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/c.db", warehouse=tmp_path.as_uri())
    catalog.create_namespace("bronze")
    tbl = catalog.create_table("bronze.t", SCHEMA)
    with tbl.update_spec() as spec:
        spec.add_field("day", IdentityTransform(), "day")
    tbl.append(SCHEMA.empty_table())
    return tbl


def rows(day: dt.date, ids: list[int]) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "day": pa.array([day] * len(ids), pa.date32())})


def ids_of(tbl, day: dt.date) -> list[int]:  # noqa: ANN001
    return sorted(tbl.scan(row_filter=f"day = '{day}'").to_arrow().column("id").to_pylist())


def test_publish_replaces_one_day_and_tags_the_restore_point(table) -> None:  # noqa: ANN001
    publish_day(table, rows(D1, [1, 2]), D1, "r1")
    publish_day(table, rows(D2, [3]), D2, "r1")
    d2_files = {f.file_path for f in day_files(table, D2)}
    before = table.current_snapshot().snapshot_id
    result = publish_day(table, rows(D1, [10, 11, 12]), D1, "r2")
    assert ids_of(table, D1) == [10, 11, 12] and ids_of(table, D2) == [3]
    assert {f.file_path for f in day_files(table, D2)} == d2_files
    assert result.snapshot_before == before and result.rows == 3
    assert table.metadata.refs[restore_tag("r2")].snapshot_id == before
    assert not [name for name in table.metadata.refs if name.startswith("stage-")]
    # the restore point really holds the previous rows
    tagged = table.scan(snapshot_id=before, row_filter=f"day = '{D1}'").to_arrow()
    assert sorted(tagged.column("id").to_pylist()) == [1, 2]


def test_rows_of_another_day_are_refused_and_main_is_untouched(table) -> None:  # noqa: ANN001
    publish_day(table, rows(D1, [1]), D1, "r1")
    before = table.current_snapshot().snapshot_id
    with pytest.raises(AuditFailed, match="rows for"):
        publish_day(table, pa.concat_tables([rows(D1, [5]), rows(D2, [6])]), D1, "r2")
    table.refresh()
    assert table.current_snapshot().snapshot_id == before and ids_of(table, D1) == [1]


def test_empty_day_publishes_zero_rows(table) -> None:  # noqa: ANN001
    publish_day(table, rows(D1, [1, 2]), D1, "r1")
    publish_day(table, rows(D1, []), D1, "r2")
    assert ids_of(table, D1) == []


def _without_clock(metadata) -> dict:  # noqa: ANN001 - pyiceberg TableMetadata
    return metadata.model_dump(exclude={"last_updated_ms"})


def test_a_transaction_works_out_its_pending_metadata_once_per_change(table, tmp_path: Path) -> None:  # noqa: ANN001
    """``iceberg.transaction``: what pyiceberg's own transaction would answer, computed again only
    when an update is staged or the table's metadata is replaced (a refresh after another commit)."""
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Transaction
    from pyiceberg.table.update.snapshot import ManageSnapshots

    from lakemend.iceberg.transaction import transaction

    publish_day(table, rows(D1, [1, 2]), D1, "r1")
    tx = transaction(table)
    first = tx.table_metadata
    assert tx.table_metadata is first  # nothing changed: not worked out again
    tx.set_properties({"a": "1"})
    ManageSnapshots(tx).create_tag(table.current_snapshot().snapshot_id, "t1").commit()
    staged = tx.table_metadata
    assert staged is not first and staged.properties["a"] == "1" and "t1" in staged.refs
    plain = Transaction(table)
    plain._updates = tx._updates  # the same staged updates, worked out by pyiceberg itself
    assert _without_clock(staged) == _without_clock(plain.table_metadata)
    other = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/c.db", warehouse=tmp_path.as_uri()).load_table("bronze.t")
    publish_day(other, rows(D2, [3]), D2, "r2")  # another writer commits
    table.refresh()
    moved = tx.table_metadata
    assert moved is not staged and moved.current_snapshot_id == other.metadata.current_snapshot_id
    assert "t1" in moved.refs and moved.properties["a"] == "1"
    tx.commit_transaction()
    assert table.metadata.properties["a"] == "1" and "t1" in table.metadata.refs
    assert ids_of(table, D1) == [1, 2] and ids_of(table, D2) == [3]


def test_a_republished_day_leaves_no_manifest_without_live_files(table) -> None:  # noqa: ANN001
    """pyiceberg alone keeps the manifest recording each replaced file's deletion in every later
    snapshot: one more manifest to read per republish. lakemend's overwrite drops it, as Java's does."""
    from lakemend.iceberg.maintenance import data_manifests

    publish_day(table, rows(D2, [3]), D2, "r0")
    tags = {}
    for run in range(1, 6):
        tags[run] = table.current_snapshot().snapshot_id
        publish_day(table, rows(D1, [run, run + 100]), D1, f"r{run}")
    manifests = table.current_snapshot().manifests(table.io)
    # D2's files, D1's newest files, and this commit's record of D1's replaced files
    assert data_manifests(table) == 3
    assert sorted((m.added_files_count, m.existing_files_count, m.deleted_files_count) for m in manifests) == \
        [(0, 0, 1), (1, 0, 0), (1, 0, 0)]
    assert ids_of(table, D1) == [5, 105] and ids_of(table, D2) == [3]
    for run, snapshot_id in tags.items():  # every restore point still reads its own rows
        old = table.scan(snapshot_id=snapshot_id, row_filter=f"day = '{D1}'").to_arrow().column("id").to_pylist()
        assert sorted(old) == ([] if run == 1 else [run - 1, run + 99])
