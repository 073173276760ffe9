"""``engine: emr-serverless``: partition jobs carried out as EMR Serverless job runs.

The runner still decides what to build and every (table, day) still goes through
:class:`~lakemend.ops.job.partition_job` — ledger row, lease, metrics, events — but the work
inside is remote: the planned days of one table are grouped into runs of consecutive days (a
*unit*), and each unit becomes one ``StartJobRun`` whose entry point
(:mod:`lakemend.ops.remote_entry`, uploaded by ``lakemend aws package``) builds those days with
engine ``spark`` on the cluster. lakemend polls the job run to a terminal state with capped
exponential backoff, cancels it on Ctrl-C or when another writer took a lease of the unit,
records the job-run id and its S3 log folder on each job's ledger row, and fails every job of
the unit when the run ends FAILED, CANCELLED or out of time. After SUCCESS the published days
are read back from the catalog and recorded like a local build (input key, files key,
snapshot, landing fingerprints), so the next ``run`` sees them up to date.

The request is a plain dict (:func:`job_run_request`): ``--dry-run`` prints exactly what
would be sent, and tests compare it with what moto_server received.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from lakemend.dates import to_ranges
from lakemend.errors import ConfigError, LakemendError
from lakemend.lake import Lake
from lakemend.ops.job import JobResult, PartitionJob, partition_job
from lakemend.ops.workers import in_threads
from lakemend.project.config import EmrServerlessConfig
from lakemend.project.project import Project, TableSpec
from lakemend.state import leases
from lakemend.state.guard import StateUnavailable

TERMINAL = ("SUCCESS", "FAILED", "CANCELLED")
TIMED_OUT = "TIMED_OUT"
"""Not an EMR state: lakemend's own deadline passed (the run is cancelled then)."""
THROTTLED = ("ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "ServiceUnavailable",
             "ServiceUnavailableException", "InternalServerException", "InternalServerError")
EMR_ICEBERG_JAR = "/usr/share/aws/iceberg/lib/iceberg-spark3-runtime.jar"
"""The Iceberg Spark runtime EMR ships on every release 6.9+ (so no jar is uploaded)."""
LOCAL_ONLY_CONF = ("spark.master", "spark.driver.bindAddress", "spark.driver.host", "spark.jars", "spark.jars.packages",
                   "spark.jars.ivy", "spark.ui.enabled", "spark.sql.shuffle.partitions")
"""Settings of the local session that EMR decides itself (and local jar paths mean nothing there)."""
SECRET_MARKERS = ("secret", "access-key", "session-token", "password", "token")
ENV_PYTHON = "./environment/bin/python"


class RemoteJobFailed(LakemendError):
    """An EMR Serverless job run ended FAILED, CANCELLED or out of time."""


class Stopped(LakemendError):
    """A job run was cancelled (or not started) because lakemend must stop waiting for it."""


class LeaseLost(Stopped):
    """Another writer holds a partition of a unit whose job run is still running."""


# ----- configuration and artifacts ------------------------------------------------------------
def emr_config(project: Project) -> EmrServerlessConfig:
    config = project.config.aws.emr_serverless
    if config is None:
        raise ConfigError("engine emr-serverless needs aws.emr_serverless in lakemend.yaml",
                          "add application_id, execution_role_arn, artifacts and log_uri (see docs/aws.md)")
    return config


@dataclass(frozen=True)
class Artifacts:
    """Where ``lakemend aws package`` puts what a job run needs, under ``aws.emr_serverless.artifacts``."""

    root: str

    @property
    def entry(self) -> str:
        return f"{self.root}/entry.py"

    @property
    def environment(self) -> str:
        return f"{self.root}/env.tar.gz"

    @property
    def project(self) -> str:
        return f"{self.root}/project.zip"

    @property
    def manifest(self) -> str:
        return f"{self.root}/manifest.json"


def artifacts(project: Project) -> Artifacts:
    return Artifacts(emr_config(project).artifacts)


def log_uri(project: Project, run_id: str) -> str:
    """The S3 folder a run's job runs log to: ``<log_uri>/<run_id>/``."""
    return f"{emr_config(project).log_uri}/{run_id}/"


