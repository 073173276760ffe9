"""project/storage on a real S3 server (SeaweedFS): listings, stats, reads, deletes and fingerprints."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from lakemend.errors import IngestError
from lakemend.lake import inside_warehouse
from lakemend.project.config import AwsConfig
from lakemend.project.project import load_project
from lakemend.project.sources import fingerprint, landing_days, landing_files
from lakemend.project.storage import S3Path, S3Settings, glob_regex, local_copies, walk_files

from support import configure


def test_glob_regex_keeps_path_glob_rules() -> None:
    assert glob_regex("orders/2025-10-20/*.csv").fullmatch("orders/2025-10-20/a.csv")
    assert not glob_regex("orders/2025-10-20/*.csv").fullmatch("orders/2025-10-20/sub/a.csv")  # * stays in its folder
    assert glob_regex("a/**/x.csv").fullmatch("a/x.csv") and glob_regex("a/**/x.csv").fullmatch("a/b/c/x.csv")
    assert glob_regex("d/[0-9][0-9]/?.json").fullmatch("d/42/a.json")
    assert not glob_regex("d/[!0-9]*").fullmatch("d/4x")
    assert glob_regex("a+b (1)/*.csv").fullmatch("a+b (1)/f.csv")  # regex characters are literal


def test_the_server_listens_on_loopback_only(s3_server) -> None:  # noqa: ANN001
    """Every TCP listener of the weed process is on 127.0.0.1 (read from /proc, no tools needed)."""
    inodes = set()
    for fd in Path(f"/proc/{s3_server.pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.append(fields[1].split(":")[0])
    assert listening, "weed mini opened no listener"
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1, as /proc writes them
    assert set(listening) <= loopback, listening


def test_s3_path_lists_stats_reads_and_deletes(s3) -> None:  # noqa: ANN001
    settings = S3Settings.from_config(AwsConfig(s3={"path_style": True}))  # the endpoint: $AWS_ENDPOINT_URL_S3
    assert settings.endpoint_url == s3.endpoint
    root = S3Path(f"s3://{s3.name}/landing", settings)
    for key, body in {"orders/2025-10-20/a.csv": b"id\n1\n", "orders/2025-10-20/b.csv": b"id\n2\n3\n",
                      "orders/2025-10-20/sub/c.csv": b"x", "orders/2025-10-21/a.csv": b"id\n"}.items():
        (root / key).write_bytes(body)
    found = root.glob("orders/2025-10-20/*.csv")
    assert [p.relative_to(root).as_posix() for p in found] == ["orders/2025-10-20/a.csv", "orders/2025-10-20/b.csv"]
    b = found[1]
    assert b.is_file() and not b.is_symlink() and b.read_bytes() == b"id\n2\n3\n" and b.stat().st_size == 7
    assert abs(b.stat().st_mtime - dt.datetime.now(dt.UTC).timestamp()) < 600
    assert S3Path(b.as_uri(), settings).stat() == dict(walk_files(root))[b.as_uri()] == b.stat()  # HEAD = listing
    assert not (root / "orders/2025-10-22/a.csv").exists()
    with pytest.raises(FileNotFoundError):
        (root / "nope").stat()
    b.unlink()
    assert [p.name for p in root.glob("orders/2025-10-20/*.csv")] == ["a.csv"]
    assert sorted(u.rsplit("/", 2)[-2] for u, _ in walk_files(root, {f"{root}/orders/2025-10-20"})) == ["2025-10-21"]
    with pytest.raises(ValueError, match="not inside"):
        S3Path(f"s3://{s3.name}/landing2/x", settings).relative_to(root)


def _project_on_s3(example: Path, s3) -> Path:  # noqa: ANN001
    configure(example, raw=f"s3://{s3.name}/company/landing", aws={"region": "us-east-1", "s3": {"path_style": True}})
    return example


def test_landing_listing_and_fingerprints_match_local_files(example: Path, s3) -> None:  # noqa: ANN001
    local = load_project(example)
    s3.upload_tree(example / "landing", "company/landing")
    remote = load_project(_project_on_s3(example, s3))
    day = dt.date(2025, 10, 21)
    for spec in local.layer_tables("bronze"):
        assert landing_days(remote, spec) == landing_days(local, spec)
        local_files, remote_files = landing_files(local, spec, day), landing_files(remote, spec, day)
        assert [p.relative_to(local.raw).as_posix() for p in local_files] == \
               [p.relative_to(remote.raw).as_posix() for p in remote_files]
        for here, there in zip(local_files, remote_files):
            a, b = fingerprint(local, here), fingerprint(remote, there)
            assert (a.path, a.size, a.sha256) == (b.path, b.size, b.sha256)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", b.mtime)  # S3: whole seconds


def test_local_copies_of_s3_landing_files_check_the_fingerprint(example: Path, s3) -> None:  # noqa: ANN001
    s3.upload_tree(example / "landing", "company/landing")
    project = load_project(_project_on_s3(example, s3))
    spec = project.find_table("orders")
    prints = [fingerprint(project, p) for p in landing_files(project, spec, dt.date(2025, 10, 20))]
    with local_copies(project.raw, [(p.path, p.sha256) for p in prints]) as copies:
        assert [relative for _, relative in copies] == [p.path for p in prints]
        for (path, relative), original in zip(copies, prints):
            assert path.read_bytes() == (example / "landing" / relative).read_bytes()
        folder = copies[0][0].parent
    assert not folder.exists()  # removed afterwards
    changed = prints[0].path
    (project.raw / changed).write_bytes(b"id,other\n1,2\n")  # replaced after it was fingerprinted
    with pytest.raises(IngestError, match=f"{re.escape(changed)}: changed in the landing zone"):
        with local_copies(project.raw, [(changed, prints[0].sha256)]):
            pass


def test_an_s3_warehouse_owns_exactly_the_keys_under_its_prefix(example: Path) -> None:
    configure(example, warehouse="s3://acme/company/lake")
    project = load_project(example)
    assert project.warehouse_uri == "s3://acme/company/lake"
    assert inside_warehouse(project, "s3://acme/company/lake/bronze/orders/metadata/v1.metadata.json")
    assert inside_warehouse(project, "s3a://acme/company/lake/bronze/x.parquet")
    assert not inside_warehouse(project, "s3://acme/company/lake2/bronze/x.parquet")  # a sibling prefix
    assert not inside_warehouse(project, "s3://other/company/lake/x.parquet")
    assert not inside_warehouse(project, "s3://acme/company/lake/../elsewhere/x.parquet")
    assert not inside_warehouse(project, str(example / "lake" / "x.parquet"))  # a local file is not in an S3 lake


def test_s3_settings_become_pyiceberg_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    assert S3Settings.from_config(AwsConfig()).endpoint_url == "http://127.0.0.1:1"  # the S3 one wins
    given = S3Settings.from_config(AwsConfig(region="eu-west-1", s3={"endpoint_url": "http://h:9", "path_style": True}))
    assert given.pyiceberg_properties() == {"s3.region": "eu-west-1", "s3.endpoint": "http://h:9"}
    virtual = S3Settings("http://h:9", False, "eu-west-1").pyiceberg_properties()
    assert virtual["s3.force-virtual-addressing"] == "true"
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert S3Settings.from_config(AwsConfig()).pyiceberg_properties() == {"s3.region": "us-east-1"}


@pytest.mark.parametrize("value", ["gs://bucket/lake", "s3:///no-bucket", "hdfs://nn/lake"])
def test_unsupported_locations_are_refused_naming_the_key(example: Path, value: str) -> None:
    from lakemend.errors import ConfigError

    configure(example, warehouse=value)
    with pytest.raises(ConfigError, match=r"lakemend.yaml: warehouse: warehouse"):
        load_project(example)
