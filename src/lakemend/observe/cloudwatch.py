"""CloudWatch metrics sink: ``put_metric_data`` of the runbook's metrics after each job event.

Enabled by ``metrics.cloudwatch.put_metric_data: true``. START → BackfillJobsStarted;
COMPLETE → BackfillJobsSucceeded + BackfillDurationSeconds; FAIL → BackfillJobsFailed +
BackfillDurationSeconds; dimensions layer, table, source. Failures raise (redacted); the
dispatcher reports them on stderr and the job carries on.

Also home of the metric values and dimensions of a job event (:func:`emf_values`,
:func:`dimensions`), which the run log writes as Embedded Metric Format lines too.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from lakemend.observe.aws import client
from lakemend.observe.events import JOB_KINDS, JobEvent, Notice, SinkError
from lakemend.observe.redact import Redactor
from lakemend.state.metrics import DURATION, FAILED, STARTED, SUCCEEDED

if TYPE_CHECKING:
    from lakemend.lake import Lake


def emf_values(event: JobEvent) -> list[tuple[str, str, float]]:
    """(metric, unit, value) of a job event, exactly as the runbook names them."""
    if event.kind == "START":
        return [(STARTED, "Count", 1)]
    outcome = SUCCEEDED if event.kind == "COMPLETE" else FAILED
    return [(outcome, "Count", 1), (DURATION, "Seconds", round(event.seconds, 3))]


def dimensions(event: JobEvent) -> dict[str, str]:
    """CloudWatch dimension values must be non-empty strings."""
    return {"layer": event.layer, "table": event.table, "source": event.source or "none"}


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
