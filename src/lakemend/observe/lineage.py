"""OpenLineage sink: every partition job becomes a START and then a COMPLETE or FAIL RunEvent.

One OpenLineage run is one partition job (table, day). Its run id is a uuid5 of (lakemend run
id, table, day), so START and COMPLETE of a job share it without any state kept between the two
calls, and the same job always maps to the same OpenLineage run. The job is ``<command>.<table>``
(``backfill.silver.orders_clean``) in ``lineage.namespace``; datasets live in the namespace
``lakemend://<project name>`` under their qualified names (bronze inputs are the landing files,
``landing/<path pattern>``).

Transports (``lineage.transport`` in lakemend.yaml):

- ``file`` (default): one JSON line per event appended to ``<lineage.path>/<partition day>.jsonl``,
  so one file answers "what touched this day" (``lakemend lineage --date D`` reads it, through
  :mod:`lakemend.observe.lineage_read`);
- ``http``: POST to ``lineage.url`` (an OpenLineage endpoint such as Marquez) with the client's
  HttpTransport, short timeout and few retries;
- ``cloudwatch``: ``put_log_events`` into ``lineage.log_group``, one stream per lakemend run; the
  partition day is in every message, so ``aws logs filter-log-events --filter-pattern "<day>"``
  finds that day's events.

Reasons and errors pass through the log redactor, so no secret ends up in a lineage event.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    InputDatasetFacet,
    OutputDatasetFacet,
    RunFacet,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    processing_engine_run,
)
from openlineage.client.serde import Serde

from lakemend import __version__
from lakemend.observe.aws import client as aws_client
from lakemend.observe.events import InputRead, JobEvent, Notice, SinkError
from lakemend.observe.lineage_read import day_file, job_run_id
from lakemend.observe.lineage_read import read_day as read_day  # noqa: F401 - still imported from here by cli/lineage.py
from lakemend.observe.logs import append_private, epoch_ms
from lakemend.observe.redact import Redactor

if TYPE_CHECKING:
    from lakemend.lake import Lake

PRODUCER = f"urn:lakemend:{__version__}"
"""The ``producer`` of every event and facet (a URI, as the spec asks; lakemend has no public URL)."""
FACET_SCHEMA_BASE = "urn:lakemend:spec:facets:1-0-0"
"""Base of the ``_schemaURL`` of lakemend's own facets; their schemas are :data:`FACET_SCHEMAS`."""
Redact = Callable[[str], str]
_STATES = {"START": RunState.START, "COMPLETE": RunState.COMPLETE, "FAIL": RunState.FAIL}


# ----- lakemend's own facets ------------------------------------------------------------------------


@attr.define
class LakemendRunFacet(RunFacet):
    """The lakemend side of the run: which lakemend run, why, which partition, the ledger's numbers."""

    runId: str  # noqa: N815 - OpenLineage's camelCase
    command: str
    layer: str
    table: str
    day: str
    reason: str | None = None
    incident: str | None = None
    source: str | None = None
    user: str | None = None
    host: str | None = None
    rowsRead: int | None = None  # noqa: N815
    rowsWritten: int | None = None  # noqa: N815
    rowsQuarantined: int | None = None  # noqa: N815
    rowsDeduplicated: int | None = None  # noqa: N815
    snapshotBefore: int | None = None  # noqa: N815
    snapshotAfter: int | None = None  # noqa: N815
    seconds: float | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACET_SCHEMA_BASE}:LakemendRunFacet.json#/$defs/LakemendRunFacet"


@attr.define
class LakemendInputFacet(InputDatasetFacet):
    """Which days of the input the job read (``firstDay`` absent: every day up to ``lastDay``)."""

    lastDay: str  # noqa: N815
    firstDay: str | None = None  # noqa: N815
    snapshotId: int | None = None  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{FACET_SCHEMA_BASE}:LakemendInputFacet.json#/$defs/LakemendInputFacet"


@attr.define
class LakemendOutputFacet(OutputDatasetFacet):
    """The partition the job wrote, and the table's snapshot before and after its publish."""

    day: str
    snapshotBefore: int | None = None  # noqa: N815
    snapshotAfter: int | None = None  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{FACET_SCHEMA_BASE}:LakemendOutputFacet.json#/$defs/LakemendOutputFacet"


def _facet_schema(name: str, base: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{FACET_SCHEMA_BASE}:{name}.json",
        "$defs": {name: {"allOf": [
            {"$ref": f"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{base}"},
            {"type": "object", "properties": properties, "required": required},
        ]}},
        "type": "object",
    }


