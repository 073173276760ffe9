"""``engine: emr-serverless`` against a real moto_server on 127.0.0.1: ``aws package``, ``aws check``,
``backfill --dry-run`` (calls nothing) and a backfill whose job run is carried out by the real entry
point (``entry.py`` + ``env.tar.gz`` downloaded from moto's S3, run with the exact arguments
moto received; engine duckdb stands in for Spark on the "cluster")."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import pytest

ROLE = "arn:aws:iam::123456789012:role/lakemend-job"
DAY = "2025-10-26"
TABLE = "bronze.hubspot_contacts"


def aws(endpoint: str, service: str):  # noqa: ANN201
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def profile(root: Path, endpoint: str, app_id: str, catalog: str = "", warehouse: str = "", raw: str = "") -> str:
    """An ``aws`` profile on moto; warehouse, landing and catalog absolute, so the "cluster" shares them."""
    catalog = catalog or f'{{type: sql, name: lakemend, uri: "sqlite:///{root}/lake/catalog.db"}}'
    return f"""
profiles:
  aws:
    engine: emr-serverless
    warehouse: {warehouse or f"{root}/lake"}
    raw: {raw or f"{root}/landing"}
    catalog: {catalog}
    aws:
      region: us-east-1
      endpoint_url: {endpoint}
      emr_serverless:
        application_id: {app_id}
        execution_role_arn: {ROLE}
        artifacts: s3://lake-artifacts/lakemend
        log_uri: s3://lake-logs/emr-serverless/backfill
        timeout_minutes: 30
"""


@pytest.fixture
def aws_project(example: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """The example with an ``aws`` profile, an EMR Serverless application on moto, and nothing else yet."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)  # for the entry point's boto3 (the "cluster")
    app_id = aws(moto_endpoint, "emr-serverless").create_application(
        name="lakemend", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]
    config = example / "lakemend.yaml"
    config.write_text(config.read_text() + profile(example, moto_endpoint, app_id))
    return example, moto_endpoint, app_id


def setup_aws(endpoint: str) -> None:
    s3 = aws(endpoint, "s3")
    for bucket in ("lake-artifacts", "lake-logs"):
        s3.create_bucket(Bucket=bucket)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "emr-serverless.amazonaws.com"}}]}
    aws(endpoint, "iam").create_role(RoleName="lakemend-job", AssumeRolePolicyDocument=json.dumps(trust))


def job_runs(endpoint: str, app_id: str) -> list[dict]:
    emr = aws(endpoint, "emr-serverless")
    emr.get_application(applicationId=app_id)  # exists (moto's ListJobRuns says it does not while it has no runs)
    try:
        return emr.list_job_runs(applicationId=app_id)["jobRuns"]
    except emr.exceptions.ResourceNotFoundException:
        return []


def test_check_reports_what_is_missing_then_passes(aws_project, cli) -> None:  # noqa: ANN001
    root, endpoint, _ = aws_project
    result = cli("--profile", "aws", "aws", "check", "-o", "json", cwd=root)
    assert result.code == 1
    missing = {(r["what"], r["target"]) for r in json.loads(result.out) if not r["ok"]}
    assert ("job execution role", ROLE) in missing
    assert ("S3 bucket (artifacts)", "s3://lake-artifacts") in missing
    assert ("artifact: entry point", "s3://lake-artifacts/lakemend/entry.py") in missing
    assert not any(what == "EMR Serverless application" for what, _ in missing)
    text = cli("--profile", "aws", "aws", "check", cwd=root)
    assert text.code == 1 and "MISSING" in text.out and "lakemend aws package" in text.out

    setup_aws(endpoint)
    assert cli("--profile", "aws", "aws", "package", "--no-deps", cwd=root).code == 0
    after = cli("--profile", "aws", "aws", "check", "-o", "json", cwd=root)
    # all there now, but this profile's lake is local: the job runs could not reach it
    assert after.code == 1
    assert [(r["what"], r["fix"]) for r in json.loads(after.out) if not r["ok"]] == [
        ("warehouse on S3", "set warehouse: s3://bucket/prefix in the profile"),
        ("landing zone on S3", "set raw: s3://bucket/prefix in the profile"),
        ("catalog reachable from EMR", "use catalog: {type: glue} (or a jdbc catalog on a database EMR can reach)")]