# ----- units ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One table over consecutive days: one job run."""

    spec: TableSpec
    jobs: tuple[PartitionJob, ...]

    @property
    def days(self) -> tuple[dt.date, ...]:
        return tuple(job.day for job in self.jobs)


def units_of(jobs: list[PartitionJob]) -> list[Unit]:
    """The jobs grouped by table (in first-seen order) and split where a day is missing (:func:`day_runs`)."""
    by_table: dict[str, dict[dt.date, PartitionJob]] = {}
    for job in jobs:
        by_table.setdefault(job.spec.qualified, {})[job.day] = job
    return [Unit(group[run[0]].spec, tuple(group[day] for day in run))
            for group in by_table.values() for run in day_runs(list(group))]


def day_runs(days: list[dt.date]) -> list[list[dt.date]]:
    """Days split into runs of consecutive days (sorted, duplicates dropped): ``dates.to_ranges``, each range's days."""
    return [[first + dt.timedelta(days=n) for n in range((last - first).days + 1)] for first, last in to_ranges(days)]


# ----- the request ----------------------------------------------------------------------------
def _spark_conf(project: Project) -> dict[str, str]:
    """The session settings of ``engines/spark.spark_conf`` that make sense on EMR (no secrets)."""
    try:
        from lakemend.engines.spark import spark_conf
    except ImportError:  # pragma: no cover - the Spark engine is part of lakemend; guard for partial installs
        raise ConfigError("the Spark engine (lakemend.engines.spark) is not available",
                          "install lakemend with its Spark support") from None
    conf = {}
    for key, value in spark_conf(project, local=False).items():
        lowered = key.lower()
        if key in LOCAL_ONLY_CONF or any(marker in lowered for marker in SECRET_MARKERS):
            continue
        conf[key] = str(value)
    return conf


def spark_submit_parameters(project: Project) -> str:
    """``--conf`` settings (Iceberg + catalog), the packed environment, then the user's extras."""
    config, where = emr_config(project), artifacts(project)
    conf = {"spark.jars": EMR_ICEBERG_JAR, **_spark_conf(project),
            "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": ENV_PYTHON,
            "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": ENV_PYTHON,
            "spark.executorEnv.PYSPARK_PYTHON": ENV_PYTHON}
    parts = [f"--archives {shlex.quote(where.environment + '#environment')}"]
    parts += [f"--conf {shlex.quote(f'{key}={value}')}" for key, value in conf.items()]
    if config.spark_submit_parameters.strip():
        parts.append(config.spark_submit_parameters.strip())
    return " ".join(parts)


def job_run_name(table: str, days: tuple[dt.date, ...], run_id: str) -> str:
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]}..{days[-1]}"
    return f"lakemend {run_id} {table} {span}"[:256]


def job_run_request(project: Project, *, table: str, days: tuple[dt.date, ...], run_id: str, command: str,
                    reason: str | None) -> dict[str, Any]:
    """The ``StartJobRun`` parameters of one unit, exactly as sent (``--dry-run`` prints this)."""
    config, where = emr_config(project), artifacts(project)
    arguments = ["--project-archive", where.project, "--table", table, "--days", ",".join(d.isoformat() for d in days),
                 "--run-id", run_id, "--command", command, "--reason", reason or ""]
    if project.profile:
        arguments += ["--profile", project.profile]
    token = hashlib.sha256(f"{run_id}|{table}|{arguments[5]}".encode()).hexdigest()[:48]
    return {
        "applicationId": config.application_id,
        "clientToken": token,
        "executionRoleArn": config.execution_role_arn,
        "name": job_run_name(table, days, run_id),
        "jobDriver": {"sparkSubmit": {
            "entryPoint": where.entry,
            "entryPointArguments": arguments,
            "sparkSubmitParameters": spark_submit_parameters(project),
        }},
        "configurationOverrides": {"monitoringConfiguration": {
            "s3MonitoringConfiguration": {"logUri": log_uri(project, run_id)},
        }},
        "executionTimeoutMinutes": config.timeout_minutes,
        "tags": {"lakemend:run-id": run_id, "lakemend:table": table},
    }