_DAY = {"type": "string", "format": "date"}
_INT = {"type": "integer"}
_TEXT = {"type": "string"}
FACET_SCHEMAS: dict[str, dict[str, Any]] = {
    "LakemendRunFacet": _facet_schema("LakemendRunFacet", "RunFacet", {
        "runId": _TEXT, "command": _TEXT, "layer": {"enum": ["bronze", "silver", "gold"]}, "table": _TEXT, "day": _DAY,
        "reason": _TEXT, "incident": _TEXT, "source": _TEXT, "user": _TEXT, "host": _TEXT, "rowsRead": _INT,
        "rowsWritten": _INT, "rowsQuarantined": _INT, "rowsDeduplicated": _INT, "snapshotBefore": _INT,
        "snapshotAfter": _INT, "seconds": {"type": "number"},
    }, ["runId", "command", "layer", "table", "day"]),
    "LakemendInputFacet": _facet_schema("LakemendInputFacet", "InputDatasetFacet", {
        "firstDay": _DAY, "lastDay": _DAY, "snapshotId": _INT}, ["lastDay"]),
    "LakemendOutputFacet": _facet_schema("LakemendOutputFacet", "OutputDatasetFacet", {
        "day": _DAY, "snapshotBefore": _INT, "snapshotAfter": _INT}, ["day"]),
}
"""JSON Schemas of lakemend's facets (what their ``_schemaURL`` names), for consumers and tests."""


# ----- building events -----------------------------------------------------------------------------


def dataset_namespace(project_name: str) -> str:
    return f"lakemend://{quote(project_name, safe='')}"


def job_name(event: JobEvent) -> str:
    """Stable per command and table (``run.silver.orders_clean``); the day is a property of the run."""
    return f"{event.command}.{event.table}"


def _iso(at: dt.datetime) -> str:
    aware = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    return aware.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _midnight(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


@functools.cache
def _who() -> tuple[str, str]:
    from lakemend.state.store import whoami

    return whoami()


@functools.cache
def _openlineage_version() -> str:
    from importlib.metadata import version

    return version("openlineage-python")


_INCIDENTS: dict[str, str | None] = {}


def _incident(lake: Lake, event: JobEvent) -> str | None:
    """The incident(s) open when the run's first event was seen (lakemend links runs to incidents
    by time); looked up once per run, not per event."""
    if event.extra.get("incident"):
        return str(event.extra["incident"])
    if event.run_id not in _INCIDENTS:
        from lakemend.state.incidents import list_incidents

        try:
            ids = [i.id for i in list_incidents(lake.state, "open")]
        except Exception:  # noqa: BLE001 - lineage without the incident is still lineage
            ids = []
        if len(_INCIDENTS) > 256:
            _INCIDENTS.clear()
        _INCIDENTS[event.run_id] = ", ".join(ids) or None
    return _INCIDENTS[event.run_id]


def _input(namespace: str, read: InputRead) -> InputDataset:
    facets: dict[str, Any] = {}
    if read.snapshot_id is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(read.snapshot_id), producer=PRODUCER)
    days = LakemendInputFacet(lastDay=read.last_day.isoformat(),
                              firstDay=read.first_day.isoformat() if read.first_day else None,
                              snapshotId=read.snapshot_id, producer=PRODUCER)
    return InputDataset(namespace=namespace, name=read.table, facets=facets, inputFacets={"lakemend": days})


def _output(namespace: str, event: JobEvent) -> OutputDataset:
    facets: dict[str, Any] = {}
    output_facets: dict[str, Any] = {"lakemend": LakemendOutputFacet(
        day=event.day.isoformat(), snapshotBefore=event.snapshot_before,
        snapshotAfter=event.snapshot_after if event.kind == "COMPLETE" else None, producer=PRODUCER)}
    if event.kind == "COMPLETE":
        if event.snapshot_after is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(event.snapshot_after), producer=PRODUCER)
        output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=event.rows_written, producer=PRODUCER)
    return OutputDataset(namespace=namespace, name=event.table, facets=facets, outputFacets=output_facets)


def to_run_event(lake: Lake, event: JobEvent, redact: Redact | None = None) -> RunEvent:
    """The OpenLineage RunEvent of a lakemend job event; ``redact`` cleans the free text (reason, error)."""
    clean: Redact = redact or (lambda text: text)
    done = event.kind != "START"
    user, host = _who()
    run_facets: dict[str, Any] = {
        "lakemend": LakemendRunFacet(
            runId=event.run_id, command=event.command, layer=event.layer, table=event.table, day=event.day.isoformat(),
            reason=clean(event.reason) if event.reason else None, incident=_incident(lake, event), source=event.source,
            user=user, host=host, rowsRead=event.rows_read if done else None,
            rowsWritten=event.rows_written if done else None, rowsQuarantined=event.rows_quarantined if done else None,
            rowsDeduplicated=event.rows_deduplicated if done else None, snapshotBefore=event.snapshot_before,
            snapshotAfter=event.snapshot_after if done else None, seconds=round(event.seconds, 3) if done else None,
            producer=PRODUCER),
        "nominalTime": nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=_midnight(event.day), nominalEndTime=_midnight(event.day + dt.timedelta(days=1)),
            producer=PRODUCER),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=__version__, name="lakemend", openlineageAdapterVersion=_openlineage_version(),
            producer=PRODUCER),
    }
    if event.kind == "FAIL":
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=clean(event.error or "the job failed"), programmingLanguage="PYTHON", producer=PRODUCER)
    namespace = dataset_namespace(lake.project.config.name)
    return RunEvent(
        eventType=_STATES[event.kind],
        eventTime=_iso(event.at),
        run=Run(runId=job_run_id(event.run_id, event.table, event.day), facets=run_facets),
        job=Job(namespace=lake.project.config.lineage.namespace, name=job_name(event), facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="LAKEMEND", jobType="PARTITION", producer=PRODUCER),
        }),
        inputs=[_input(namespace, read) for read in event.inputs],
        outputs=[_output(namespace, event)],
        producer=PRODUCER,
    )