def test_check_on_a_glue_catalog_names_the_missing_databases(aws_project, cli) -> None:  # noqa: ANN001
    root, endpoint, app_id = aws_project
    config = root / "lakemend.yaml"
    text = config.read_text()
    config.write_text(text[:text.index("profiles:")] + profile(
        root, endpoint, app_id, "{type: glue}", "s3://lake-data/warehouse", "s3://lake-data/landing"))
    setup_aws(endpoint)
    aws(endpoint, "s3").create_bucket(Bucket="lake-data")
    cli("--profile", "aws", "aws", "package", "--no-deps", cwd=root)
    glue = aws(endpoint, "glue")
    glue.create_database(DatabaseInput={"Name": "bronze"})
    result = cli("--profile", "aws", "aws", "check", "-o", "json", cwd=root)
    assert result.code == 1
    missing = [r["target"] for r in json.loads(result.out) if not r["ok"]]
    assert missing == ["silver", "gold", "quarantine"]
    for name in missing:
        glue.create_database(DatabaseInput={"Name": name})
    ok = cli("--profile", "aws", "aws", "check", cwd=root)
    assert ok.code == 0 and "All 15 checks passed." in ok.out, ok.out


def test_check_refuses_a_stopped_or_unknown_application(aws_project, cli) -> None:  # noqa: ANN001
    root, endpoint, app_id = aws_project
    setup_aws(endpoint)
    emr = aws(endpoint, "emr-serverless")
    emr.stop_application(applicationId=app_id)
    emr.delete_application(applicationId=app_id)
    result = cli("--profile", "aws", "aws", "check", "-o", "json", cwd=root)
    [app] = [r for r in json.loads(result.out) if r["what"] == "EMR Serverless application"]
    assert result.code == 1 and not app["ok"] and "create-application" in app["fix"]


def test_package_dry_run_uploads_nothing_and_package_uploads(aws_project, cli) -> None:  # noqa: ANN001
    root, endpoint, _ = aws_project
    setup_aws(endpoint)
    s3 = aws(endpoint, "s3")
    dry = cli("--profile", "aws", "aws", "package", "--no-deps", "--dry-run", "-o", "json", cwd=root)
    assert dry.code == 0 and json.loads(dry.out)["uploaded"] is False
    assert s3.list_objects_v2(Bucket="lake-artifacts").get("KeyCount") == 0
    done = cli("--profile", "aws", "aws", "package", "--no-deps", "-o", "json", cwd=root)
    assert done.code == 0
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="lake-artifacts")["Contents"])
    assert keys == ["lakemend/entry.py", "lakemend/env.tar.gz", "lakemend/manifest.json", "lakemend/project.zip"]
    manifest = json.loads(s3.get_object(Bucket="lake-artifacts", Key="lakemend/manifest.json")["Body"].read())
    assert any(r.startswith("pyiceberg==") for r in manifest["requirements"])
    assert {a["name"]: a["sha256"] for a in manifest["artifacts"]} == \
        {a["name"]: a["sha256"] for a in json.loads(done.out)["artifacts"]}
    import io
    import zipfile

    project = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket="lake-artifacts", Key="lakemend/project.zip")["Body"].read()))
    names = project.namelist()
    assert "lakemend.yaml" in names and any(n.startswith("models/") for n in names)
    assert not any(n.startswith((".lakemend", "landing", "lake/")) for n in names)  # no data, state or key file


def test_package_into_a_missing_bucket_is_one_clear_error(aws_project, cli) -> None:  # noqa: ANN001
    root, _, _ = aws_project
    result = cli("--profile", "aws", "aws", "package", "--no-deps", cwd=root)
    assert result.code == 1
    assert "could not upload s3://lake-artifacts/lakemend/entry.py" in result.err and "lakemend aws check" in result.err
    assert "Traceback" not in result.err


