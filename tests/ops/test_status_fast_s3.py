"""The state-DB path of ``status`` / ``gaps`` on an S3 warehouse (SeaweedFS): one listing of the
table's prefix stands for the day folders, and a deleted object is still a gap."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from conftest import START, build
from support import configure
from test_status_fast import fast_tables, same_answers

from lakemend.iceberg.files import files_by_day
from lakemend.lake import Lake

DAYS = (START, START + dt.timedelta(days=1))


def test_s3_lake_answers_from_records_and_one_listing(example: Path, s3, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LAKEMEND_REASON", "s3 fast status test")
    for folder in (example / "landing").glob("*/**/2025-10-2[2-7]"):
        shutil.rmtree(folder)
    configure(example, warehouse=f"s3://{s3.name}/company/lake", raw=f"s3://{s3.name}/company/landing",
              aws={"region": "us-east-1", "s3": {"path_style": True}})
    assert s3.upload_tree(example / "landing", "company/landing") > 0
    shutil.rmtree(example / "landing")
    report = build(example, *DAYS)
    assert not report.failed, [r.error for r in report.failed]
    assert fast_tables(example) == {t.qualified for t in Lake.open(example).project.ordered}
    found = same_answers(example)
    assert found["gaps"] == [] and found["present"]["bronze.orders"] == set(DAYS)

    [data_file] = files_by_day(Lake.open(example).table("bronze.orders"))[DAYS[1]]
    assert data_file.file_path.startswith(f"s3://{s3.name}/")
    s3.client.delete_object(Bucket=s3.name, Key=data_file.file_path.split("/", 3)[3])
    assert "bronze.orders" in fast_tables(example)
    found = same_answers(example)
    assert [(g.table, g.start, g.end) for g in found["gaps"]] == [("bronze.orders", DAYS[1], DAYS[1])]
