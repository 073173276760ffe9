"""``lakemend aws check``: does everything ``engine: emr-serverless`` needs exist? (read-only)

One :class:`Check` per thing — the EMR Serverless application and its state, the job role, the
artifacts / log / warehouse / landing buckets, the uploaded artifacts, and the Glue databases
(bronze, silver, gold, quarantine) when the catalog is Glue — each with how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakemend.lake import Lake
from lakemend.ops.aws_package import s3_client, split_s3
from lakemend.ops.remote import artifacts, emr_config
from lakemend.project.project import Project

DATABASES = ("bronze", "silver", "gold", "quarantine")
NOT_FOUND = ("404", "NotFound", "NoSuchBucket", "NoSuchKey", "NoSuchEntity", "EntityNotFoundException",
             "ResourceNotFoundException")
USABLE_STATES = ("CREATED", "STARTED", "STOPPED")
"""An application in these states takes job runs (a stopped one auto-starts when its settings allow)."""


@dataclass(frozen=True)
class Check:
    what: str
    target: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "target": self.target, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else type(exc).__name__


def _probe(what: str, target: str, call: Callable[[], str], missing_fix: str) -> Check:
    try:
        return Check(what, target, True, call() or "exists")
    except Exception as exc:  # noqa: BLE001 - every AWS error becomes a row of the table
        code = _code(exc)
        detail = "not found" if code in NOT_FOUND else f"{code}: {exc}"[:300]
        return Check(what, target, False, detail, missing_fix)


def reachable(project: Project) -> list[Check]:
    """The job runs read and write the lake from EMR: local paths and a SQLite catalog are not there."""
    config = project.config
    rows = []
    for what, key, value in (("warehouse on S3", "warehouse", config.warehouse), ("landing zone on S3", "raw", config.raw)):
        ok = value.startswith("s3://")
        rows.append(Check(what, value, ok, "reachable from EMR" if ok else "a local path: EMR cannot see it",
                          "" if ok else f"set {key}: s3://bucket/prefix in the profile"))
    catalog = config.catalog
    local = catalog.is_sql and (catalog.uri or "").startswith("sqlite")
    rows.append(Check("catalog reachable from EMR", f"{catalog.type} {catalog.uri or ''}".strip(), not local,
                      "a SQLite file: EMR cannot see it" if local else "reachable from EMR",
                      "use catalog: {type: glue} (or a jdbc catalog on a database EMR can reach)" if local else ""))
    return rows


def check(lake: Lake, *, clients: Callable[[str], Any] | None = None) -> list[Check]:
    """Every check, in the order a setup would fix them; nothing is changed."""
    from lakemend.observe.aws import client as aws_client

    project = lake.project
    config = emr_config(project)
    make = clients or (lambda service: s3_client(lake) if service == "s3" else aws_client(lake, service))
    emr, iam, s3 = make("emr-serverless"), make("iam"), make("s3")
    results = []

    def application() -> str:
        app = emr.get_application(applicationId=config.application_id)["application"]
        state, label = app["state"], app.get("releaseLabel", "")
        if state not in USABLE_STATES:
            raise RuntimeError(f"state {state}: takes no job runs")
        note = f"; release {label} differs from aws.emr_serverless.release_label {config.release_label}" \
            if label and label != config.release_label else ""
        return f"{app.get('type', '')} application {app.get('name', '')!r}, state {state}, release {label}{note}"

    results.append(_probe("EMR Serverless application", config.application_id, application,
                          f"aws emr-serverless create-application --type SPARK --release-label {config.release_label} "
                          f"--name lakemend, then set aws.emr_serverless.application_id"))
    results += reachable(project)
    role = config.execution_role_arn.rsplit("/", 1)[-1]
    results.append(_probe("job execution role", config.execution_role_arn,
                          lambda: f"role {iam.get_role(RoleName=role)['Role']['RoleName']} exists",
                          "create the role with the trust policy and permissions in docs/aws.md (Least privilege)"))
    buckets: dict[str, str] = {}
    for label, uri in (("artifacts", config.artifacts), ("logs", config.log_uri), ("warehouse", project.config.warehouse),
                       ("landing", project.config.raw)):
        if uri.startswith("s3://"):
            buckets.setdefault(split_s3(uri)[0], label)
    for bucket, label in buckets.items():
        results.append(_probe(f"S3 bucket ({label})", f"s3://{bucket}", lambda b=bucket: s3.head_bucket(Bucket=b) and "",
                              f"aws s3 mb s3://{bucket}"))
    where = artifacts(project)
    for name, uri in (("entry point", where.entry), ("environment", where.environment), ("project files", where.project)):
        bucket, key = split_s3(uri)
        results.append(_probe(f"artifact: {name}", uri,
                              lambda b=bucket, k=key: f"{s3.head_object(Bucket=b, Key=k)['ContentLength']} bytes",
                              "lakemend aws package"))
    if project.config.catalog.type == "glue":
        glue = make("glue")
        for database in DATABASES:
            results.append(_probe("Glue database", database,
                                  lambda d=database: glue.get_database(Name=d) and "",
                                  f"aws glue create-database --database-input Name={database}"))
    return results