def test_backfill_dry_run_prints_the_requests_and_calls_nothing(aws_project, cli) -> None:  # noqa: ANN001
    root, endpoint, app_id = aws_project
    result = cli("--profile", "aws", "backfill", "bronze", "hubspot", "--start", "2025-10-20", "--end", "2025-10-22",
                 "--dry-run", "-o", "json", cwd=root)
    assert result.code == 0, result.err
    [request] = json.loads(result.out)["start_job_run_requests"]
    assert request["applicationId"] == app_id and request["executionRoleArn"] == ROLE
    assert request["jobDriver"]["sparkSubmit"]["entryPointArguments"][5] == "2025-10-20,2025-10-21,2025-10-22"
    assert job_runs(endpoint, app_id) == []
    # and with the endpoint unreachable it still works: nothing is called at all
    config = root / "lakemend.yaml"
    config.write_text(config.read_text().replace(endpoint, "http://127.0.0.1:9"))
    again = cli("--profile", "aws", "backfill", "bronze", "hubspot", DAY, "--dry-run", cwd=root)
    assert again.code == 0 and '"StartJobRun"' not in again.out and '"entryPoint"' in again.out
    assert "nothing was sent to EMR Serverless" in again.out


class Cluster:
    """Stands in for EMR: when moto accepts a StartJobRun, run the uploaded entry point with exactly the
    arguments moto received, from an unpacked ``env.tar.gz`` (botocore's event hooks, not a mock)."""

    def __init__(self, endpoint: str, work: Path) -> None:
        self.endpoint, self.work, self.params, self.exits = endpoint, work, {}, []

    def attach(self, client) -> None:  # noqa: ANN001
        client.meta.events.register("before-parameter-build.emr-serverless.StartJobRun", self.capture)
        client.meta.events.register("after-call.emr-serverless.StartJobRun", self.run)

    def detach(self, client) -> None:  # noqa: ANN001
        client.meta.events.unregister("before-parameter-build.emr-serverless.StartJobRun", self.capture)
        client.meta.events.unregister("after-call.emr-serverless.StartJobRun", self.run)

    def capture(self, params: dict, **_: object) -> None:
        self.params = json.loads(json.dumps(params))

    def download(self) -> None:
        """entry.py and env.tar.gz from moto's S3, the environment unpacked as ./environment (as EMR does)."""
        s3 = aws(self.endpoint, "s3")
        driver = self.params["jobDriver"]["sparkSubmit"]
        archive = next(p.split("#")[0].strip("'") for p in driver["sparkSubmitParameters"].split() if "#environment" in p)
        self.work.mkdir(exist_ok=True)
        for uri, name in ((driver["entryPoint"], "entry.py"), (archive, "env.tar.gz")):
            bucket, _, key = uri[len("s3://"):].partition("/")
            s3.download_file(bucket, key, str(self.work / name))
        with tarfile.open(self.work / "env.tar.gz") as env:
            env.extractall(self.work / "environment", filter="data")

    def run(self, **_: object) -> None:
        self.download()
        driver = self.params["jobDriver"]["sparkSubmit"]
        env = {**os.environ, "LAKEMEND_PYTHON": sys.executable}
        done = subprocess.run([str(self.work / "environment" / "bin" / "python"), "entry.py",
                               *driver["entryPointArguments"], "--engine", "duckdb"],
                              cwd=self.work, env=env, capture_output=True, text=True, timeout=300, check=False)
        self.exits.append((done.returncode, done.stdout, done.stderr[-2000:]))


