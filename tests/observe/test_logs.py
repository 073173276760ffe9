"""The structured run log: one JSON line per job event, EMF metrics, redaction, `runs logs`."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import TOKEN, configure
from conftest import START, build
from lakemend.lake import Lake
from lakemend.observe.events import JobEvent, Notice
from lakemend.observe import logs as run_log
from lakemend.state.store import utcnow

JOB_KEYS = {"ts", "level", "event", "run_id", "command", "layer", "table", "day", "reason", "rows_read",
            "rows_written", "rows_quarantined", "rows_deduplicated", "snapshot_before", "snapshot_after", "seconds",
            "error"}
def read_log(root: Path, run_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / ".lakemend" / "logs" / f"{run_id}.jsonl").read_text().splitlines()]


@pytest.fixture
def runs_logs_command() -> Iterator[None]:
    """`runs logs` is part of the CLI (kept as a fixture name the tests read well with)."""
    yield


def test_a_run_logs_start_and_complete_per_job_and_runs_logs_prints_them(example: Path, cli, runs_logs_command) -> None:  # noqa: ANN001
    report = build(example, START, START)
    assert len(report.results) == 6 and not report.failed
    lines = read_log(example, report.run_id)
    assert all(JOB_KEYS <= set(line) for line in lines)
    assert not [line for line in lines if "_aws" in line], "no EMF without metrics.cloudwatch"
    for result in report.results:
        mine = [line for line in lines if line["table"] == result.table and line["day"] == str(START)]
        assert [line["event"] for line in mine] == ["START", "COMPLETE"], result.table
        start, complete = mine
        assert start["level"] == "INFO" and start["run_id"] == report.run_id and start["reason"] == "test"
        assert start["command"] == "run" and start["rows_written"] is None
        assert complete["rows_written"] == result.rows_written and complete["rows_read"] == result.rows_read
        assert complete["snapshot_after"] == result.snapshot_after and complete["seconds"] > 0
        assert complete["error"] is None
        assert dt.datetime.fromisoformat(complete["ts"].replace("Z", "+00:00")).tzinfo is not None

    text = cli("runs", "logs", report.run_id, cwd=example)
    assert text.code == 0, text.err
    assert len(text.out.splitlines()) == len(lines) == 12
    assert "COMPLETE" in text.out and "silver.orders_clean 2025-10-20" in text.out
    raw = cli("runs", "logs", report.run_id, "--output", "json", cwd=example)
    assert [json.loads(line) for line in raw.out.splitlines()] == lines

    unknown = cli("runs", "logs", "20200101T000000-nope00", cwd=example)
    assert unknown.code == 2 and "20200101T000000-nope00" in unknown.err


def test_a_failed_job_logs_fail_with_its_error_emf_lines_and_no_secret(
        example: Path, cli, monkeypatch: pytest.MonkeyPatch, runs_logs_command) -> None:  # noqa: ANN001
    mask_key = (example / ".lakemend" / "mask.key").read_text().strip()
    monkeypatch.setenv("LAKEMEND_TEST_WEBHOOK_TOKEN", TOKEN)
    configure(example, metrics={"cloudwatch": {"namespace": "LakeMend/Test", "emf": True}},
              notify=[{"type": "webhook", "url": "http://127.0.0.1:9/hook", "token_env": "LAKEMEND_TEST_WEBHOOK_TOKEN",
                       "on": ["incident_closed"]}])
    model = example / "models" / "silver" / "orders_clean.sql"  # a model whose error names the token
    model.write_text(model.read_text() + f'\nWHERE "{TOKEN}" IS NOT NULL\n')

    result = cli("run", "--date", str(START), "--reason", f"INC-7 key={mask_key}", cwd=example)
    assert result.code == 1
    run_id = Lake.open(example).state.list_jobs(limit=1)[0]["run_id"]
    text = (example / ".lakemend" / "logs" / f"{run_id}.jsonl").read_text()
    assert mask_key not in text and TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines()]

    fail = [line for line in lines if line["event"] == "FAIL"]
    assert [line["table"] for line in fail] == ["silver.orders_clean"]
    assert fail[0]["level"] == "ERROR" and "Referenced column" in fail[0]["error"] and "***" in fail[0]["error"]
    assert all(line["reason"] == "INC-7 key=***" for line in lines if line["event"] in ("START", "COMPLETE", "FAIL"))

    emf = [line for line in lines if "_aws" in line]
    jobs = [line for line in lines if line["event"] in ("START", "COMPLETE", "FAIL")]
    assert len(emf) == len(jobs)
    names = {"START": ["BackfillJobsStarted"], "COMPLETE": ["BackfillJobsSucceeded", "BackfillDurationSeconds"],
             "FAIL": ["BackfillJobsFailed", "BackfillDurationSeconds"]}
    for line in emf:
        (block,) = line["_aws"]["CloudWatchMetrics"]
        assert block["Namespace"] == "LakeMend/Test"
        assert block["Dimensions"] == [["layer", "table", "source"]]
        assert [m["Name"] for m in block["Metrics"]] == names[line["job_event"]]
        assert {m["Unit"] for m in block["Metrics"]} <= {"Count", "Seconds"}
        assert isinstance(line["_aws"]["Timestamp"], int)
        assert all(isinstance(line[d], str) and line[d] for d in ("layer", "table", "source"))
        assert all(isinstance(line[m["Name"]], (int, float)) for m in block["Metrics"])
    failed = next(line for line in emf if line["job_event"] == "FAIL")
    assert failed["BackfillJobsFailed"] == 1 and failed["table"] == "silver.orders_clean" and failed["source"] == "orders"

    shown = cli("runs", "logs", run_id, cwd=example)
    assert "FAIL" in shown.out and mask_key not in shown.out + shown.err and TOKEN not in shown.out + shown.err
    assert TOKEN not in result.err and mask_key not in result.err


def test_runs_logs_follow_returns_once_the_run_has_ended(example: Path, cli, runs_logs_command) -> None:  # noqa: ANN001
    lake = Lake.open(example)
    run_id = "20251026T031500-f01l0w"
    lake.state.start_run(run_id, "backfill", {}, "follow test")
    event = JobEvent(kind="START", run_id=run_id, command="backfill", layer="bronze", table="bronze.orders",
                     day=START, reason="follow test", at=utcnow(), source="orders")
    run_log.handle(lake, event)

    def finish() -> None:
        run_log.handle(lake, JobEvent(**{**event.__dict__, "kind": "COMPLETE", "at": utcnow(), "rows_read": 5,
                                         "rows_written": 5, "seconds": 1.25}))
        run_log.handle(lake, Notice(kind="dq_failed", title="orders_clean null rate", text="too many nulls",
                                    at=utcnow(), details={"run_id": run_id}))
        lake.state.finish_run(run_id, "succeeded")

    timer = threading.Timer(1.2, finish)
    started = time.monotonic()
    timer.start()
    try:
        result = cli("runs", "logs", run_id, "--follow", cwd=example)
    finally:
        timer.join()
    assert result.code == 0, result.err
    assert 1.0 < time.monotonic() - started < 15
    out = result.out.splitlines()
    assert [line.split()[2] for line in out] == ["START", "COMPLETE", "dq_failed"]
    assert "written 5" in out[1] and "orders_clean null rate" in out[2]

    again = cli("runs", "logs", run_id, "--follow", cwd=example)  # an ended run: print and return
    assert again.out == result.out


def test_redactor_covers_every_secret_source(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_MASK_KEY", "env-mask-key-123456")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws/Secret+Key0123456789")
    monkeypatch.setenv("LAKEMEND_TEST_WEBHOOK_TOKEN", TOKEN)
    configure(example, notify=[{"type": "webhook", "url": "http://127.0.0.1:9/h", "token_env": "LAKEMEND_TEST_WEBHOOK_TOKEN"}])
    file_key = (example / ".lakemend" / "mask.key").read_text().strip()
    redactor = run_log.Redactor.for_project(Lake.open(example).project)
    text = (f"a env-mask-key-123456 b {file_key} c aws/Secret+Key0123456789 d {TOKEN} "
            "e postgresql://lake:hunter2@db:5432/state")
    assert redactor.text(text) == "a *** b *** c *** d *** e postgresql://lake:***@db:5432/state"
    assert redactor.value({"error": [TOKEN, 3]}) == {"error": ["***", 3]}


def test_a_notice_of_no_run_goes_to_the_notices_log(example: Path) -> None:
    lake = Lake.open(example)
    run_log.handle(lake, Notice(kind="incident_opened", title="INC-0001", text="orders late", at=utcnow()))
    (line,) = read_log(example, "notices")
    assert line["event"] == "incident_opened" and line["level"] == "WARNING" and line["run_id"] is None
