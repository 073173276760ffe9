"""Vacuum on a real example lake: dry-run and refusals delete nothing; superseded files go, current
data and young restore points stay fully readable."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import START, build
from lakemend.errors import LakemendError, UsageError
from lakemend.lake import Lake
from lakemend.ops.vacuum import (apply_vacuum, catalog_tables, parse_retention, plan_vacuum, referenced_files,
                                  store_path)
from lakemend.project.storage import local_path

DAY = str(START)
OLD = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def vcli(cli):  # noqa: ANN001, ANN201
    """The in-process CLI (named for the vacuum tests)."""
    return cli


@pytest.fixture
def rebuilt(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: ANN001
    """Two days built, then day one of orders and everything downstream rebuilt twice.

    bronze.orders keeps only 3 previous metadata files, so some metadata JSONs fall off its log; and
    it keeps them on disk (delete-after-commit off, as on a table another tool made or an owner
    configured so), so vacuum is what deletes them. Tables lakemend creates delete them at commit
    (tests/iceberg/test_metadata_history.py).
    """
    assert not build(example, START, START + dt.timedelta(days=1)).failed
    table = Lake.open(example).table("bronze.orders")
    with table.transaction() as tx:
        tx.set_properties({"write.metadata.previous-versions-max": "3", "write.metadata.delete-after-commit.enabled": "false"})
    monkeypatch.setenv("LAKEMEND_REASON", "vacuum test")
    for _ in range(2):
        result = cli("backfill", "bronze", "orders", DAY, "--downstream", cwd=example)
        assert result.code == 0, result.err
    return example


def tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def rows_of(data) -> list[str]:  # noqa: ANN001 - pyarrow Table
    return sorted(repr(row) for row in data.to_pylist())


def current_rows(root: Path) -> dict[str, list[str]]:
    lake = Lake.open(root)
    return {name: rows_of(lake.table(name).scan().to_arrow()) for name in catalog_tables(lake)}


def parquet_files(root: Path) -> set[str]:
    return {str(p) for p in (root / "lake").rglob("*.parquet")}


def current_data_files(root: Path) -> set[str]:
    lake = Lake.open(root)
    out: set[str] = set()
    for name in catalog_tables(lake):
        out |= {local_path(t.file.file_path) for t in lake.table(name).scan().plan_files()}
    return out


# ----- units -------------------------------------------------------------------------------------------


def test_retention_durations() -> None:
    assert parse_retention("7d") == dt.timedelta(days=7)
    assert parse_retention("12h") == dt.timedelta(hours=12)
    assert parse_retention("0d") == dt.timedelta(0)
    for bad in ("7", "-1d", "1w", ""):
        with pytest.raises(UsageError):
            parse_retention(bad)


def test_only_local_and_s3_warehouses() -> None:
    assert local_path("file:///tmp/a%20b/x.parquet") == "/tmp/a b/x.parquet"
    assert local_path("s3://bucket/x.parquet") is None
    assert store_path("s3a://bucket/x.parquet") == "s3://bucket/x.parquet"  # S3 lakes: tests/storage
    assert store_path("gs://bucket/x.parquet") is None
    remote = SimpleNamespace(project=SimpleNamespace(config=SimpleNamespace(warehouse="gs://bucket/lake")))
    with pytest.raises(LakemendError, match="local and s3:// warehouses only"):
        plan_vacuum(remote, dt.timedelta(days=7))  # type: ignore[arg-type]


# ----- the command --------------------------------------------------------------------------------------


def test_dry_run_refusals_and_no_answer_delete_nothing(rebuilt: Path, vcli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    before = tree_hash(rebuilt / "lake")
    superseded = parquet_files(rebuilt) - current_data_files(rebuilt)
    assert superseded

    dry = vcli("vacuum", "--older-than", "0d", "--dry-run", cwd=rebuilt)
    assert dry.code == 0, dry.err
    assert "Files to delete" in dry.out and "Dry run: nothing expired or deleted." in dry.out
    assert all(os.path.basename(p) in dry.out for p in superseded)

    plan = json.loads(vcli("vacuum", "--older-than", "0d", "--dry-run", "--output", "json", cwd=rebuilt).out)["plan"]
    planned = {f["path"] for t in plan["tables"] for f in t["files"]}
    assert superseded <= planned and not planned & current_data_files(rebuilt)
    assert plan["bytes"] == sum(os.path.getsize(p) for p in planned)
    kinds = {f["kind"] for t in plan["tables"] for f in t["files"]}
    assert {"data", "manifest", "manifest-list", "metadata"} <= kinds

    # the default retention (7d) finds nothing to delete in a lake built a minute ago
    fresh = json.loads(vcli("vacuum", "--dry-run", "--output", "json", cwd=rebuilt).out)["plan"]
    assert fresh["files"] == 0

    refused = vcli("vacuum", "--older-than", "0d", cwd=rebuilt)  # pytest's stdin is not a terminal
    assert refused.code == 2 and "--yes" in refused.err

    asked: list[dict] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("typer.confirm", lambda text, **kw: asked.append(kw) or False)
    declined = vcli("vacuum", "--older-than", "0d", cwd=rebuilt)
    assert declined.code == 1 and "Nothing deleted." in declined.out
    assert asked and asked[0]["default"] is False

    assert vcli("vacuum", "--table", "bronze.nope", "--dry-run", cwd=rebuilt).code == 2
    assert tree_hash(rebuilt / "lake") == before


def test_vacuum_deletes_superseded_files_and_every_table_still_reads(rebuilt: Path, vcli) -> None:  # noqa: ANN001
    before = current_rows(rebuilt)
    current = current_data_files(rebuilt)
    superseded = parquet_files(rebuilt) - current
    metadata_files = len(list((rebuilt / "lake" / "bronze" / "orders" / "metadata").glob("*.metadata.json")))

    result = vcli("vacuum", "--older-than", "0d", "--yes", cwd=rebuilt)
    assert result.code == 0, result.err
    assert "Vacuumed:" in result.out

    assert parquet_files(rebuilt) == current and not superseded & parquet_files(rebuilt)
    assert current_rows(rebuilt) == before
    lake = Lake.open(rebuilt)
    for name in catalog_tables(lake):
        table = lake.table(name)
        assert list(table.metadata.refs) == ["main"], name  # every restore point was older than 0d
        assert len(table.metadata.snapshots) == 1
        assert all(os.path.exists(p) for p in referenced_files(table, table.metadata.snapshots)), name
    assert len(list((rebuilt / "lake" / "bronze" / "orders" / "metadata").glob("*.metadata.json"))) < metadata_files
    verify = vcli("verify", cwd=rebuilt)
    assert verify.code == 0, verify.err


# ----- retention of restore points ----------------------------------------------------------------------


def test_young_restore_point_keeps_its_snapshot_and_files(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Cut-off between rebuilds r2 and r3: the restore points of r3 and r4 survive with everything they need.

    pre-r3 tags the snapshot r2 published (older than the cut-off) but was made by r3 (younger):
    it is r3's restore point and is kept; pre-r4 tags a snapshot younger than the cut-off.
    """
    monkeypatch.setenv("LAKEMEND_REASON", "vacuum test")
    name = "silver.orders_clean"
    assert not build(example, START, START).failed
    rebuild = ("rebuild", "silver", "--table", "orders_clean", "--date", DAY)
    tags, published = [], []

    def step() -> None:
        table = Lake.open(example).table(name)
        tags.append(next(t for t in table.metadata.refs if t.startswith("pre-") and t not in tags))
        published.append(table.current_snapshot().snapshot_id)

    step()  # r1: the first build
    assert cli(*rebuild, cwd=example).code == 0
    step()  # r2
    time.sleep(1.1)  # run ids have second resolution
    cutoff = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    for _ in range(2):  # r3, r4
        assert cli(*rebuild, cwd=example).code == 0
        step()
    r1_files = {local_path(t.file.file_path) for t in Lake.open(example).table(name).scan(snapshot_id=published[0]).plan_files()}

    folder = example / "lake" / "silver" / "orders_clean"
    (folder / f"day={DAY}" / "old-orphan.parquet").write_bytes(b"x")
    (folder / f"day={DAY}" / "young-orphan.parquet").write_bytes(b"y")
    (folder / "notes.txt").write_text("not Iceberg's")
    for path in folder.rglob("*"):  # make every file old: only references may protect them now
        os.utime(path, (OLD, OLD))
    young = cutoff.timestamp() + 60
    os.utime(folder / f"day={DAY}" / "young-orphan.parquet", (young, young))

    lake = Lake.open(example)
    table = lake.table(name)
    kept = {t: table.scan(snapshot_id=table.metadata.refs[t].snapshot_id).to_arrow() for t in tags[2:]}
    current = table.scan().to_arrow()

    plan = plan_vacuum(lake, dt.timedelta(0), [name], now=cutoff)
    (item,) = plan.tables
    actions = {r.name: r.action for r in item.refs}
    assert [actions[t] for t in tags] == ["drop", "drop", "keep", "keep"]
    assert published[0] in item.snapshots_expire and published[1] in item.snapshots_kept
    planned = {f.path for f in item.files}
    assert r1_files and r1_files <= planned
    assert str(folder / f"day={DAY}" / "old-orphan.parquet") in planned
    assert str(folder / f"day={DAY}" / "young-orphan.parquet") not in planned
    assert str(folder / "notes.txt") not in planned

    rewritten = folder / f"day={DAY}" / "old-orphan.parquet"
    rewritten.write_bytes(b"written again after the plan")  # a writer took the name: apply must not delete it
    result = apply_vacuum(lake, plan)
    assert result.files_deleted == len(planned) - 1 and result.tables[0].files_skipped == (str(rewritten),)
    assert rewritten.exists() and not any(f.exists() for f in map(Path, r1_files))

    table = Lake.open(example).table(name)
    assert set(table.metadata.refs) == {"main", *tags[2:]}
    for tag, data in kept.items():
        assert rows_of(table.scan(snapshot_id=table.metadata.refs[tag].snapshot_id).to_arrow()) == rows_of(data), tag
    assert rows_of(table.scan().to_arrow()) == rows_of(current)
    assert (folder / "notes.txt").exists() and (folder / f"day={DAY}" / "young-orphan.parquet").exists()


