"""CloudWatch Logs shipping and put_metric_data against a real moto_server."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import boto3
import pytest

from conftest import START, build
from lakemend.lake import Lake
from lakemend.observe.events import JobEvent, Notice, emit
from lakemend.observe import cloudwatch
from lakemend.observe import logs as run_log
from lakemend.state.store import utcnow
from support import TOKEN, configure

GROUP = "/aws/etl/backfill"
NAMESPACE = "LakeMend/Backfill"
NAMES = {"BackfillJobsStarted", "BackfillJobsSucceeded", "BackfillJobsFailed", "BackfillDurationSeconds"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_run_ships_its_log_lines_and_puts_its_metrics(example: Path, moto_endpoint: str) -> None:
    configure(example, aws={"endpoint_url": moto_endpoint, "region": "us-east-1"}, logs={"cloudwatch": {"group": GROUP}},
              metrics={"cloudwatch": {"namespace": NAMESPACE, "emf": True, "put_metric_data": True}})
    report = build(example, START, START)
    assert not report.failed

    path = example / ".lakemend" / "logs" / f"{report.run_id}.jsonl"
    file_lines = path.read_text().splitlines()
    assert len(file_lines) == 24  # START + COMPLETE and their EMF lines, for 6 jobs
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == [GROUP]
    events = logs.get_log_events(logGroupName=GROUP, logStreamName=report.run_id, startFromHead=True)["events"]
    assert sorted(e["message"] for e in events) == sorted(file_lines)  # each line exactly once
    emf = [json.loads(e["message"]) for e in events if "_aws" in e["message"]]
    assert {m["Name"] for line in emf for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == NAMES - {"BackfillJobsFailed"}
    assert int((path.parent / f".{path.name}.shipped").read_text()) == path.stat().st_size

    metrics = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="us-east-1")
    listed = metrics.list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert {m["MetricName"] for m in listed} == NAMES - {"BackfillJobsFailed"}
    assert all(sorted(d["Name"] for d in m["Dimensions"]) == ["layer", "source", "table"] for m in listed)
    gold = [{"Name": "layer", "Value": "gold"}, {"Name": "table", "Value": "gold.customer_orders"},
            {"Name": "source", "Value": "orders,hubspot"}]
    assert any(m["Dimensions"] == gold for m in listed), listed
    now = dt.datetime.now(dt.UTC)
    for name, unit in (("BackfillJobsStarted", "Count"), ("BackfillDurationSeconds", "Seconds")):
        stats = metrics.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=name, Dimensions=gold, StartTime=now - dt.timedelta(hours=1),
            EndTime=now + dt.timedelta(hours=1), Period=3600, Statistics=["Sum", "SampleCount"])["Datapoints"]
        assert sum(p["SampleCount"] for p in stats) == 1, (name, stats)
        assert all(p["Unit"] == unit for p in stats)
    assert sum(p["Sum"] for p in stats) > 0


def test_a_failed_shipment_is_reported_without_secrets_and_retried(
        example: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LAKEMEND_TEST_WEBHOOK_TOKEN", TOKEN)
    notify = [{"type": "webhook", "url": "http://127.0.0.1:9/h", "token_env": "LAKEMEND_TEST_WEBHOOK_TOKEN",
               "on": ["incident_closed"]}]
    down = f"http://lakemend:{TOKEN}@127.0.0.1:{closed_port()}"  # an endpoint URL carrying a secret
    configure(example, aws={"endpoint_url": down}, logs={"cloudwatch": {"group": GROUP}}, notify=notify,
              metrics={"cloudwatch": {"namespace": NAMESPACE, "emf": False, "put_metric_data": True}})
    lake = Lake.open(example)
    run_id = "20251026T031500-c0ffee"
    start = JobEvent(kind="START", run_id=run_id, command="backfill", layer="bronze", table="bronze.orders", day=START,
                     reason="retry test", at=utcnow(), source="orders")
    fail = JobEvent(**{**start.__dict__, "kind": "FAIL", "at": utcnow(), "error": f"boom {TOKEN}", "seconds": 0.5})
    for event in (start, fail):
        emit(lake, event)
    err = capsys.readouterr().err
    assert "logs sink failed" in err and "cloudwatch sink failed" in err
    assert TOKEN not in err and "lakemend:***@127.0.0.1" in err
    path = example / ".lakemend" / "logs" / f"{run_id}.jsonl"
    assert len(path.read_text().splitlines()) == 2 and TOKEN not in path.read_text()  # the file has every line

    configure(example, aws={"endpoint_url": moto_endpoint})  # the endpoint is back
    lake = Lake.open(example)
    notice = Notice(kind="dq_failed", title="orders_clean", text="null rate", at=utcnow(), details={"run_id": run_id})
    run_log.handle(lake, notice)  # the next flush ships what the failed one could not
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    events = logs.get_log_events(logGroupName=GROUP, logStreamName=run_id, startFromHead=True)["events"]
    assert [json.loads(e["message"])["event"] for e in events] == ["START", "FAIL", "dq_failed"]
    assert all(TOKEN not in e["message"] for e in events)
    assert run_log.flush(lake, run_id) == 0  # nothing pending, nothing sent twice

    cloudwatch.handle(lake, fail)
    listed = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="us-east-1").list_metrics(
        Namespace=NAMESPACE)["Metrics"]
    assert {m["MetricName"] for m in listed} == {"BackfillJobsFailed", "BackfillDurationSeconds"}


def test_sinks_do_nothing_unless_configured(example: Path) -> None:
    lake = Lake.open(example)
    event = JobEvent(kind="START", run_id="20251026T031500-000000", command="run", layer="bronze",
                     table="bronze.orders", day=START, reason=None, at=utcnow(), source="orders")
    cloudwatch.handle(lake, event)  # put_metric_data is off by default: no AWS call, no error
    run_log.handle(lake, event)
    assert "_aws" not in (example / ".lakemend" / "logs" / "20251026T031500-000000.jsonl").read_text()