def planned_requests(project: Project, partitions: list[tuple[str, dt.date]], *, run_id: str, command: str,
                     reason: str | None) -> list[dict[str, Any]]:
    """The requests a plan's partitions would be sent as (one per table and run of days); calls nothing."""
    by_table: dict[str, list[dt.date]] = {}
    for table, day in partitions:
        by_table.setdefault(table, []).append(day)
    return [job_run_request(project, table=table, days=tuple(run), run_id=run_id, command=command, reason=reason)
            for table, days in by_table.items() for run in day_runs(days)]


# ----- polling --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PollPolicy:
    """How often to ask: ``first`` seconds, times ``factor`` after each ask, at most ``cap``."""

    first: float = 2.0
    factor: float = 1.6
    cap: float = 60.0
    timeout_seconds: float = 125 * 60.0
    """lakemend's own deadline (EMR's executionTimeoutMinutes plus a margin for queueing)."""
    throttle_retries: int = 8
    """Consecutive throttled or 5xx answers tolerated before giving up."""

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.cap)


def policy_for(project: Project) -> PollPolicy:
    return PollPolicy(timeout_seconds=(emr_config(project).timeout_minutes + 5) * 60.0)


@dataclass
class Outcome:
    job_run_id: str
    state: str
    details: str = ""
    seconds: float = 0.0
    states: list[str] = field(default_factory=list)
    """Every state seen, in order (repeats collapsed)."""

    @property
    def succeeded(self) -> bool:
        return self.state == "SUCCESS"


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def cancel(client: Any, application_id: str, job_run_id: str) -> None:
    """Cancel a job run; one that already ended (or vanished) is left as it is."""
    try:
        client.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)
    except Exception as exc:  # noqa: BLE001 - best effort on the way out; the state is read back by the caller
        if _error_code(exc) not in ("ValidationException", "ResourceNotFoundException"):
            raise


def wait_for(client: Any, application_id: str, job_run_id: str, policy: PollPolicy, *,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
             lost: Callable[[], str | None] = lambda: None) -> Outcome:
    """Poll ``get_job_run`` until SUCCESS, FAILED or CANCELLED.

    Throttling and 5xx answers are retried (``policy.throttle_retries`` in a row); past
    ``policy.timeout_seconds`` the run is cancelled and the outcome is TIMED_OUT. ``lost()``
    returning a reason (another writer took a lease) or Ctrl-C cancels the run and raises.
    """
    started = clock()
    outcome = Outcome(job_run_id, "SUBMITTED")
    delays = policy.delays()
    throttled = 0
    try:
        while True:
            try:
                run = client.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"]
            except Exception as exc:
                if _error_code(exc) not in THROTTLED or throttled >= policy.throttle_retries:
                    raise
                throttled += 1
            else:
                throttled = 0
                outcome.state, outcome.details = run["state"], run.get("stateDetails", "") or ""
                if not outcome.states or outcome.states[-1] != outcome.state:
                    outcome.states.append(outcome.state)
                if outcome.state in TERMINAL:
                    outcome.seconds = clock() - started
                    return outcome
            reason = lost()
            if reason:
                cancel(client, application_id, job_run_id)
                raise LeaseLost(f"job run {job_run_id} cancelled: {reason}",
                                "rerun the command to resume (if another writer took the partition: "
                                "`lakemend runs --status running` shows it)")
            if clock() - started >= policy.timeout_seconds:
                cancel(client, application_id, job_run_id)
                outcome.state, outcome.seconds = TIMED_OUT, clock() - started
                outcome.details = f"still {outcome.states[-1] if outcome.states else 'unknown'} after {policy.timeout_seconds:.0f} s"
                outcome.states.append(TIMED_OUT)
                return outcome
            sleep(next(delays))
    except KeyboardInterrupt:
        cancel(client, application_id, job_run_id)
        raise


# ----- running units --------------------------------------------------------------------------
Started = Callable[[PartitionJob], None]
Done = Callable[[JobResult], None]


@dataclass(frozen=True)
class RemoteRun:
    """What the runner hands over: the run's identity and options."""

    run_id: str
    command: str
    reason: str | None
    force: bool = False
    wait_seconds: float = 0.0
    debug: bool = False
    max_parallel: int = 1
    """Units of one table (runs of days) whose job runs may be running at once."""


