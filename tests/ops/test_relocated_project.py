"""A copied project must not write into, or vacuum, the original's lake.

The catalog records absolute ``file://`` paths: after ``cp -a demo-lake copy`` the copy's catalog
still points at ``demo-lake/lake``. lakemend refuses such a table with one clear line, and vacuum
never deletes a file outside the project's own warehouse.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from lakemend.errors import PreconditionFailed
from lakemend.lake import Lake


def snapshot(root: Path) -> dict[str, tuple[str, float]]:
    """Every file under root: its content hash and mtime (byte-identical means both unchanged)."""
    gc.collect()  # a state DB left open by an earlier Lake checkpoints its WAL when collected
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(root))] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime)
    return found


@pytest.fixture
def copied(built_example: Path, tmp_path: Path) -> Path:
    """``cp -a`` of a built project."""
    target = tmp_path / "copy"
    shutil.copytree(built_example, target, symlinks=True)
    return target


def test_a_copied_project_refuses_to_backfill_or_vacuum_and_leaves_the_original_alone(
        built_example: Path, copied: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "experiment in a copy")
    original = snapshot(built_example)
    copy_before = snapshot(copied / "lake")
    for args in (["backfill", "bronze", "orders", "2025-10-21", "--downstream"],
                 ["rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-21"],
                 ["run", "--date", "2025-10-21"],
                 ["repair", "--missing", "--late", "--stale"],
                 ["vacuum", "--older-than", "0d", "--yes"]):
        result = cli(*args, cwd=copied)
        assert result.code == 1, (args, result.out, result.err)
        message = result.err.strip()
        assert len(message.splitlines()) == 1, message
        assert f"this project's catalog points at {built_example.resolve() / 'lake'}" in message
        assert "the project was copied" in message and "lakemend run" in message
    assert snapshot(built_example) == original
    assert snapshot(copied / "lake") == copy_before

    # the remedy the error names: the copy drops the lake it shares and builds its own
    shutil.rmtree(copied / "lake")
    for leftover in (copied / ".lakemend").glob("state.db*"):
        leftover.unlink()
    assert cli("run", "--date", "2025-10-21", cwd=copied).code == 0
    assert cli("vacuum", "--older-than", "0d", "--yes", cwd=copied).code == 0
    assert Lake.open(copied).table("bronze.orders").location() == (copied / "lake").resolve().as_uri() + "/bronze/orders"
    assert snapshot(built_example) == original


def test_the_library_refuses_every_table_of_a_copy(built_example: Path, copied: Path) -> None:
    lake = Lake.open(copied)
    with pytest.raises(PreconditionFailed, match="the project was copied"):
        lake.table("bronze.orders")
    with pytest.raises(PreconditionFailed, match="the project was copied"):
        lake.published_days("gold.daily_revenue")
    assert Lake.open(built_example).table("bronze.orders") is not None  # the original is its own


def test_inside_warehouse_resolves_links(tmp_path: Path) -> None:
    from lakemend.lake import inside_warehouse

    project = SimpleNamespace(warehouse=tmp_path / "project" / "lake")
    table = project.warehouse / "bronze" / "orders"
    table.mkdir(parents=True)
    assert inside_warehouse(project, str(table / "x.parquet")) and inside_warehouse(project, table.as_uri())
    assert not inside_warehouse(project, str(tmp_path / "project" / "lake-other" / "x.parquet"))
    assert not inside_warehouse(project, str(project.warehouse / ".." / "landing" / "x.csv"))
    assert not inside_warehouse(project, "s3://bucket/lake/bronze/orders/x.parquet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, table / "linked")  # a folder inside the warehouse that leads out of it
    assert not inside_warehouse(project, str(table / "linked" / "x.parquet"))


def test_vacuum_never_deletes_outside_the_warehouse_even_without_the_check(
        built_example: Path, copied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: with Lake.table's refusal switched off, vacuum still refuses and plans no outside file."""
    import datetime as dt

    import lakemend.lake
    from lakemend.ops import vacuum

    original = snapshot(built_example)
    monkeypatch.setattr(lakemend.lake, "check_own_warehouse", lambda *args: None)
    lake = Lake.open(copied)
    with pytest.raises(PreconditionFailed, match="the project was copied"):
        vacuum.plan_vacuum(lake, vacuum.parse_retention("0d"))
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for qualified in vacuum.catalog_tables(lake):
        planned = vacuum._plan_table(lake.table(qualified), qualified, future, set(), lake.project)
        assert planned.files == (), planned.files[:3]
    assert snapshot(built_example) == original


def test_a_moved_project_is_refused_without_advice_to_delete_its_lake(example: Path, tmp_path: Path, cli) -> None:
    from conftest import START, build

    assert not build(example, START, START).failed
    moved = tmp_path / "moved"
    example.rename(moved)
    result = cli("status", cwd=moved)
    assert result.code == 1
    message = result.err.strip()
    assert len(message.splitlines()) == 1, message
    assert f"this project's catalog points at {example.resolve() / 'lake'}" in message
    assert "the project was moved" in message and "move the project back" in message and "delete" not in message
