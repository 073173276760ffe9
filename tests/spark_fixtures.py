"""Spark test fixtures and helpers: one SparkSession for the whole pytest run (engine ``spark``, local
mode, loopback only). A plugin of tests/conftest.py (``pytest_plugins``), not a conftest of its own:
a second module named ``conftest`` would shadow the root one for ``from conftest import …``.

Tests marked ``spark`` take ``spark_session``; they are skipped, with the reason shown, only when
Java is missing. Missing jars or pyspark are failures: CI fetches the jars (``make spark-jars``)
and installs pyspark through the ``test`` extra.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TIMINGS: dict[str, float] = {}
"""Seconds of the measured steps, shown at the end of the run (``pytest_terminal_summary`` below)."""


def use_spark(root: Path) -> None:
    """Switch a project's lakemend.yaml to ``engine: spark``."""
    config = root / "lakemend.yaml"
    text = config.read_text()
    assert "engine: duckdb" in text
    config.write_text(text.replace("engine: duckdb", "engine: spark", 1))


REPO = Path(__file__).resolve().parents[1]
JARS = REPO / ".spark-jars"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, seconds in TIMINGS.items():
        terminalreporter.write_line(f"spark timing: {what}: {seconds:.1f} s")


def java_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") or (home and Path(home, "bin", "java").exists()):
        return None
    return "Java is not installed (the spark engine needs a JRE 17): install openjdk-17-jre-headless"


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The process's SparkSession, started once and stopped at the end of the run."""
    reason = java_missing()
    if reason:
        pytest.skip(reason)
    from lakemend.engines import spark
    from lakemend.project.project import load_project
    from lakemend.project.scaffold import init_project

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    root = init_project(tmp_path_factory.mktemp("spark-boot") / "boot", "company")
    os.environ[spark.JARS_ENV] = str(JARS)
    try:
        started = time.perf_counter()
        session = spark.root_session(load_project(root))
        session.range(1).count()  # the first action, so tests do not pay for it
        TIMINGS["SparkSession start and first action"] = time.perf_counter() - started
    finally:
        del os.environ[spark.JARS_ENV]
    yield session
    spark.stop()
