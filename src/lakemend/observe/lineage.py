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
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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
RunEvent = dict[str, Any]
"""An OpenLineage RunEvent as the JSON document every transport sends (``None`` values left out)."""
_STATES = ("START", "COMPLETE", "FAIL")

# The events are plain dicts, not openlineage-python's classes: importing that client costs
# 0.15-0.25 s of CPU (it loads every transport, httpx among them), and the file transport — the
# default — needs none of it; only the http transport imports it. These are the schema URLs openlineage-python 1.54 gives its classes
# (spec 2-0-2); tests/cli/test_startup.py checks them against the installed client, and
# tests/observe/test_lineage.py every event against the spec's JSON Schemas.
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
OPENLINEAGE_FACETS = {
    "DatasetVersionDatasetFacet": "1-0-1",
    "ErrorMessageRunFacet": "1-0-1",
    "JobTypeJobFacet": "2-0-4",
    "NominalTimeRunFacet": "1-0-1",
    "OutputStatisticsOutputDatasetFacet": "1-0-2",
    "ProcessingEngineRunFacet": "1-1-1",
}
"""OpenLineage facet → the version of its schema (its ``_schemaURL``)."""


def _facet(facet: str, /, **fields: Any) -> dict[str, Any]:
    """A facet: its fields without the ``None`` ones, ``_producer`` and ``_schemaURL``."""
    if facet in OPENLINEAGE_FACETS:
        schema = f"https://openlineage.io/spec/facets/{OPENLINEAGE_FACETS[facet]}/{facet}.json#/$defs/{facet}"
    else:  # one of lakemend's own (FACET_SCHEMAS)
        schema = f"{FACET_SCHEMA_BASE}:{facet}.json#/$defs/{facet}"
    return {"_producer": PRODUCER, "_schemaURL": schema, **{k: v for k, v in fields.items() if v is not None}}


# ----- lakemend's own facets ------------------------------------------------------------------------
# LakemendRunFacet: the lakemend side of the run — which lakemend run, why, which partition, the
# ledger's numbers. LakemendInputFacet: which days of the input the job read (``firstDay`` absent:
# every day up to ``lastDay``). LakemendOutputFacet: the partition the job wrote, and the table's
# snapshot before and after its publish.


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


def _input(namespace: str, read: InputRead) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if read.snapshot_id is not None:
        facets["version"] = _facet("DatasetVersionDatasetFacet", datasetVersion=str(read.snapshot_id))
    days = _facet("LakemendInputFacet", lastDay=read.last_day.isoformat(),
                  firstDay=read.first_day.isoformat() if read.first_day else None, snapshotId=read.snapshot_id)
    return {"namespace": namespace, "name": read.table, "facets": facets, "inputFacets": {"lakemend": days}}


def _output(namespace: str, event: JobEvent) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    output_facets: dict[str, Any] = {"lakemend": _facet(
        "LakemendOutputFacet", day=event.day.isoformat(), snapshotBefore=event.snapshot_before,
        snapshotAfter=event.snapshot_after if event.kind == "COMPLETE" else None)}
    if event.kind == "COMPLETE":
        if event.snapshot_after is not None:
            facets["version"] = _facet("DatasetVersionDatasetFacet", datasetVersion=str(event.snapshot_after))
        output_facets["outputStatistics"] = _facet("OutputStatisticsOutputDatasetFacet", rowCount=event.rows_written)
    return {"namespace": namespace, "name": event.table, "facets": facets, "outputFacets": output_facets}


def to_run_event(lake: Lake, event: JobEvent, redact: Redact | None = None) -> RunEvent:
    """The OpenLineage RunEvent of a lakemend job event; ``redact`` cleans the free text (reason, error)."""
    clean: Redact = redact or (lambda text: text)
    done = event.kind != "START"
    user, host = _who()
    run_facets: dict[str, Any] = {
        "lakemend": _facet(
            "LakemendRunFacet",
            runId=event.run_id, command=event.command, layer=event.layer, table=event.table, day=event.day.isoformat(),
            reason=clean(event.reason) if event.reason else None, incident=_incident(lake, event), source=event.source,
            user=user, host=host, rowsRead=event.rows_read if done else None,
            rowsWritten=event.rows_written if done else None, rowsQuarantined=event.rows_quarantined if done else None,
            rowsDeduplicated=event.rows_deduplicated if done else None, snapshotBefore=event.snapshot_before,
            snapshotAfter=event.snapshot_after if done else None, seconds=round(event.seconds, 3) if done else None),
        "nominalTime": _facet(
            "NominalTimeRunFacet",
            nominalStartTime=_midnight(event.day), nominalEndTime=_midnight(event.day + dt.timedelta(days=1))),
        "processing_engine": _facet(
            "ProcessingEngineRunFacet",
            version=__version__, name="lakemend", openlineageAdapterVersion=_openlineage_version()),
    }
    if event.kind == "FAIL":
        run_facets["errorMessage"] = _facet(
            "ErrorMessageRunFacet", message=clean(event.error or "the job failed"), programmingLanguage="PYTHON")
    namespace = dataset_namespace(lake.project.config.name)
    return {
        "eventType": event.kind,
        "eventTime": _iso(event.at),
        "run": {"runId": job_run_id(event.run_id, event.table, event.day), "facets": run_facets},
        "job": {"namespace": lake.project.config.lineage.namespace, "name": job_name(event), "facets": {
            "jobType": _facet("JobTypeJobFacet", processingType="BATCH", integration="LAKEMEND", jobType="PARTITION"),
        }},
        "inputs": [_input(namespace, read) for read in event.inputs],
        "outputs": [_output(namespace, event)],
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
    }


def to_json(run_event: RunEvent) -> str:
    """One line of JSON, as every transport sends it (openlineage-python's ``Serde.to_json``: sorted keys)."""
    return json.dumps(run_event, sort_keys=True, default=_plain)


def _plain(value: object) -> object:
    """What ``Serde`` makes of a value JSON cannot hold: a numpy ``int64`` (a count) as an int."""
    if type(value).__name__ == "int64":
        return int(value)  # type: ignore[call-overload]
    return f"<<non-serializable: {type(value).__qualname__}>>"


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
        transport.emit(run_event)  # the client serialises a dict as it does its own RunEvent (Serde.to_json)
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