def test_backfill_runs_as_a_job_run_and_records_it(aws_project, cli, tmp_path) -> None:  # noqa: ANN001
    from lakemend.lake import Lake
    from lakemend.observe.aws import client

    root, endpoint, app_id = aws_project
    setup_aws(endpoint)
    assert cli("--profile", "aws", "aws", "package", "--no-deps", cwd=root).code == 0
    lake = Lake.open(root, profile="aws")
    emr = client(lake, "emr-serverless")  # the cached client the runner uses
    cluster = Cluster(endpoint, tmp_path / "cluster")
    cluster.attach(emr)
    try:
        result = cli("--profile", "aws", "backfill", "bronze", "hubspot", DAY, "--reason", "CRM export re-sent", cwd=root)
    finally:
        cluster.detach(emr)
    [(code, stdout, stderr)] = cluster.exits
    assert code == 0, stderr
    assert json.loads(stdout.strip().splitlines()[-1])["jobs"][0]["status"] == "succeeded"
    assert result.code == 0, result.err

    [run] = job_runs(endpoint, app_id)
    sent = aws(endpoint, "emr-serverless").get_job_run(applicationId=app_id, jobRunId=run["id"])["jobRun"]
    assert sent["jobDriver"] == cluster.params["jobDriver"]
    assert sent["executionRole"] == ROLE and sent["state"] == "SUCCESS"
    args = sent["jobDriver"]["sparkSubmit"]["entryPointArguments"]
    assert args[args.index("--reason") + 1] == "CRM export re-sent"
    assert "secret" not in sent["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"].lower()

    lake = Lake.open(root, profile="aws")
    state = lake.state
    [job] = state.list_jobs(table=TABLE)
    assert job["status"] == "succeeded" and job["external_id"] == run["id"]
    assert job["external_log_uri"] == \
        f"s3://lake-logs/emr-serverless/backfill/{job['run_id']}/applications/{app_id}/jobs/{run['id']}/"
    assert job["rows_written"] > 0
    # recorded like a local build: the daily run finds the partition up to date
    from lakemend.ops.runner import decide

    decision = decide(lake, lake.project.table(TABLE), dt.date.fromisoformat(DAY), {})
    assert (decision.action, decision.why) == ("up-to-date", "inputs unchanged")

    # a second backfill of the day (a rerun) replaces the day: no duplicate rows
    from lakemend.iceberg.files import partition_counts

    rows = partition_counts(lake.table(TABLE))[dt.date.fromisoformat(DAY)]
    cluster.attach(emr)
    try:
        assert cli("--profile", "aws", "backfill", "bronze", "hubspot", DAY, "--reason", "rerun", cwd=root).code == 0
    finally:
        cluster.detach(emr)
    assert cluster.exits[-1][0] == 0 and len(job_runs(endpoint, app_id)) == 2
    assert partition_counts(lake.table(TABLE))[dt.date.fromisoformat(DAY)] == rows == job["rows_written"]


def test_a_job_run_that_publishes_nothing_fails_the_backfill(aws_project, cli) -> None:  # noqa: ANN001
    """moto says SUCCESS, but no cluster built the day: the job fails, with the job run recorded."""
    root, endpoint, app_id = aws_project
    result = cli("--profile", "aws", "backfill", "bronze", "hubspot", DAY, "--reason", "r", cwd=root)
    assert result.code == 1
    from lakemend.lake import Lake

    [job] = Lake.open(root, profile="aws").state.list_jobs(table=TABLE)
    [run] = job_runs(endpoint, app_id)
    assert job["status"] == "failed" and job["external_id"] == run["id"]
    assert "published no partition" in job["error"]


JARS = Path(os.environ.get("LAKEMEND_SPARK_JARS") or Path(__file__).parents[2] / ".spark-jars")
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"


def java_missing() -> str | None:
    """As the spark tests: skipped only without Java; missing pyspark or jars fail (CI installs them)."""
    import shutil

    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") or (home and Path(home, "bin", "java").exists()):
        return None
    return "Java is not installed (the spark engine needs a JRE 17): install openjdk-17-jre-headless"