def to_json(run_event: RunEvent) -> str:
    """One line of JSON, as every transport sends it."""
    return Serde.to_json(run_event)


# ----- the sink ---------------------------------------------------------------------------------------


def handle(lake: Lake, event: JobEvent | Notice) -> None:
    """Send the job event as an OpenLineage RunEvent to the configured transport (notices: nothing)."""
    if not isinstance(event, JobEvent) or event.kind not in _STATES:
        return
    config = lake.project.config.lineage
    redactor = Redactor.for_project(lake.project)
    run_event = to_run_event(lake, event, redactor.text)
    if config.transport == "file":
        append_line(day_file(lake.project, event.day), to_json(run_event))
    elif config.transport == "http":
        _post(config.url, run_event, redactor.text)
    else:
        _put_log_event(lake, config.log_group, event, to_json(run_event), redactor.text)


# ----- file transport ---------------------------------------------------------------------------------

_WRITE_LOCK = threading.Lock()


def append_line(path: Path, line: str) -> None:
    """One ``write`` of a whole line with O_APPEND: parallel jobs (threads or processes) never
    interleave inside a line."""
    data = (line + "\n").encode("utf-8")
    with _WRITE_LOCK:
        append_private(path, data)  # 0600 in 0700 folders: who ran what, and why


# ----- http transport ---------------------------------------------------------------------------------

_TRANSPORTS: dict[str, Any] = {}
_TRANSPORTS_LOCK = threading.Lock()


def _post(url: str | None, run_event: RunEvent, redact: Redact) -> None:
    if not url:
        raise SinkError("lineage.transport is http but lineage.url is not set in lakemend.yaml")
    with _TRANSPORTS_LOCK:
        transport = _TRANSPORTS.get(url)
        if transport is None:
            from openlineage.client.transport.http import HttpConfig, HttpTransport

            # endpoint "": lineage.url is the full endpoint URL (e.g. http://marquez:5000/api/v1/lineage)
            retry = {"total": 2, "read": 2, "connect": 2, "backoff_factor": 0.3,
                     "status_forcelist": [500, 502, 503, 504], "allowed_methods": ["HEAD", "POST"]}
            transport = _TRANSPORTS[url] = HttpTransport(HttpConfig(url=url, endpoint="", timeout=5.0, retry=retry))
    try:
        transport.emit(run_event)
    except Exception as exc:  # noqa: BLE001 - re-raised without secrets
        raise SinkError(f"OpenLineage POST to {redact(url)}: {redact(f'{type(exc).__name__}: {exc}')}") from None


# ----- cloudwatch transport ---------------------------------------------------------------------------

_READY_STREAMS: set[tuple[str | None, str, str]] = set()
_STREAM_NAME = re.compile(r"[:*]")


def _put_log_event(lake: Lake, group: str, event: JobEvent, message: str, redact: Redact) -> None:
    logs = aws_client(lake, "logs")
    stream = _STREAM_NAME.sub("-", event.run_id)
    key = (lake.project.config.aws.endpoint_url, group, stream)
    record = [{"timestamp": epoch_ms(event.at), "message": message}]
    try:
        if key not in _READY_STREAMS:
            _ensure_stream(logs, group, stream)
            _READY_STREAMS.add(key)
        try:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=record)
        except logs.exceptions.ResourceNotFoundException:  # group or stream deleted since: make them again
            _ensure_stream(logs, group, stream)
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=record)
    except Exception as exc:  # noqa: BLE001 - re-raised without secrets
        _READY_STREAMS.discard(key)
        raise SinkError(f"CloudWatch Logs {group}/{stream}: {redact(f'{type(exc).__name__}: {exc}')}") from None


def _ensure_stream(logs: Any, group: str, stream: str) -> None:
    for create, args in ((logs.create_log_group, {"logGroupName": group}),
                         (logs.create_log_stream, {"logGroupName": group, "logStreamName": stream})):
        try:
            create(**args)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