def emr_client(lake: Lake) -> Any:
    from lakemend.observe.aws import client

    return client(lake, "emr-serverless")


def run_remote(lake: Lake, jobs: list[PartitionJob], run: RemoteRun, *, started: Started | None = None,
               done: Done | None = None, client: Any = None, policy: PollPolicy | None = None,
               sleep: Callable[[float], None] = time.sleep) -> list[JobResult]:
    """Carry out the jobs of one wave (one table) as job runs: up to ``run.max_parallel`` units at once.

    With several units in flight, Ctrl-C reaches only this thread: it tells the others to stop,
    each cancels its job run, and the interruption is raised once they have.
    """
    client = client if client is not None else emr_client(lake)
    policy = policy or policy_for(lake.project)
    units = units_of(jobs)
    results: list[JobResult] = []

    def collect(unit_results: list[JobResult]) -> None:
        for result in unit_results:
            results.append(result)
            if done:
                done(result)

    if run.max_parallel <= 1 or len(units) <= 1:
        for unit in units:
            collect(run_unit(lake, unit, run, client=client, policy=policy, sleep=sleep, started=started))
        return results
    stop = threading.Event()
    local = threading.local()

    def worker(unit: Unit) -> list[JobResult]:
        if not hasattr(local, "lake"):
            local.lake = Lake(lake.project)
        return run_unit(local.lake, unit, run, client=client, policy=policy, sleep=lambda s: stop.wait(s),
                        started=started, stop=stop)

    in_threads(units, worker, run.max_parallel, name="lakemend-emr", stop=stop.set, each=collect)
    return results


def run_unit(lake: Lake, unit: Unit, run: RemoteRun, *, client: Any, policy: PollPolicy,
             sleep: Callable[[float], None] = time.sleep, started: Started | None = None,
             stop: threading.Event | None = None) -> list[JobResult]:
    """One job run for the unit's days, each day inside its own :class:`partition_job`."""
    lifecycles: list[partition_job] = []
    entered: list[tuple[partition_job, Any]] = []
    try:
        with ExitStack() as stack:
            for job in unit.jobs:
                if started:
                    started(job)
                lifecycle = partition_job(lake, run_id=run.run_id, command=run.command, spec=job.spec, day=job.day,
                                          reason=run.reason, why=job.why, input_key=job.input_key,
                                          check_pause=not run.force, wait_seconds=run.wait_seconds, debug=run.debug)
                lifecycles.append(lifecycle)
                try:
                    entered.append((lifecycle, stack.enter_context(lifecycle)))
                except StateUnavailable:
                    raise
                except Exception:  # noqa: BLE001 - recorded failed by the lifecycle (paused, lease held)
                    continue
            if entered and not (stop and stop.is_set()):
                _run_job(lake, unit, run, entered, client=client, policy=policy, sleep=sleep, stop=stop)
            elif entered:
                raise Stopped("not started: the run was interrupted", "rerun the command to resume")
    except StateUnavailable:
        raise
    except Exception:  # noqa: BLE001 - recorded by each lifecycle; the run goes on with other units
        pass
    return [lifecycle.result for lifecycle in lifecycles]


