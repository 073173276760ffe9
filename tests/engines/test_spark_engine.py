"""The spark engine's settings, its one-line errors, and write-audit-publish through Spark when main moves."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from spark_fixtures import use_spark
from lakemend.engines.spark import SparkWriter, catalog_conf, check_runtime, spark_conf
from lakemend.errors import ConfigError
from lakemend.iceberg.publish import PublishConflict, publish_day, publish_day_with
from lakemend.lake import Lake
from lakemend.project.project import load_project

D = dt.date


def test_spark_conf_shares_the_sqlite_catalog_under_the_same_name_on_loopback(example: Path) -> None:
    project = load_project(example)
    conf = spark_conf(project)
    catalog = "spark.sql.catalog.lakemend"
    assert conf[catalog] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf[f"{catalog}.type"] == "jdbc"
    assert conf[f"{catalog}.uri"] == f"jdbc:sqlite:{example / 'lake' / 'catalog.db'}"
    assert conf[f"{catalog}.warehouse"] == (example / "lake").as_uri()
    assert conf[f"{catalog}.cache-enabled"] == "false"
    assert conf[f"{catalog}.jdbc.init-catalog-tables"] == "false"
    assert conf["spark.driver.bindAddress"] == conf["spark.driver.host"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.sql.extensions"] == "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    cluster = spark_conf(project, local=False)  # what a cluster (EMR) is given: no master, jars or bind address
    assert not {"spark.master", "spark.jars", "spark.driver.bindAddress", "spark.driver.extraJavaOptions"} & cluster.keys()
    assert cluster[f"{catalog}.uri"] == conf[f"{catalog}.uri"]


def test_spark_conf_for_glue_and_an_s3_warehouse(example: Path) -> None:
    config = example / "lakemend.yaml"
    text = config.read_text().replace('catalog: {type: sql, uri: "sqlite:///lake/catalog.db", name: lakemend}', "catalog: {type: glue}")
    text = text.replace("warehouse: ./lake", "warehouse: s3://acme-lake/warehouse")
    text += ("\naws: {region: eu-west-1, endpoint_url: 'http://127.0.0.1:5999',"
             " s3: {endpoint_url: 'http://127.0.0.1:8333', path_style: true}}\nspark: {conf: {spark.driver.memory: 3g}}\n")
    config.write_text(text)
    project = load_project(example)
    conf = catalog_conf(project)
    assert conf["spark.sql.catalog.glue.type"] == "glue"
    assert conf["spark.sql.catalog.glue.glue.endpoint"] == "http://127.0.0.1:5999"
    assert conf["spark.sql.catalog.glue.warehouse"] == "s3://acme-lake/warehouse"
    assert conf["spark.sql.catalog.glue.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf["spark.sql.catalog.glue.s3.endpoint"] == "http://127.0.0.1:8333"
    assert conf["spark.sql.catalog.glue.s3.path-style-access"] == "true"
    assert conf["spark.sql.catalog.glue.client.region"] == "eu-west-1"
    assert not any("secret" in k or "access-key" in k for k in conf)  # credentials come from the AWS chain
    assert spark_conf(project)["spark.driver.memory"] == "3g"


def test_missing_jars_and_java_are_one_line_errors(example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = load_project(example)
    monkeypatch.setenv("LAKEMEND_SPARK_JARS", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="make spark-jars") as missing:
        check_runtime(project)
    assert "\n" not in str(missing.value)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigError, match="needs Java") as no_java:
        check_runtime(project)
    assert "\n" not in str(no_java.value)


def test_a_run_without_the_jars_fails_with_the_remedy_and_is_recorded(example: Path, tmp_path: Path) -> None:
    use_spark(example)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")}
    env["LAKEMEND_SPARK_JARS"] = str(tmp_path / "empty")
    result = subprocess.run([sys.executable, "-m", "lakemend", "run", "--date", "2025-10-20", "--reason", "no jars"],
                            cwd=example, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0
    assert "make spark-jars" in result.stderr and "Traceback" not in result.stderr
    runs = subprocess.run([sys.executable, "-m", "lakemend", "runs", "--output", "json"], cwd=example, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    jobs = json.loads(runs.stdout)
    assert jobs and all(j["status"] == "failed" and "make spark-jars" in j["error"] for j in jobs)


class MovingMain(SparkWriter):
    """A real second writer: while a day is staged on Spark, pyiceberg republishes another day on main."""

    def __init__(self, lake: Lake, times: int) -> None:
        super().__init__(lake.engine)
        self.lake, self.times, self.moved = lake, times, 0

    def overwrite_day(self, qualified: str, branch: str, rows: pa.Table, day: dt.date, properties: dict[str, str]) -> None:
        super().overwrite_day(qualified, branch, rows, day, properties)
        if self.moved < self.times:
            self.moved += 1
            table = self.lake.table(qualified)
            other = table.scan(row_filter="day = '2025-10-20'").to_arrow()
            publish_day(table, other, D(2025, 10, 20), f"other-writer-{self.moved}")


@pytest.mark.spark
def test_fast_forward_refused_when_main_moved_restages_then_reports_a_conflict(spark_session: object, example: Path) -> None:
    from lakemend.ops.runner import execute

    use_spark(example)
    lake = Lake.open(example)
    spec = lake.project.table("bronze.orders")
    assert not execute(lake, command="run", days=[D(2025, 10, 20), D(2025, 10, 21)], tables=[spec], reason="t").failed
    table = lake.table("bronze.orders")
    day = D(2025, 10, 21)
    rows = table.scan(row_filter="day = '2025-10-21'").to_arrow()
    rows = rows.set_column(rows.schema.get_field_index("status"), "status", pa.array(["spark-edit"] * rows.num_rows))

    once = MovingMain(lake, times=1)  # main moves once: refused, staged again on the new main, published
    result = publish_day_with(once, table, rows, day, "run-once")
    table.refresh()
    assert once.moved == 1 and result.snapshot_after == table.current_snapshot().snapshot_id
    published = table.scan(row_filter="day = '2025-10-21'").to_arrow()
    assert pc.all(pc.equal(published.column("status"), "spark-edit")).as_py() and published.num_rows == rows.num_rows
    assert "pre-run-once" in table.metadata.refs

    always = MovingMain(lake, times=99)  # main keeps moving: nothing unaudited lands, a clear conflict
    before = table.scan(row_filter="day = '2025-10-21'").to_arrow()
    with pytest.raises(PublishConflict, match="main moved while the day was staged"):
        publish_day_with(always, table, rows.set_column(rows.schema.get_field_index("status"), "status",
                                                        pa.array(["lost"] * rows.num_rows)), day, "run-conflict")
    table.refresh()
    assert table.scan(row_filter="day = '2025-10-21'").to_arrow().equals(before)
    assert [n for n in table.metadata.refs if n.startswith("stage-")] == []
    shutil.rmtree(example / "lake", ignore_errors=True)


CANONICAL = [  # lakemend's own kinds of statement, in the canonical dialect (DuckDB's)
    "CREATE SCHEMA IF NOT EXISTS silver",
    "CREATE OR REPLACE VIEW silver.orders AS SELECT * FROM _a UNION ALL BY NAME SELECT * FROM _b",
    "CREATE TEMP TABLE _checked AS SELECT *, row_number() OVER (PARTITION BY id ORDER BY seq DESC NULLS LAST) > 1 AS _dup "
    "FROM silver.orders AS o",
    "CREATE OR REPLACE TEMP TABLE _mask_key (ipad BLOB, opad BLOB)",
]
QUERIES = [
    "SELECT id, seq, note, _dup FROM _checked ORDER BY id, seq",
    "SELECT count(*) FILTER (WHERE note IS NOT NULL), count_if(regexp_matches(CAST(id AS VARCHAR), '^[0-9]+$')) FROM _checked",
    "SELECT id, CASE WHEN id IS NOT NULL AND NOT regexp_full_match(CAST(id AS VARCHAR), '[0-9]') THEN 'id: ' || CAST(id AS VARCHAR) "
    "|| ' is not one digit' END FROM silver.orders ORDER BY id, seq",
    "SELECT sha256((SELECT opad FROM _mask_key) || unhex(sha256((SELECT ipad FROM _mask_key) || encode(CAST(note AS VARCHAR))))) "
    "FROM _checked WHERE note IS NOT NULL ORDER BY id",
    "SELECT '***@' || split_part('a@b.com', '@', 2), repeat('*', greatest(length('0123456') - 4, 0)) || right('0123456', 4), "
    "DATE '2025-10-20' AS day, TIMESTAMP '2025-10-20 01:02:03' AS ts",
]


def run_canonical(session: object) -> tuple[list, list, pa.Schema]:
    a = pa.table({"id": [1, 2, 2], "seq": pa.array([1, 2, 3], pa.int64()), "note": ["x", None, "y"]})
    b = pa.table({"id": [12], "seq": pa.array([4], pa.int64())})  # no note column: BY NAME fills NULL
    session.register("_a", a)
    session.register("_b", b)
    for statement in CANONICAL:
        session.execute(statement)
    session.execute("INSERT INTO _mask_key VALUES (?, ?)", [b"\x36" * 64, b"\x5c" * 64])
    described = [tuple(r[:2]) for r in session.execute("DESCRIBE _checked")]
    results = [session.execute(q) for q in QUERIES]
    return described, results, session.arrow("SELECT * FROM _checked ORDER BY id, seq").schema


@pytest.mark.spark
def test_spark_sessions_run_the_canonical_sql_as_duckdb_does(spark_session: object, example: Path) -> None:
    from lakemend.engines import open_engine

    project = load_project(example)
    with open_engine("duckdb").session() as duck, open_engine("spark", project).session() as spark:
        assert run_canonical(spark) == run_canonical(duck)
