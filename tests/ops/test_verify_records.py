"""``verify`` from the state DB's proven partition records gives the manifests' answers.

On the embedded catalog, a table whose records its snapshot history proves current has each
day's files taken from them (no manifest read, pyiceberg not imported); a day found unsound is
read again through its manifests so its damage is named as always. Every scenario damages a real
lake the way storage and other writers do and compares the answer with the one read from the
manifests only (``Lake.use_records = False``), and checks which path was taken.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import START, build

from lakemend.lake import Lake
from lakemend.ops import verify as verify_module
from lakemend.ops.verify import Damage, verify

D = dt.date
LAST = D(2025, 10, 22)


@pytest.fixture
def lake_root(example: Path) -> Path:
    assert not build(example, START, LAST).failed
    return example


def answers(root: Path, monkeypatch: pytest.MonkeyPatch, *, use_records: bool) -> tuple[list[Damage], set[str]]:
    """verify's damage over every table, and the tables whose manifests it read."""
    lake = Lake.open(root)
    lake.use_records = use_records
    read: set[str] = set()
    real = verify_module._Manifests.days

    def days(self, qualified: str):  # noqa: ANN001, ANN202 - the real reading, seen
        read.add(qualified)
        return real(self, qualified)

    with monkeypatch.context() as seen:
        seen.setattr(verify_module._Manifests, "days", days)
        return verify(lake, lake.project.ordered), read


def same_answers(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Damage], set[str]]:
    """The damage through the records (as it is through the manifests) and the tables read through manifests."""
    fast, read = answers(root, monkeypatch, use_records=True)
    slow, _ = answers(root, monkeypatch, use_records=False)
    assert fast == slow
    return fast, read


def day_file(root: Path, table: str, day: dt.date) -> Path:
    return sorted((root / "lake" / table.replace(".", "/") / f"day={day}").glob("*.parquet"))[0]


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def fewer_rows(path: Path) -> None:
    rows = pq.read_table(path)
    pq.write_table(rows.slice(0, rows.num_rows - 1), path)


def rule_broken(path: Path) -> None:
    rows = pq.read_table(path)
    field = rows.schema.field("order_id")
    pq.write_table(rows.set_column(rows.schema.get_field_index("order_id"), field, pa.nulls(rows.num_rows, field.type)), path)


def test_a_sound_lake_is_verified_from_the_records_alone(lake_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    damage, read = same_answers(lake_root, monkeypatch)
    assert damage == [] and read == set()


def test_a_fresh_process_verifies_without_pyiceberg_or_pyarrow(lake_root: Path) -> None:
    code = ("import sys\nfrom lakemend.lake import Lake\nfrom lakemend.ops.verify import verify\n"
            "lake = Lake.open('.')\nprint(verify(lake, lake.project.ordered))\n"
            "print(sorted(m for m in ('pyiceberg', 'pyarrow', 'sqlalchemy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=lake_root, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "[]"]


@pytest.mark.parametrize(("table", "damage", "reason"), [
    ("silver.orders_clean", os.remove, "data file missing: "),
    ("silver.orders_clean", truncate, "data file unreadable (ArrowInvalid): "),
    ("bronze.orders", fewer_rows, "row count "),
    ("silver.orders_clean", rule_broken, "contract: "),
], ids=["missing", "truncated", "fewer rows", "rule broken"])
def test_a_damaged_day_is_named_through_its_manifests(lake_root: Path, monkeypatch: pytest.MonkeyPatch, table: str,
                                                      damage: Callable[[Path], None], reason: str) -> None:
    damage(day_file(lake_root, table, D(2025, 10, 21)))
    found, read = same_answers(lake_root, monkeypatch)
    assert [(d.table, d.day) for d in found] == [(table, D(2025, 10, 21))]
    assert found[0].reason.startswith(reason)
    assert read == {table}  # only the damaged table's manifests, to name the damage


def test_a_renamed_column_is_found_through_pyiceberg(lake_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema change makes no snapshot (the records still hold): the contract check of the
    metadata's columns sends the table to pyiceberg's schema, which words the mismatch."""
    with Lake.open(lake_root).catalog.load_table("silver.orders_clean").update_schema() as change:
        change.rename_column("amount", "amount_usd")
    found, read = same_answers(lake_root, monkeypatch)
    assert Damage("silver.orders_clean", None,
                  "schema no longer matches the contract: column amount is missing from the output") in found
    assert "silver.orders_clean" in read


def test_a_commit_outside_lakemend_is_verified_from_the_manifests(lake_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyiceberg.expressions import EqualTo

    table = Lake.open(lake_root).catalog.load_table("bronze.orders")
    day = EqualTo("day", "2025-10-21")
    table.overwrite(table.scan(row_filter=day).to_arrow(), overwrite_filter=day)
    fewer_rows(day_file(lake_root, "bronze.orders", D(2025, 10, 20)))
    found, read = same_answers(lake_root, monkeypatch)
    assert [(d.table, d.day) for d in found] == [("bronze.orders", D(2025, 10, 20))]
    assert read == {"bronze.orders"}


def test_records_made_before_they_kept_file_paths_are_verified_from_the_manifests(lake_root: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A lake upgraded from a lakemend whose partition records did not keep a day's data file
    paths (before state DB revision 0003): such a table is read through its manifests."""
    from lakemend.state.store import partitions

    with Lake.open(lake_root).state.engine.begin() as conn:
        conn.execute(partitions.update().where(partitions.c.table_name == "gold.daily_revenue").values(files=None))
    fewer_rows(day_file(lake_root, "gold.daily_revenue", D(2025, 10, 22)))
    found, read = same_answers(lake_root, monkeypatch)
    assert [(d.table, d.day) for d in found] == [("gold.daily_revenue", D(2025, 10, 22))]
    assert read == {"gold.daily_revenue"}