def test_vacuum_gives_records_made_before_revision_0003_their_file_paths(example: Path, vcli,  # noqa: ANN001
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A lake upgraded from a lakemend that did not keep a day's data file paths in its partition
    record: vacuum fills them from the manifests (plan, dry run writes nothing, apply), except for a
    record whose files key is not the current snapshot's."""
    from lakemend.iceberg.files import published_paths
    from lakemend.state.store import partitions

    assert not build(example, START, START + dt.timedelta(days=1)).failed
    monkeypatch.setenv("LAKEMEND_REASON", "vacuum test")
    lake = Lake.open(example)
    with lake.state.engine.begin() as conn:
        conn.execute(partitions.update().values(files=None))  # as revision 0003 found them
        conn.execute(partitions.update().where(partitions.c.table_name == "silver.orders_clean",
                                               partitions.c.day == START).values(files_key="not-the-current-one"))
    tables = {t.qualified for t in lake.project.ordered}
    state_db = example / ".lakemend" / "state.db"
    before = hashlib.sha256(state_db.read_bytes()).hexdigest()

    dry = json.loads(vcli("vacuum", "--dry-run", "--output", "json", cwd=example).out)
    planned = {t["table"]: t["paths_to_record"] for t in dry["plan"]["tables"] if t["paths_to_record"]}
    assert planned == {t: 2 for t in tables if t != "silver.orders_clean"} | {"silver.orders_clean": 1}
    assert "partition records to get their file paths" in vcli("vacuum", "--dry-run", cwd=example).out
    refused = vcli("vacuum", cwd=example)  # no terminal to confirm in: the refusal says what it would do
    assert refused.code == 2 and "record the data file paths of 11 partition record(s)" in " ".join(refused.err.split())
    assert hashlib.sha256(state_db.read_bytes()).hexdigest() == before  # the dry run wrote nothing

    done = vcli("vacuum", "--yes", "--output", "json", cwd=example)
    assert done.code == 0, done.err
    assert sum(t["paths_recorded"] for t in json.loads(done.out)["result"]["tables"]) == 11
    lake = Lake.open(example)
    for qualified in tables:
        published = {day: tuple(sorted(paths)) for day, paths in published_paths(lake.table(qualified)).items()}
        recorded = {day: state["files"] for day, state in lake.state.partition_states(qualified).items()}
        if qualified == "silver.orders_clean":
            assert recorded.pop(START) is None  # its key was not the current one: left as it was
            published.pop(START)
        assert recorded == published, qualified
    again = json.loads(vcli("vacuum", "--dry-run", "--output", "json", cwd=example).out)
    assert not any(t["paths_to_record"] for t in again["plan"]["tables"])