def _run_job(lake: Lake, unit: Unit, run: RemoteRun, entered: list[tuple[partition_job, Any]], *, client: Any,
             policy: PollPolicy, sleep: Callable[[float], None], stop: threading.Event | None = None) -> None:
    project = lake.project
    days = tuple(lifecycle.day for lifecycle, _ in entered)
    request = job_run_request(project, table=unit.spec.qualified, days=days, run_id=run.run_id, command=run.command,
                              reason=run.reason)
    orphans = cancel_orphans(lake, client, [lifecycle.key for lifecycle, _ in entered], run.run_id, policy, sleep)
    if orphans:
        for _, running in entered:
            running.extra["emr_cancelled_orphans"] = orphans
    response = client.start_job_run(**request)
    job_run_id = response["jobRunId"]
    logs = f"{log_uri(project, run.run_id)}applications/{request['applicationId']}/jobs/{job_run_id}/"
    for lifecycle, running in entered:
        running.extra.update({"emr_job_run_id": job_run_id, "emr_log_uri": logs})
        record_external(lake, lifecycle.job_id, job_run_id, logs)
    keys = [lifecycle.key for lifecycle, _ in entered]

    def lost() -> str | None:
        if stop is not None and stop.is_set():
            return "the run was interrupted (Ctrl-C)"
        held = leases.holders(lake.state, keys, run.run_id)
        return held[0].describe() if held else None

    outcome = wait_for(client, request["applicationId"], job_run_id, policy, sleep=sleep, lost=lost)
    for _, running in entered:
        running.extra["emr_states"] = outcome.states
    if not outcome.succeeded:
        what = "timed out" if outcome.state == TIMED_OUT else outcome.state
        details = f": {outcome.details}" if outcome.details else ""
        span = f"{days[0]}" if len(days) == 1 else f"{days[0]}..{days[-1]}"
        raise RemoteJobFailed(f"EMR Serverless job run {job_run_id} ({span}) {what}{details}",
                              f"read the driver log under {logs}SPARK_DRIVER/stderr.gz, fix, then rerun")
    _record_published(lake, unit, entered, run.run_id, job_run_id)


def cancel_orphans(lake: Lake, client: Any, keys: list[tuple[str, dt.date]], run_id: str, policy: PollPolicy,
                   sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Cancel the job runs an earlier attempt left running on these partitions (its lakemend process
    was killed), and wait until they end, so two job runs never write one partition.

    The caller holds the partitions' leases, so any other attempt's job run on them is orphaned.
    """
    application_id = emr_config(lake.project).application_id
    seen: set[str] = set()
    cancelled = []
    for table, day in keys:
        for row in lake.state.list_jobs(table=table, day=day, limit=50):
            external = row.get("external_id")
            if not external or external in seen or row["run_id"] == run_id or row["status"] == "succeeded":
                continue
            seen.add(external)
            try:
                state = client.get_job_run(applicationId=application_id, jobRunId=external)["jobRun"]["state"]
            except Exception as exc:  # noqa: BLE001 - gone, or another application: nothing to cancel
                if _error_code(exc) in ("ResourceNotFoundException", "ValidationException"):
                    continue
                raise
            if state not in TERMINAL:
                cancel(client, application_id, external)
                wait_for(client, application_id, external, policy, sleep=sleep)
                cancelled.append(external)
    return cancelled


def record_external(lake: Lake, job_id: int, external_id: str, external_log_uri: str) -> None:
    """The job-run id and its log folder on the ledger row (``StateStore.set_job_external``)."""
    lake.state.set_job_external(job_id, external_id, external_log_uri)


def _record_published(lake: Lake, unit: Unit, entered: list[tuple[partition_job, Any]], run_id: str,
                      job_run_id: str) -> None:
    """After SUCCESS: what the cluster published, recorded as a local build would record it."""
    from lakemend.iceberg.files import files_key, partition_counts, published_paths

    qualified = unit.spec.qualified
    table = lake.table(qualified)
    published = published_paths(table)
    counts = partition_counts(table)
    snapshot = table.current_snapshot().snapshot_id if table is not None and table.current_snapshot() else None
    jobs = {job.day: job for job in unit.jobs}
    missing = [lifecycle.day for lifecycle, _ in entered if lifecycle.day not in published]
    if missing:
        raise RemoteJobFailed(f"EMR Serverless job run {job_run_id} succeeded but published no partition for "
                              f"{', '.join(map(str, missing))}", "read the job run's driver log, then rerun")
    for lifecycle, running in entered:
        day, job = lifecycle.day, jobs[lifecycle.day]
        rows = counts.get(day, 0)
        running.result.rows_written = rows
        running.result.snapshot_after = snapshot
        lake.state.record_partition(qualified, day, input_key=job.input_key, files_key=files_key(published[day]),
                                    snapshot_id=snapshot, run_id=run_id, rows=rows, files=published[day])
        if unit.spec.layer == "bronze":
            lake.state.record_fingerprints(qualified, day, job.fingerprints, run_id)
