"""The example lake with warehouse AND landing zone on S3 (SeaweedFS) behaves exactly as on local files.

The same two days are built into a local copy and an S3 copy of the example project; then
``gaps``, ``late``, ``verify`` and ``vacuum`` (dry run, then for real) run through the CLI on both,
and their JSON answers must be equal once the locations are written the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import START, build
from support import configure, content
from lakemend.ops import day_pass, verify

DAYS = (START, START + dt.timedelta(days=1))
LATE_FILE = f"orders/{START}/orders-0001.csv"


def normalized(text: str, *locations: str) -> object:
    """A CLI JSON answer with every location of the lake written as <lake> / <landing>, run ids as <run>."""
    for where, name in locations:
        text = text.replace(where, name)
    text = re.sub(r"\d{8}T\d{6}-[0-9a-f]+", "<run>", text)
    return json.loads(text)


@pytest.fixture
def lakes(example: Path, tmp_path: Path, s3, cli, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    """(local root, S3 root, bucket): the example built for two days both ways."""
    monkeypatch.setenv("LAKEMEND_REASON", "s3 parity test")
    remote = tmp_path / "on-s3"
    shutil.copytree(example, remote, symlinks=True)
    configure(remote, warehouse=f"s3://{s3.name}/company/lake", raw=f"s3://{s3.name}/company/landing",
              aws={"region": "us-east-1", "s3": {"path_style": True}})
    assert s3.upload_tree(remote / "landing", "company/landing") > 0
    shutil.rmtree(remote / "landing")  # nothing of the S3 lake may be read from local files
    for root in (example, remote):
        report = build(root, *DAYS)
        assert not report.failed, [r.error for r in report.failed]
    assert not (remote / "lake" / "bronze").exists()  # the data went to S3
    assert any(k.startswith("company/lake/bronze/orders/day=") for k in s3.keys("company/lake/"))
    return example, remote, s3


def both(cli, lakes, *args: str) -> tuple[object, object]:  # noqa: ANN001
    local, remote, bucket = lakes
    answers = []
    for root, lake, landing in ((local, (local / "lake").as_uri(), str(local / "landing")),
                                (remote, f"s3://{bucket.name}/company/lake", f"s3://{bucket.name}/company/landing")):
        result = cli(*args, "--output", "json", cwd=root)
        assert result.code in (0, 1), result.err
        answers.append(normalized(result.out, (lake, "<lake>"), (lake.removeprefix("file://"), "<lake>"),
                                  (landing, "<landing>")))
    return answers[0], answers[1]


def test_s3_lake_matches_the_local_lake(lakes, cli, monkeypatch) -> None:  # noqa: ANN001
    local, remote, bucket = lakes
    assert content(remote) == content(local)

    gaps_local, gaps_s3 = both(cli, lakes, "gaps")
    assert gaps_s3 == gaps_local
    assert "bronze.orders" in json.dumps(gaps_local)  # the six landing days not built yet are gaps

    verified_local, verified_s3 = both(cli, lakes, "verify")
    assert verified_s3 == verified_local
    one_day = ("verify", "--table", "silver.orders_clean", "--date", str(START))
    whole = both(cli, lakes, *one_day)
    with monkeypatch.context() as big_day:  # the day read as a big one: its columns in two passes side by side
        big_day.setattr(day_pass, "SPLIT_ROWS", 0)
        big_day.setattr(verify, "VERIFY_THREADS", 2)
        assert both(cli, lakes, *one_day) == whole

    # late data: the same file re-delivered with one more record, in both landing zones
    text = (local / "landing" / LATE_FILE).read_text()
    changed = text + text.splitlines()[-1].replace("ord-", "ord-9", 1) + "\n"  # one more order
    (local / "landing" / LATE_FILE).write_text(changed)
    bucket.client.put_object(Bucket=bucket.name, Key=f"company/landing/{LATE_FILE}", Body=changed.encode())
    late_local, late_s3 = both(cli, lakes, "late")
    assert late_s3 == late_local
    assert LATE_FILE in json.dumps(late_local)

    # the late day rebuilt with everything downstream: superseded files for vacuum
    for root in (local, remote):
        result = cli("backfill", "bronze", "orders", str(START), "--downstream", cwd=root)
        assert result.code == 0, result.err
    assert content(remote) == content(local)
    assert both(cli, lakes, "late")[1] == both(cli, lakes, "late")[0]

    # an object outside the warehouse (a sibling prefix sharing its name) is never vacuum's
    outsider = "company/lake2/bronze/orders/metadata/00000-x.metadata.json"
    bucket.client.put_object(Bucket=bucket.name, Key=outsider, Body=b"{}")

    plan_local, plan_s3 = both(cli, lakes, "vacuum", "--older-than", "0d", "--dry-run")
    assert _shape(plan_s3) == _shape(plan_local)
    planned = [f["path"] for t in plan_s3["plan"]["tables"] for f in t["files"]]
    assert planned and all(p.startswith("<lake>/") for p in planned)
    keys_before = set(bucket.keys("company/"))
    assert {p.replace("<lake>", "company/lake") for p in planned} <= keys_before  # planned from the listing
    again = both(cli, lakes, "vacuum", "--older-than", "0d", "--dry-run")[1]["plan"]
    assert {**again, "cutoff": None} == {**plan_s3["plan"], "cutoff": None}  # the dry run wrote nothing
    assert set(bucket.keys("company/")) == keys_before

    done_local, done_s3 = both(cli, lakes, "vacuum", "--older-than", "0d", "--yes")
    assert _shape(done_s3) == _shape(done_local)
    deleted = sum(t["files_deleted"] for t in done_s3["result"]["tables"])
    assert deleted == len(planned)
    keys_after = set(bucket.keys("company/"))
    assert keys_before - keys_after == {p.replace("<lake>", "company/lake") for p in planned}
    assert outsider in keys_after
    assert content(remote) == content(local)  # vacuum kept everything the tables need
    assert both(cli, lakes, "verify")[1] == both(cli, lakes, "verify")[0]

    # a data file lost from storage: a gap and a verify finding, the same on both
    folder = f"lake/silver/orders_clean/day={START}"
    [local_file] = sorted((local / folder).glob("*.parquet"))
    local_file.unlink()
    [key] = [k for k in bucket.keys(f"company/{folder}/") if k.endswith(".parquet")]
    bucket.client.delete_object(Bucket=bucket.name, Key=key)
    gaps_local, gaps_s3 = both(cli, lakes, "gaps", "--table", "silver.orders_clean")
    assert gaps_s3 == gaps_local and str(START) in json.dumps(gaps_local)
    verified_local, verified_s3 = both(cli, lakes, "verify", "--table", "silver.orders_clean")
    assert _without_file_names(verified_s3) == _without_file_names(verified_local)
    assert "data file missing" in json.dumps(verified_s3)


def _shape(answer: object) -> object:
    """A vacuum answer without what differs between two builds (file names, sizes, snapshot ids, times)."""
    text = json.dumps(answer, sort_keys=True)
    text = re.sub(r'"<lake>/[^"]*/([^/"]+?)(-m\d+)?\.(avro|parquet|metadata\.json)"', r'"<file .\3>"', text)
    text = re.sub(r'"(snapshot_id|size|mtime|bytes|bytes_freed|cutoff)": [^,}\]]+', r'"\1": 0', text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?", "<time>", text)
    text = re.sub(r"\b\d{15,}\b", "0", text)
    text = re.sub(r"\d+(\.\d+)? [KMG]?B\b", "<size>", text)  # paths are longer on S3: metadata files differ in size
    return json.loads(text)


def _without_file_names(answer: object) -> str:
    return re.sub(r"<lake>/[^\"]*\.parquet", "<file>", json.dumps(answer, sort_keys=True))