class SubmitCluster(Cluster):
    """As :class:`Cluster`, but the entry point runs under a local ``spark-submit`` with engine spark and
    the request's own ``sparkSubmitParameters`` — only EMR's jar path is swapped for the local jars and
    the master is local[2] on loopback."""

    def run(self, **_: object) -> None:
        import shlex

        driver = self.params["jobDriver"]["sparkSubmit"]
        tokens = shlex.split(driver["sparkSubmitParameters"])
        submit: list[str] = []
        for flag, value in zip(tokens[::2], tokens[1::2], strict=True):
            if flag == "--archives":
                continue  # unpacked as ./environment below, as EMR does
            if value.startswith("spark.jars="):
                value = "spark.jars=" + ",".join(str(p) for p in sorted(JARS.glob("*.jar")))
            submit += [flag, value]
        self.download()
        env = {**os.environ, "LAKEMEND_PYTHON": sys.executable, "PYSPARK_PYTHON": sys.executable,
               "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
        command = [str(SPARK_SUBMIT), "--master", "local[2]", "--conf", "spark.driver.bindAddress=127.0.0.1",
                   "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false", *submit,
                   "entry.py", *driver["entryPointArguments"]]
        done = subprocess.run(command, cwd=self.work, env=env, capture_output=True, text=True, timeout=600, check=False)
        self.exits.append((done.returncode, done.stdout, done.stderr[-4000:]))


@pytest.mark.spark
@pytest.mark.skipif(java_missing() is not None, reason=str(java_missing()))
def test_the_entry_point_runs_under_spark_submit_with_the_request_sent(aws_project, cli, tmp_path) -> None:  # noqa: ANN001
    assert SPARK_SUBMIT.exists(), "pyspark is not installed (pip install -e '.[test]')"
    assert len(list(JARS.glob("*.jar"))) >= 3, f"the Iceberg jars are not in {JARS}: run make spark-jars"
    from lakemend.iceberg.files import partition_counts
    from lakemend.lake import Lake
    from lakemend.observe.aws import client

    root, endpoint, app_id = aws_project
    setup_aws(endpoint)
    assert cli("--profile", "aws", "aws", "package", "--no-deps", cwd=root).code == 0
    lake = Lake.open(root, profile="aws")
    emr = client(lake, "emr-serverless")
    cluster = SubmitCluster(endpoint, tmp_path / "cluster")
    cluster.attach(emr)
    try:
        result = cli("--profile", "aws", "backfill", "bronze", "hubspot", "--start", "2025-10-25", "--end", DAY,
                     "--reason", "on Spark", cwd=root)
    finally:
        cluster.detach(emr)
    [(code, stdout, stderr)] = cluster.exits
    assert code == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert [j["status"] for j in summary["jobs"]] == ["succeeded", "succeeded"]
    assert result.code == 0, result.err
    [run] = job_runs(endpoint, app_id)  # two consecutive days: one job run
    counts = partition_counts(Lake.open(root, profile="aws").table(TABLE))
    assert set(counts) == {dt.date(2025, 10, 25), dt.date(2025, 10, 26)} and all(counts.values())
    jobs = Lake.open(root, profile="aws").state.list_jobs(table=TABLE)
    assert {(j["status"], j["external_id"]) for j in jobs} == {("succeeded", run["id"])}


def test_engine_emr_serverless_without_its_settings_is_one_clear_error(example, cli) -> None:  # noqa: ANN001
    config = example / "lakemend.yaml"
    config.write_text(config.read_text() + "\nprofiles:\n  aws:\n    engine: emr-serverless\n")
    result = cli("--profile", "aws", "backfill", "bronze", "hubspot", DAY, "--dry-run", cwd=example)
    assert result.code == 1
    assert "engine emr-serverless needs aws.emr_serverless in lakemend.yaml" in result.err and "docs/aws.md" in result.err


def test_bad_emr_settings_are_refused_naming_the_key(example, cli) -> None:  # noqa: ANN001
    config = example / "lakemend.yaml"
    config.write_text(config.read_text() + """
profiles:
  aws:
    engine: emr-serverless
    aws:
      emr_serverless: {application_id: a, execution_role_arn: lakemend-job, artifacts: s3://bkt/a,
                       log_uri: /tmp/logs, timeout_minutes: 2}
""")
    result = cli("--profile", "aws", "aws", "check", cwd=example)
    assert result.code == 1 and "Traceback" not in result.err
    for key in ("profiles.aws.aws.emr_serverless.execution_role_arn", "profiles.aws.aws.emr_serverless.log_uri",
                "profiles.aws.aws.emr_serverless.timeout_minutes"):
        assert key in result.err
