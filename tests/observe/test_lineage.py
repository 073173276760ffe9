"""OpenLineage: every event is valid against the spec; one START and one COMPLETE or FAIL per
partition job; `lakemend lineage`; the http and cloudwatch transports."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import threading
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from conftest import START, build
from lakemend.lake import Lake
from lakemend.observe.events import InputRead, JobEvent
from lakemend.observe import lineage

D = dt.date

# The OpenLineage JSON Schemas of the spec version openlineage-python 1.54 emits (core 2-0-2 and
# the standard facets lakemend uses), from spec/ of github.com/OpenLineage/OpenLineage; the
# package ships none. "description" and "example" keywords are dropped (annotations only, no
# effect on validation). A client that emits another spec version fails `_schema_of` below:
# copy that version's files here then.
OPENLINEAGE_SCHEMAS = [
    # https://openlineage.io/spec/2-0-2/OpenLineage.json
    '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://openlineage.io/spec/2-0-2/OpenLinea'
    'ge.json","$defs":{"BaseEvent":{"type":"object","properties":{"eventTime":{"type":"string","format":"date-tim'
    'e"},"producer":{"type":"string","format":"uri"},"schemaURL":{"type":"string","format":"uri"}},"required":["e'
    'ventTime","producer","schemaURL"]},"RunEvent":{"allOf":[{"$ref":"#/$defs/BaseEvent"},{"type":"object","prope'
    'rties":{"eventType":{"type":"string","enum":["START","RUNNING","COMPLETE","ABORT","FAIL","OTHER"]},"run":{"$'
    'ref":"#/$defs/Run"},"job":{"$ref":"#/$defs/Job"},"inputs":{"type":"array","items":{"$ref":"#/$defs/InputData'
    'set"}},"outputs":{"type":"array","items":{"$ref":"#/$defs/OutputDataset"}}},"required":["run","job"]}]},"Dat'
    'asetEvent":{"allOf":[{"$ref":"#/$defs/BaseEvent"},{"type":"object","properties":{"dataset":{"$ref":"#/$defs/'
    'StaticDataset"}},"required":["dataset"],"not":{"required":["job","run"]}}]},"JobEvent":{"allOf":[{"$ref":"#/'
    '$defs/BaseEvent"},{"type":"object","properties":{"job":{"$ref":"#/$defs/Job"},"inputs":{"type":"array","item'
    's":{"$ref":"#/$defs/InputDataset"}},"outputs":{"type":"array","items":{"$ref":"#/$defs/OutputDataset"}}},"re'
    'quired":["job"],"not":{"required":["run"]}}]},"Run":{"type":"object","properties":{"runId":{"type":"string",'
    '"format":"uuid"},"facets":{"type":"object","anyOf":[{"type":"object","additionalProperties":{"$ref":"#/$defs'
    '/RunFacet"}}]}},"required":["runId"]},"RunFacet":{"type":"object","allOf":[{"$ref":"#/$defs/BaseFacet"}]},"J'
    'ob":{"type":"object","properties":{"namespace":{"type":"string"},"name":{"type":"string"},"facets":{"type":"'
    'object","anyOf":[{"type":"object","additionalProperties":{"$ref":"#/$defs/JobFacet"}}]}},"required":["namesp'
    'ace","name"]},"JobFacet":{"type":"object","allOf":[{"$ref":"#/$defs/BaseFacet"},{"type":"object","properties'
    '":{"_deleted":{"type":"boolean"}}}]},"InputDataset":{"type":"object","allOf":[{"$ref":"#/$defs/Dataset"},{"t'
    'ype":"object","properties":{"inputFacets":{"type":"object","anyOf":[{"type":"object","additionalProperties":'
    '{"$ref":"#/$defs/InputDatasetFacet"}}]}}}]},"InputDatasetFacet":{"type":"object","allOf":[{"$ref":"#/$defs/B'
    'aseFacet"}]},"OutputDataset":{"type":"object","allOf":[{"$ref":"#/$defs/Dataset"},{"type":"object","properti'
    'es":{"outputFacets":{"type":"object","anyOf":[{"type":"object","additionalProperties":{"$ref":"#/$defs/Outpu'
    'tDatasetFacet"}}]}}}]},"OutputDatasetFacet":{"type":"object","allOf":[{"$ref":"#/$defs/BaseFacet"}]},"Datase'
    't":{"type":"object","properties":{"namespace":{"type":"string"},"name":{"type":"string"},"facets":{"type":"o'
    'bject","anyOf":[{"type":"object","additionalProperties":{"$ref":"#/$defs/DatasetFacet"}}]}},"required":["nam'
    'espace","name"]},"StaticDataset":{"type":"object","allOf":[{"$ref":"#/$defs/Dataset"}]},"DatasetFacet":{"typ'
    'e":"object","allOf":[{"$ref":"#/$defs/BaseFacet"},{"type":"object","properties":{"_deleted":{"type":"boolean'
    '"}}}]},"BaseFacet":{"type":"object","properties":{"_producer":{"type":"string","format":"uri"},"_schemaURL":'
    '{"type":"string","format":"uri"}},"additionalProperties":true,"required":["_producer","_schemaURL"]}},"oneOf'
    '":[{"$ref":"#/$defs/RunEvent"},{"$ref":"#/$defs/DatasetEvent"},{"$ref":"#/$defs/JobEvent"}]}',
    # https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json
    '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://openlineage.io/spec/facets/1-0-1/Er'
    'rorMessageRunFacet.json","$defs":{"ErrorMessageRunFacet":{"allOf":[{"$ref":"https://openlineage.io/spec/2-0-'
    '2/OpenLineage.json#/$defs/RunFacet"},{"type":"object","properties":{"message":{"type":"string"},"programming'
    'Language":{"type":"string"},"stackTrace":{"type":"string"}},"required":["message","programmingLanguage"]}],"'
    'type":"object"}},"type":"object","properties":{"errorMessage":{"$ref":"#/$defs/ErrorMessageRunFacet"}}}',
    # https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json
    '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://openlineage.io/spec/facets/1-0-2/Ou'
    'tputStatisticsOutputDatasetFacet.json","$defs":{"OutputStatisticsOutputDatasetFacet":{"allOf":[{"$ref":"http'
    's://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/OutputDatasetFacet"},{"type":"object","properties":{"r'
    'owCount":{"type":"integer"},"size":{"type":"integer"},"fileCount":{"type":"integer"}}}]}},"type":"object","p'
    'roperties":{"outputStatistics":{"$ref":"#/$defs/OutputStatisticsOutputDatasetFacet"}}}',
    # https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json
    '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://openlineage.io/spec/facets/1-0-1/Da'
    'tasetVersionDatasetFacet.json","$defs":{"DatasetVersionDatasetFacet":{"allOf":[{"$ref":"https://openlineage.'
    'io/spec/2-0-2/OpenLineage.json#/$defs/DatasetFacet"},{"type":"object","properties":{"datasetVersion":{"type"'
    ':"string"}},"additionalProperties":true,"required":["datasetVersion"]}],"type":"object"}},"type":"object","p'
    'roperties":{"version":{"$ref":"#/$defs/DatasetVersionDatasetFacet"}}}',
    # https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json
    '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://openlineage.io/spec/facets/1-0-1/No'
    'minalTimeRunFacet.json","$defs":{"NominalTimeRunFacet":{"allOf":[{"$ref":"https://openlineage.io/spec/2-0-2/'
    'OpenLineage.json#/$defs/RunFacet"},{"type":"object","properties":{"nominalStartTime":{"type":"string","forma'
    't":"date-time"},"nominalEndTime":{"type":"string","format":"date-time"}},"required":["nominalStartTime"]}],"'
    'type":"object"}},"type":"object","properties":{"nominalTime":{"$ref":"#/$defs/NominalTimeRunFacet"}}}',
    # https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json
    '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://openlineage.io/spec/facets/2-0-4/Jo'
    'bTypeJobFacet.json","$defs":{"JobTypeJobFacet":{"allOf":[{"$ref":"https://openlineage.io/spec/2-0-2/OpenLine'
    'age.json#/$defs/JobFacet"},{"type":"object","properties":{"processingType":{"type":"string"},"integration":{'
    '"type":"string"},"jobType":{"type":"string"},"emissionPattern":{"type":"object","properties":{"eventTrigger"'
    ':{"type":"string"},"eventContentMode":{"type":"string"},"windowDuration":{"type":"integer","minimum":1}},"re'
    'quired":["eventTrigger","eventContentMode"]}},"required":["processingType","integration"]}],"type":"object"}'
    '},"type":"object","properties":{"jobType":{"$ref":"#/$defs/JobTypeJobFacet"}}}',
    # https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json
    '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://openlineage.io/spec/facets/1-1-1/Pr'
    'ocessingEngineRunFacet.json","$defs":{"ProcessingEngineRunFacet":{"allOf":[{"$ref":"https://openlineage.io/s'
    'pec/2-0-2/OpenLineage.json#/$defs/RunFacet"},{"type":"object","properties":{"version":{"type":"string"},"nam'
    'e":{"type":"string"},"openlineageAdapterVersion":{"type":"string"}},"required":["version"]}],"type":"object"'
    '}},"type":"object","properties":{"processing_engine":{"$ref":"#/$defs/ProcessingEngineRunFacet"}}}',
]

FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlparse(value).scheme)


REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema))
    for schema in [json.loads(text) for text in OPENLINEAGE_SCHEMAS] + list(lineage.FACET_SCHEMAS.values())
)


def _schema_of(url: str) -> Draft202012Validator:
    REGISTRY.resolver().lookup(url)  # raises when the schema is not here (another spec version)
    return Draft202012Validator({"$ref": url}, registry=REGISTRY, format_checker=FORMATS)


def assert_valid(event: dict[str, Any]) -> None:
    """The event against its schemaURL (RunEvent), and every facet against its own _schemaURL."""
    assert event["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _schema_of(event["schemaURL"]).iter_errors(event)]
    facets = [event["run"].get("facets", {}), event["job"].get("facets", {})]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        facets += [dataset.get(key, {}) for key in ("facets", "inputFacets", "outputFacets")]
    for group in facets:
        for name, facet in group.items():
            errors += [f"facet {name}: {e.message}" for e in _schema_of(facet["_schemaURL"]).iter_errors(facet)]
    assert not errors, errors


def events_of(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Partition day → its lineage file's events."""
    folder = root / ".lakemend" / "lineage"
    return {path.stem: [json.loads(line) for line in path.read_text().splitlines()] for path in sorted(folder.glob("*.jsonl"))}


