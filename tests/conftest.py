"""Shared fixtures: real example projects in tmp_path, and the CLI run in-process."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakemend.cli.app import main
from lakemend.examples.data import generate
from lakemend.project.scaffold import init_project

START, END = dt.date(2025, 10, 20), dt.date(2025, 10, 27)
# Session-wide servers, one each per run: SparkSession, PostgreSQL, SeaweedFS (S3). Plugins, not imports into
# test modules: a session fixture imported into several modules is a new fixture (a new server) in each.
pytest_plugins = ["spark_fixtures", "pgserver", "s3_fixtures"]

SMALL_ROWS = 120


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True, scope="session")
def _library_warnings_on_stderr() -> None:
    """As the CLI does: the library's warnings (a failed sink, a failed notification) on stderr."""
    from lakemend.cli.context import show_library_warnings

    show_library_warnings()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the user's own project, state or secrets."""
    for name in list(os.environ):
        if name.startswith("LAKEMEND_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run ``lakemend ARGS`` in-process from a folder; returns exit code, stdout, stderr."""

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def _pristine_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = init_project(tmp_path_factory.mktemp("pristine") / "company", "company")
    generate(root / "landing", START, END, rows=SMALL_ROWS)
    return root


@pytest.fixture
def example(tmp_path: Path, _pristine_example: Path) -> Path:
    """A fresh example project with small landing data for 2025-10-20 … 2025-10-27 (not built)."""
    target = tmp_path / "company"
    shutil.copytree(_pristine_example, target, symlinks=True)
    return target


def build(root: Path, start: dt.date = START, end: dt.date = END):  # noqa: ANN201 - RunReport
    """Build every table for the days through the library (the CLI is tested separately)."""
    from lakemend.dates import day_range
    from lakemend.lake import Lake
    from lakemend.ops.runner import execute

    lake = Lake.open(root)
    return execute(lake, command="run", days=day_range(start, end), tables=lake.project.ordered, reason="test")


@pytest.fixture(scope="session")
def built_example(tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    """The example built for every day, shared by read-only tests: do not modify it."""
    target = tmp_path_factory.mktemp("built") / "company"
    shutil.copytree(_pristine_example, target, symlinks=True)
    report = build(target)
    assert not report.failed, [r.error for r in report.failed]
    return target


@pytest.fixture(scope="session")
def _moto_process(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN202
    """A real moto_server on 127.0.0.1 for the AWS control-plane APIs (CloudWatch, Logs, SNS, ...)."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Path(sys.executable).parent / "moto_server"
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("moto_server did not start")
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def moto_endpoint(_moto_process: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto_server endpoint, reset for this test, with dummy credentials in the environment."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{_moto_process}/moto-api/reset", method="POST"), timeout=5)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return _moto_process
