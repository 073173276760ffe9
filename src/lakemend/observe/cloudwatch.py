"""CloudWatch metrics sink: ``put_metric_data`` of the runbook's metrics after each job event.

Enabled by ``metrics.cloudwatch.put_metric_data: true``. START → BackfillJobsStarted;
COMPLETE → BackfillJobsSucceeded + BackfillDurationSeconds; FAIL → BackfillJobsFailed +
BackfillDurationSeconds; dimensions layer, table, source. Failures raise (redacted); the
dispatcher reports them on stderr and the job carries on.

Also home of :func:`client`, the one place AWS clients are made (``aws.endpoint_url`` and
``aws.region`` of lakemend.yaml; short timeouts so an unreachable endpoint cannot stall jobs).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from lakemend.observe import JobEvent, Notice
from lakemend.observe.logs import JOB_KINDS, Redactor, SinkError, dimensions, emf_values

if TYPE_CHECKING:
    from lakemend.lake import Lake

_CLIENTS: dict[tuple[str, str | None, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def client(lake: Lake, service: str) -> Any:
    """A cached boto3 client for ``service``; boto3 is imported only when a sink needs it.

    Clients are thread-safe once made, but making them from the default session is not, hence
    the lock and one private session per client.
    """
    aws = lake.project.config.aws
    key = (service, aws.endpoint_url, aws.region)
    with _CLIENTS_LOCK:
        made = _CLIENTS.get(key)
        if made is None:
            import boto3
            from botocore.config import Config

            settings = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})
            made = boto3.session.Session().client(service, endpoint_url=aws.endpoint_url, region_name=aws.region,
                                                  config=settings)
            _CLIENTS[key] = made
    return made


def metric_data(event: JobEvent) -> list[dict[str, Any]]:
    """The MetricData of one job event."""
    dims = [{"Name": name, "Value": value} for name, value in dimensions(event).items()]
    at = event.at if event.at.tzinfo is not None else event.at.replace(tzinfo=dt.UTC)
    return [{"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": float(value), "Unit": unit}
            for name, unit, value in emf_values(event)]


def handle(lake: Lake, event: JobEvent | Notice) -> None:
    settings = lake.project.config.metrics.cloudwatch
    if settings is None or not settings.put_metric_data:
        return
    if not isinstance(event, JobEvent) or event.kind not in JOB_KINDS:
        return
    try:
        client(lake, "cloudwatch").put_metric_data(Namespace=settings.namespace, MetricData=metric_data(event))
    except Exception as exc:  # noqa: BLE001 - re-raised without secrets (endpoint URLs, keys in messages)
        message = Redactor.for_project(lake.project).text(f"{type(exc).__name__}: {exc}")
        raise SinkError(f"CloudWatch put_metric_data to {settings.namespace}: {message}") from None
