"""The EMR Serverless job's entry point: build one table's days on the cluster with engine ``spark``.

``lakemend aws package`` uploads this file as ``<artifacts>/entry.py``; each ``StartJobRun``
(see :mod:`lakemend.ops.remote`) names it as ``entryPoint`` with these arguments::

    --project-archive s3://…/project.zip --table bronze.orders --days 2025-10-20,2025-10-21
    --run-id RUN --command "backfill bronze" --reason TEXT [--profile aws] [--engine spark]

It runs as a plain script under spark-submit, before lakemend is importable: it first puts the
packed environment (``--archives …/env.tar.gz#environment``, unpacked as ``./environment``) on
``sys.path``, then fetches and unpacks the project files, and builds the days through lakemend's
own runner (``force``: the operator already decided they must be built). The operator's ledger
is the record of the job; the cluster keeps a throw-away SQLite state of its own (so it takes no
lease the operator holds). Exit status 0 only when every day was published.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path


def use_environment(base: Path | None = None) -> None:
    """Put the packed environment's packages first on ``sys.path`` (when it is there)."""
    for root in ([base] if base else [Path.cwd() / "environment", Path(__file__).resolve().parent / "environment"]):
        lib = root / "lib"
        if lib.is_dir() and str(lib) not in sys.path:
            sys.path.insert(0, str(lib))


def fetch(uri: str, target: Path) -> Path:
    """``s3://…`` (boto3; ``AWS_ENDPOINT_URL_S3`` honoured), ``file://…`` or a local path, copied to ``target``."""
    if uri.startswith("s3://"):
        import boto3

        bucket, _, key = uri[len("s3://"):].partition("/")
        boto3.client("s3").download_file(bucket, key, str(target))
        return target
    source = Path(uri.removeprefix("file://"))
    target.write_bytes(source.read_bytes())
    return target


def adopt_submitted_session() -> None:
    """Use the session spark-submit configured (EMR's master, executors and jars), not the Spark
    engine's local ``local[N]`` settings: it becomes the process's one SparkSession."""
    from pyspark.sql import SparkSession

    from lakemend.engines import spark as spark_engine

    spark_engine.adopt(SparkSession.builder.getOrCreate())


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakemend-emr-entry", description=__doc__.splitlines()[0])
    parser.add_argument("--project-archive", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--days", required=True, help="comma-separated YYYY-MM-DD")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--command", default="backfill")
    parser.add_argument("--reason", default="")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--engine", default="spark", help="spark on EMR; another engine only for local checks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    use_environment()
    args = parse(sys.argv[1:] if argv is None else argv)
    days = [dt.date.fromisoformat(day) for day in args.days.split(",") if day]
    work = Path(tempfile.mkdtemp(prefix="lakemend-job-"))
    try:  # the job's project copy and its throw-away ledger: what it built is in the catalog and warehouse
        return _run(args, days, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, days: list[dt.date], work: Path) -> int:
    with zipfile.ZipFile(fetch(args.project_archive, work / "project.zip")) as archive:
        archive.extractall(work / "project")
    os.environ["LAKEMEND_STATE"] = f"sqlite:///{work / 'state.db'}"

    from lakemend.lake import Lake
    from lakemend.ops.runner import execute
    from lakemend.project.config import LineageConfig, MetricsConfig
    from lakemend.project.project import load_project

    project = load_project(work / "project", args.profile or None)
    # the operator's ledger, metrics, lineage and notifications are the record of these jobs: the
    # cluster's own run must not count them a second time in CloudWatch or page anyone
    project.config = project.config.model_copy(update={"engine": args.engine, "metrics": MetricsConfig(),
                                                       "lineage": LineageConfig(), "notify": []})
    if args.engine == "spark":
        adopt_submitted_session()
    lake = Lake(project)
    spec = project.table(args.table)
    report = execute(lake, command=args.command, days=days, tables=[spec], reason=args.reason or None,
                     run_id=args.run_id, force=True)
    summary = {"run_id": args.run_id, "table": args.table, "days": [d.isoformat() for d in days],
               "jobs": [{"day": r.day.isoformat(), "status": r.status, "rows_written": r.rows_written, "error": r.error}
                        for r in report.results],
               "skipped": [{"day": d.day.isoformat(), "why": d.why} for d in report.skipped]}
    print(json.dumps(summary), flush=True)
    built = {r.day for r in report.results if r.status == "succeeded"}
    return 0 if not report.failed and built == set(days) else 1


if __name__ == "__main__":
    sys.exit(main())