def job_event(kind: str, day: D, **values: Any) -> JobEvent:
    return JobEvent(kind=kind, run_id="20251026T031500-a1b2c3", command="backfill", layer="silver",
                    table="silver.orders_clean", day=day, reason="INC-1234: orders export re-sent",
                    at=dt.datetime(2025, 10, 27, 3, 15), source="orders", **values)


def assert_has(facet: dict[str, Any], **expected: Any) -> None:
    assert {k: facet.get(k) for k in expected} == expected


def set_lineage(root: Path, lines: str) -> None:
    """Replace the example's `transport: file` line of the lineage section."""
    path = root / "lakemend.yaml"
    text, count = re.subn(r"^  transport: file\b.*\n", lines, path.read_text(), count=1, flags=re.M)
    assert count == 1
    path.write_text(text)


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    """The example built for 2025-10-20 and 21 (lineage: file transport); read-only for the tests."""
    target = tmp_path_factory.mktemp("lineage") / "company"
    shutil.copytree(_pristine_example, target, symlinks=True)
    report = build(target, START, D(2025, 10, 21))
    assert not report.failed, [r.error for r in report.failed]
    return target


def test_run_ids_are_stable_per_partition_job() -> None:
    first = lineage.job_run_id("r1", "silver.orders_clean", D(2025, 10, 26))
    assert first == lineage.job_run_id("r1", "silver.orders_clean", D(2025, 10, 26))
    assert uuid.UUID(first).version == 5
    assert len({first, lineage.job_run_id("r2", "silver.orders_clean", D(2025, 10, 26)),
                lineage.job_run_id("r1", "silver.customers_clean", D(2025, 10, 26)),
                lineage.job_run_id("r1", "silver.orders_clean", D(2025, 10, 27))}) == 4


