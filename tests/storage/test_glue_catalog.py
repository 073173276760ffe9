"""catalog: {type: glue} — the Glue Data Catalog on a real moto_server, the warehouse on SeaweedFS S3.

The tables must keep lakemend's layout (``<warehouse>/<layer>/<table>``, not Glue's default
``<db>.db/<table>``) and hold the same rows as the same day built with the local SQL catalog.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest
import yaml

from conftest import START, build
from s3_fixtures import KEY, SECRET
from support import content


def test_glue_catalog_with_an_s3_warehouse(example: Path, tmp_path: Path, moto_endpoint: str, s3,  # noqa: ANN001
                                           cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    # moto accepts any key; SeaweedFS only its own identity: the one set of credentials serves both
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    glue_lake = tmp_path / "on-glue"
    shutil.copytree(example, glue_lake, symlinks=True)
    warehouse = f"s3://{s3.name}/company/lake"
    config = yaml.safe_load((glue_lake / "lakemend.yaml").read_text())
    config["profiles"] = {"aws": {"warehouse": warehouse, "catalog": {"type": "glue"},
                                  "aws": {"region": "us-east-1", "endpoint_url": moto_endpoint, "s3": {"path_style": True}}}}
    (glue_lake / "lakemend.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    report = build(example, START, START)
    assert not report.failed, [r.error for r in report.failed]
    expected = content(example)
    with monkeypatch.context() as env:
        env.setenv("LAKEMEND_PROFILE", "aws")
        report = build(glue_lake, START, START)
        assert not report.failed, [r.error for r in report.failed]
        assert content(glue_lake) == expected
    assert not (glue_lake / "lake" / "catalog.db").exists()  # the profile's Glue catalog, not the top-level SQL one

    glue = boto3.client("glue", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert {"bronze", "silver", "gold", "quarantine"} <= {d["Name"] for d in glue.get_databases()["DatabaseList"]}
    table = glue.get_table(DatabaseName="bronze", Name="orders")["Table"]
    assert table["Parameters"]["table_type"].upper() == "ICEBERG"
    assert table["Parameters"]["metadata_location"].startswith(f"{warehouse}/bronze/orders/metadata/")
    assert any(k.startswith(f"company/lake/bronze/orders/day={START}/") for k in s3.keys("company/lake/"))

    for command in ("gaps", "verify"):
        result = cli("--profile", "aws", command, "--table", "bronze.orders", "--output", "json", cwd=glue_lake)
        assert result.code == 0, result.err
    assert cli("--profile", "aws", "gaps", "--table", "bronze.orders", "--start", str(START), "--end", str(START),
               "--output", "json", cwd=glue_lake).out.strip() == "[]"  # the built day is no gap

    # the runbook's backfill on Glue + S3: a new snapshot registered in Glue, the same rows again
    before = glue.get_table(DatabaseName="bronze", Name="orders")["Table"]["Parameters"]["metadata_location"]
    result = cli("--profile", "aws", "backfill", "bronze", "orders", str(START), "--downstream", "--force",
                 "--reason", "re-sent export", cwd=glue_lake)
    assert result.code == 0, result.out + result.err
    after = glue.get_table(DatabaseName="bronze", Name="orders")["Table"]["Parameters"]["metadata_location"]
    assert after != before and after.startswith(f"{warehouse}/bronze/orders/metadata/")
    with monkeypatch.context() as env:
        env.setenv("LAKEMEND_PROFILE", "aws")
        assert content(glue_lake) == expected
