"""Table metadata read without pyiceberg (``iceberg.metadata_json``) is what pyiceberg reads.

``status``, ``gaps`` and ``late`` prove the state DB's records from it on a SQLite catalog, so
every field they use must agree with pyiceberg's own reading of the same real tables; anything
it cannot read must give None (pyiceberg then reads it), never a wrong answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from conftest import build

from lakemend.errors import PreconditionFailed
from lakemend.iceberg.history import records_hold
from lakemend.iceberg.files import EMPTY_FILES_KEY
from lakemend.iceberg.metadata_json import data_root, metadata_locations, read_view
from lakemend.lake import Lake
from lakemend.ops.reads import LakeReads


def test_every_table_reads_as_pyiceberg_reads_it(example: Path) -> None:
    assert not build(example, dt.date(2025, 10, 20), dt.date(2025, 10, 22)).failed
    lake = Lake.open(example)
    locations = metadata_locations(lake.project)
    assert locations is not None
    names = {".".join(ident) for ns in lake.catalog.list_namespaces() for ident in lake.catalog.list_tables(ns)}
    assert set(locations) == names and names >= {t.qualified for t in lake.project.ordered}
    for qualified in sorted(names):
        table = lake.table(qualified)
        assert locations[qualified] == table.metadata_location
        view = read_view(lake.project, locations[qualified])
        assert view is not None
        assert view.location() == table.location()
        assert view.properties == table.metadata.properties
        assert data_root(view.properties, view.location()) == data_root(table.metadata.properties, table.location())
        assert view.current_snapshot().snapshot_id == table.current_snapshot().snapshot_id
        assert set(view.snapshots) == {s.snapshot_id for s in table.snapshots()}
        for snapshot in table.snapshots():
            entry = view.snapshot_by_id(snapshot.snapshot_id)
            assert entry.parent_snapshot_id == snapshot.parent_snapshot_id
            assert entry.summary == {"operation": snapshot.summary.operation.value, **snapshot.summary.additional_properties}
        states = lake.state.partition_states(qualified)
        assert records_hold(view, states, EMPTY_FILES_KEY) == records_hold(table, states, EMPTY_FILES_KEY)


def test_gzip_metadata_is_read(example: Path) -> None:
    """Spark and Java write ``*.gz.metadata.json`` under ``write.metadata.compression-codec=gzip``."""
    import gzip

    assert not build(example, dt.date(2025, 10, 20), dt.date(2025, 10, 20)).failed
    lake = Lake.open(example)
    plain = metadata_locations(lake.project)["bronze.orders"]
    path = Path(plain.removeprefix("file://"))
    packed = path.with_name(path.name.replace(".metadata.json", ".gz.metadata.json"))
    packed.write_bytes(gzip.compress(path.read_bytes()))
    expected = dataclasses.replace(read_view(lake.project, plain), metadata_location=packed.as_uri())
    assert read_view(lake.project, packed.as_uri()) == expected


def test_what_it_cannot_read_is_left_to_pyiceberg(example: Path, tmp_path: Path) -> None:
    lake = Lake.open(example)
    assert metadata_locations(lake.project) is None  # no catalog file yet: nothing is created by looking
    assert not (example / "lake" / "catalog.db").exists()
    assert not build(example, dt.date(2025, 10, 20), dt.date(2025, 10, 20)).failed
    broken = tmp_path / "broken.metadata.json"
    broken.write_text("{not json", encoding="utf-8")
    assert read_view(lake.project, broken.as_uri()) is None
    assert read_view(lake.project, (tmp_path / "gone.metadata.json").as_uri()) is None
    reads = LakeReads(Lake.open(example))
    assert reads.table("bronze.orders") is not None and reads.table("quarantine.nothing_here") is None


def test_a_copied_project_is_refused_on_this_path_too(example: Path, tmp_path: Path) -> None:
    """The catalog records absolute paths: a copy's catalog points at the original's tables."""
    assert not build(example, dt.date(2025, 10, 20), dt.date(2025, 10, 20)).failed
    copy = tmp_path / "copy"
    shutil.copytree(example, copy, symlinks=True)
    reads = LakeReads(Lake.open(copy))
    with pytest.raises(PreconditionFailed, match="outside its own warehouse"):
        reads.view("bronze.orders")