def test_every_event_of_a_run_is_valid_and_each_job_starts_and_completes(two_days: Path) -> None:
    lake = Lake.open(two_days)
    ledger = lake.state.list_jobs(limit=10_000)
    by_day = events_of(two_days)
    assert sorted(by_day) == ["2025-10-20", "2025-10-21"]
    kinds: dict[str, list[str]] = defaultdict(list)
    for day, events in by_day.items():
        for event in events:
            assert_valid(event)
            assert event["run"]["facets"]["lakemend"]["day"] == day  # each event in its partition day's file
            kinds[event["run"]["runId"]].append(event["eventType"])
    assert len(ledger) == 12 and all(job["status"] == "succeeded" for job in ledger)
    for job in ledger:
        assert kinds.pop(lineage.job_run_id(job["run_id"], job["table_name"], job["day"])) == ["START", "COMPLETE"]
    assert not kinds, "events without a ledger job"

    done = {(e["job"]["name"], e["run"]["facets"]["lakemend"]["day"]): e for e in by_day["2025-10-21"]
            if e["eventType"] == "COMPLETE"}
    job = next(j for j in ledger if j["table_name"] == "silver.orders_clean" and j["day"] == D(2025, 10, 21))
    silver = done[("run.silver.orders_clean", "2025-10-21")]
    assert silver["job"]["namespace"] == "lakemend"
    assert_has(silver["run"]["facets"]["lakemend"], runId=job["run_id"], reason="test", command="run",
               rowsWritten=job["rows_written"], snapshotAfter=job["snapshot_after"])
    [read] = silver["inputs"]
    bronze_snapshots = {j["snapshot_after"] for j in ledger if j["table_name"] == "bronze.orders"}
    assert read["name"] == "bronze.orders" and read["namespace"] == "lakemend://company-data-lake"
    assert_has(read["inputFacets"]["lakemend"], firstDay="2025-10-21", lastDay="2025-10-21")
    assert int(read["facets"]["version"]["datasetVersion"]) in bronze_snapshots
    [written] = silver["outputs"]
    assert written["name"] == "silver.orders_clean"
    assert written["outputFacets"]["outputStatistics"]["rowCount"] == job["rows_written"]
    assert written["facets"]["version"]["datasetVersion"] == str(job["snapshot_after"])
    assert silver["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2025-10-21T00:00:00Z"

    [landing] = done[("run.bronze.orders", "2025-10-21")]["inputs"]
    assert landing["name"] == "landing/orders/2025-10-21/*.csv" and "version" not in landing.get("facets", {})
    upto = {i["name"]: i["inputFacets"]["lakemend"] for i in done[("run.gold.customer_orders", "2025-10-21")]["inputs"]}
    assert_has(upto["silver.orders_clean"], firstDay="2025-10-21", lastDay="2025-10-21")
    assert_has(upto["silver.customers_clean"], lastDay="2025-10-21")
    assert "firstDay" not in upto["silver.customers_clean"]  # `upto`: every day up to this one


def test_lineage_lists_the_jobs_of_a_day_with_inputs_outputs_and_reason(two_days: Path, cli) -> None:
    text = cli("lineage", "--date", "2025-10-20", cwd=two_days)
    assert text.code == 0, text.err
    assert "bronze.orders [2025-10-20] @" in text.out and "→ silver.orders_clean 2025-10-20 @" in text.out
    assert "landing/orders/2025-10-20/*.csv [2025-10-20] → bronze.orders 2025-10-20 @" in text.out
    assert "silver.customers_clean [… 2025-10-20] @" in text.out
    jobs = json.loads(cli("lineage", "--date", "2025-10-20", "--output", "json", cwd=two_days).out)
    assert sorted(j["table"] for j in jobs) == sorted(Lake.open(two_days).project.tables)
    assert {(j["status"], j["reason"], j["command"], j["source"]) for j in jobs} == {("succeeded", "test", "run", "lineage")}
    assert all(j["started_at"] <= j["ended_at"] and j["snapshot_after"] for j in jobs)
    gold = next(j for j in jobs if j["table"] == "gold.customer_orders")
    assert {i["table"] for i in gold["inputs"]} == {"silver.orders_clean", "silver.customers_clean"}
    touching = json.loads(cli("lineage", "--date", "2025-10-20", "--table", "orders_clean", "-o", "json", cwd=two_days).out)
    assert sorted(j["table"] for j in touching) == ["gold.customer_orders", "gold.daily_revenue", "silver.orders_clean"]
    assert cli("lineage", "--date", "2025-11-30", cwd=two_days).out.strip() == "No job wrote 2025-11-30."


def test_a_failed_job_sends_fail_with_the_error_and_the_ledger_fills_in(example: Path, cli) -> None:
    folder = example / "landing" / "orders" / "2025-11-02"
    folder.mkdir(parents=True)
    (folder / "orders-0001.csv").write_text("order_id,amount,currency,status,ordered_at,updated_at\n"
                                            "o-1,10.00,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n")
    assert cli("run", "--date", "2025-11-02", "--reason", "late shop export", cwd=example).code == 1
    [start, fail] = events_of(example)["2025-11-02"]
    for event in (start, fail):
        assert_valid(event)
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert start["run"]["runId"] == fail["run"]["runId"] and fail["job"]["name"] == "run.bronze.orders"
    assert "required column 'customer_email' is missing" in fail["run"]["facets"]["errorMessage"]["message"]
    assert "outputStatistics" not in fail["outputs"][0].get("outputFacets", {})
    [job] = json.loads(cli("lineage", "--date", "2025-11-02", "-o", "json", cwd=example).out)
    assert (job["table"], job["status"], job["reason"], job["source"]) == ("bronze.orders", "failed", "late shop export", "lineage")

    (example / ".lakemend" / "lineage" / "2025-11-02.jsonl").unlink()  # e.g. lineage went to Marquez instead
    [job] = json.loads(cli("lineage", "--date", "2025-11-02", "-o", "json", cwd=example).out)
    assert (job["table"], job["status"], job["source"]) == ("bronze.orders", "failed", "ledger")
    assert job["inputs"] == [{"table": "landing/orders/2025-11-02/*.csv", "first_day": "2025-11-02",
                              "last_day": "2025-11-02", "snapshot": None}]


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_http_transport_posts_each_event(example: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        set_lineage(example, f"  transport: http\n  url: http://127.0.0.1:{server.server_port}/api/v1/lineage\n")
        lake = Lake.open(example)
        read = InputRead("bronze.orders", D(2025, 10, 26), D(2025, 10, 26), 11)
        lineage.handle(lake, job_event("START", D(2025, 10, 26), snapshot_before=21))
        lineage.handle(lake, job_event("COMPLETE", D(2025, 10, 26), inputs=(read,), snapshot_before=21,
                                       snapshot_after=22, rows_read=120, rows_written=118, seconds=1.5))
    finally:
        server.shutdown()
    assert [(path, event["eventType"]) for path, event in _Collector.received] == [
        ("/api/v1/lineage", "START"), ("/api/v1/lineage", "COMPLETE")]
    for _, event in _Collector.received:
        assert_valid(event)
    done = _Collector.received[1][1]
    assert done["job"]["name"] == "backfill.silver.orders_clean"
    assert done["run"]["facets"]["lakemend"]["reason"] == "INC-1234: orders export re-sent"
    assert done["inputs"][0]["facets"]["version"]["datasetVersion"] == "11"


def test_an_unreachable_endpoint_warns_and_never_fails_the_job(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lakemend.observe.events import emit

    set_lineage(example, "  transport: http\n  url: http://127.0.0.1:9/api/v1/lineage\n")
    emit(Lake.open(example), job_event("START", D(2025, 10, 26)))
    assert "Warning: lineage sink failed: SinkError: OpenLineage POST to http://127.0.0.1:9/" in capsys.readouterr().err


def test_cloudwatch_transport_finds_a_day_with_the_runbooks_filter(example: Path, moto_endpoint: str) -> None:
    import boto3

    set_lineage(example, "  transport: cloudwatch\n")
    with (example / "lakemend.yaml").open("a") as config:
        config.write(f"\naws: {{region: us-east-1, endpoint_url: \"{moto_endpoint}\"}}\n")
    assert not build(example, D(2025, 10, 26), D(2025, 10, 26)).failed
    lake = Lake.open(example)
    lineage.handle(lake, job_event("START", D(2025, 10, 25)))  # another day, in another run's stream
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/aws/etl/lineage")["logStreams"]]
    [run_id] = {j["run_id"] for j in lake.state.list_jobs()}
    assert sorted(streams) == sorted([run_id, "20251026T031500-a1b2c3"])

    def found(pattern: str) -> list[dict[str, Any]]:
        events = logs.filter_log_events(logGroupName="/aws/etl/lineage", filterPattern=pattern)["events"]
        return [json.loads(e["message"]) for e in events]

    # the runbook: aws logs filter-log-events --log-group-name /aws/etl/lineage --filter-pattern "2025-10-26"
    runbook = found("2025-10-26")
    day = found('"2025-10-26"')  # quoted: the same term, which moto evaluates (it lets unquoted digits match all)
    assert len(day) == 12 and all(e in runbook for e in day)
    assert {e["run"]["facets"]["lakemend"]["day"] for e in day} == {"2025-10-26"}
    assert sorted(e["eventType"] for e in day) == ["COMPLETE"] * 6 + ["START"] * 6
    for event in day:
        assert_valid(event)
    assert not (example / ".lakemend" / "lineage").exists()
