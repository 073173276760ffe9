"""One listing of an S3 landing zone (SeaweedFS) gives every day the objects its own glob gives."""

from __future__ import annotations

from pathlib import Path

from support import configure

from lakemend.project.project import load_project
from lakemend.project.sources import landing_days, landing_files, landing_listing


def test_s3_listing_splits_by_day_as_each_day_glob(example: Path, s3) -> None:  # noqa: ANN001
    local = load_project(example)
    s3.upload_tree(example / "landing", "company/landing")
    configure(example, raw=f"s3://{s3.name}/company/landing", aws={"region": "us-east-1", "s3": {"path_style": True}})
    remote = load_project(example)
    assert remote.raw is remote.raw  # resolved once per project
    for spec in remote.layer_tables("bronze"):
        listing, local_listing = landing_listing(remote, spec), landing_listing(local, spec)
        assert listing is not None and local_listing is not None
        days = landing_days(remote, spec)
        assert sorted(listing) == days == sorted(local_listing) and days
        for day in days:
            files = landing_files(remote, spec, day)
            assert [item.path for item in listing[day]] == files
            assert [item.relative for item in listing[day]] == [item.relative for item in local_listing[day]]
            assert [item.stat().st_size for item in listing[day]] == [p.stat().st_size for p in files]
