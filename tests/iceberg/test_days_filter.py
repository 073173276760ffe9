"""``files.files_of_days`` opens only the manifests of the days asked for, however far apart.

A lake published day by day has one manifest per day. pyiceberg prunes manifests for ``In``
only by its smallest and largest value, so three damaged days two years apart read every
manifest between them; the days go in as runs of consecutive days instead (``days_filter``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.manifest import ManifestFile

from lakemend.iceberg.files import days_filter, files_by_day, files_of_days
from lakemend.lake import Lake

DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(40)]


@pytest.fixture
def daily_table(example: Path):  # noqa: ANN201 - pyiceberg Table
    """A table with one commit, so one manifest, per day."""
    lake = Lake.open(example)
    schema = pa.schema([pa.field("id", pa.string()), pa.field("day", pa.date32())])
    table = lake.ensure_table("bronze.daily_probe", schema)
    for day in DAYS:
        table.append(pa.table({"id": [f"{day}-{n}" for n in range(3)], "day": [day] * 3}, schema=schema))
    return table


def test_far_apart_days_open_only_their_manifests(daily_table, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    opened: list[str] = []
    fetch = ManifestFile.fetch_manifest_entry

    def counted(self: ManifestFile, *args: object, **kwargs: object) -> list:
        opened.append(self.manifest_path)
        return fetch(self, *args, **kwargs)

    monkeypatch.setattr(ManifestFile, "fetch_manifest_entry", counted)  # observed, not changed
    wanted = [DAYS[0], DAYS[1], DAYS[2], DAYS[20], DAYS[39]]
    found = files_of_days(daily_table, wanted)
    assert len(set(opened)) == len(wanted)  # one manifest per wanted day, of 40
    every = files_by_day(daily_table)
    assert {day: sorted(f.file_path for f in files) for day, files in found.items()} == {
        day: sorted(f.file_path for f in every[day]) for day in wanted}


def test_the_filter_selects_exactly_the_days(daily_table) -> None:  # noqa: ANN001
    wanted = {DAYS[3], DAYS[4], DAYS[10], DAYS[30], DAYS[31], DAYS[32]}
    rows = daily_table.scan(row_filter=days_filter(wanted)).to_arrow()
    assert set(rows.column("day").to_pylist()) == wanted and rows.num_rows == 3 * len(wanted)
    many = set(DAYS[::2])  # 20 runs of one day: the OR nests log2(20) deep, not 20
    assert set(daily_table.scan(row_filter=days_filter(many)).to_arrow().column("day").to_pylist()) == many
