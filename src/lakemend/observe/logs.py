"""The run log: one structured JSON-lines file per run, ``<logs.path>/<run_id>.jsonl``.

Every job event becomes one line (ts, level, event, run_id, command, layer, table, day, reason,
rows, snapshots, seconds, error); with ``metrics.cloudwatch.emf`` a START / COMPLETE / FAIL also
writes a CloudWatch Embedded Metric Format line, so shipping the log to CloudWatch Logs creates
the runbook's metrics without any put_metric_data call.

The local file is the source of truth. With ``logs.cloudwatch`` its lines are shipped to the log
group (stream = run_id): the byte offset shipped so far is kept next to the log
(``.<run_id>.jsonl.shipped``), so a failed or interrupted shipment is retried by the next flush
(at every COMPLETE / FAIL / notice and at exit) and lines are neither lost nor sent twice.

Secrets never reach a log: every string written is passed through
:class:`~lakemend.observe.redact.Redactor`. Logs (and lineage files) are created readable by
their owner only: files ``0600``, the folders lakemend creates for them ``0700``.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakemend.observe.aws import client as aws_client
from lakemend.observe.cloudwatch import dimensions, emf_values
from lakemend.observe.events import JOB_KINDS, JobEvent, Notice, SinkError, warn
from lakemend.observe.redact import Redactor

if TYPE_CHECKING:
    from lakemend.lake import Lake
    from lakemend.project.project import Project

LEVELS = {"START": "INFO", "COMPLETE": "INFO", "FAIL": "ERROR", "dq_failed": "ERROR",
          "incident_opened": "WARNING", "incident_closed": "INFO"}
NOTICE_STREAM = "notices"
"""File stem and log stream of notices that belong to no run."""
SAFE_STREAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")

# CloudWatch Logs PutLogEvents limits (bytes count UTF-8 plus 26 per event).
MAX_EVENT_BYTES = 256 * 1024 - 26
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_SPAN_MS = 23 * 3600 * 1000


# ----- records -----------------------------------------------------------------------------------------


def iso(at: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z; naive datetimes are UTC already (state.utcnow)."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(timespec="milliseconds") + "Z"


def epoch_ms(at: dt.datetime) -> int:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    return int(aware.timestamp() * 1000)


@functools.cache
def _who() -> tuple[str, str]:
    from lakemend.state.store import whoami

    return whoami()


def job_record(event: JobEvent) -> dict[str, Any]:
    """One log line of a job event; every line has the same keys (None where not known yet)."""
    done = event.kind != "START"
    user, host = _who()
    return {
        "ts": iso(event.at), "level": LEVELS.get(event.kind, "INFO"), "event": event.kind,
        "run_id": event.run_id, "command": event.command, "layer": event.layer, "table": event.table,
        "source": event.source, "day": event.day.isoformat(), "reason": event.reason, "user": user, "host": host,
        "rows_read": event.rows_read if done else None,
        "rows_written": event.rows_written if done else None,
        "rows_quarantined": event.rows_quarantined if done else None,
        "rows_deduplicated": event.rows_deduplicated if done else None,
        "snapshot_before": event.snapshot_before,
        "snapshot_after": event.snapshot_after if done else None,
        "seconds": round(event.seconds, 3) if done else None,
        "error": event.error,
        "inputs": [{"table": i.table, "first_day": i.first_day, "last_day": i.last_day, "snapshot_id": i.snapshot_id}
                   for i in event.inputs],
        **({"extra": event.extra} if event.extra else {}),
    }


def notice_record(notice: Notice) -> dict[str, Any]:
    return {"ts": iso(notice.at), "level": LEVELS.get(notice.kind, "INFO"), "event": notice.kind,
            "run_id": notice.details.get("run_id"), "title": notice.title, "text": notice.text,
            "details": notice.details}


def emf_record(event: JobEvent, namespace: str) -> dict[str, Any]:
    values = emf_values(event)
    return {
        "_aws": {
            "Timestamp": epoch_ms(event.at),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["layer", "table", "source"]],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit, _ in values],
            }],
        },
        "ts": iso(event.at), "level": "INFO", "event": "METRICS", "job_event": event.kind, "run_id": event.run_id,
        "day": event.day.isoformat(), **dimensions(event), **{name: value for name, _, value in values},
    }


def dumps(record: dict[str, Any]) -> str:
    """One line of JSON (newlines inside values are escaped)."""
    return json.dumps(record, default=_plain, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


# ----- the sink ----------------------------------------------------------------------------------------

_WRITE_LOCK = threading.Lock()


def log_path(project: Project, stream: str) -> Path:
    return project.logs / f"{stream}.jsonl"


def stream_of(event: JobEvent | Notice) -> str:
    if isinstance(event, JobEvent):
        return event.run_id
    run_id = str(event.details.get("run_id") or "")
    return run_id if SAFE_STREAM.fullmatch(run_id) else NOTICE_STREAM  # never a path outside the log folder


def handle(lake: Lake, event: JobEvent | Notice) -> None:
    """Append the event's line(s) to the run's log, then ship what is pending to CloudWatch Logs."""
    project = lake.project
    config = project.config
    if isinstance(event, JobEvent):
        records = [job_record(event)]
        emf = config.metrics.cloudwatch
        if emf is not None and emf.emf and event.kind in JOB_KINDS:
            records.append(emf_record(event, emf.namespace))
    else:
        records = [notice_record(event)]
    redactor = Redactor.for_project(project)
    stream = stream_of(event)
    path = log_path(project, stream)
    append(path, [dumps(redactor.value(r)) for r in records])
    if config.logs.cloudwatch is None:
        return
    shipper = Shipper(lake, path, config.logs.cloudwatch.group, stream)
    if isinstance(event, JobEvent) and event.kind == "START":
        _pending_at_exit(shipper)  # shipped with the job's COMPLETE / FAIL (or at exit)
        return
    shipper.flush(redactor)


def append(path: Path, lines: list[str]) -> None:
    """Whole lines in one write, so parallel jobs of a run never interleave inside a line."""
    with _WRITE_LOCK:
        append_private(path, "".join(line + "\n" for line in lines).encode("utf-8"))


def private_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents readable by their owner only (``0700``)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def append_private(path: Path, data: bytes) -> None:
    """One ``write`` with O_APPEND to a file created ``0600`` (in ``0700`` folders) if new: run
    logs and lineage name who ran what and why, and the errors they met."""
    private_folders(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# ----- CloudWatch Logs ---------------------------------------------------------------------------------

_SHIP_LOCKS: dict[Path, threading.Lock] = {}
_SHIP_LOCKS_GUARD = threading.Lock()
_READY_STREAMS: set[tuple[str | None, str, str]] = set()
_AT_EXIT: dict[Path, Shipper] = {}


@dataclass
class Shipper:
    """Ships the complete lines of one log file that are past its shipped offset."""

    lake: Lake
    path: Path
    group: str
    stream: str

    @property
    def cursor(self) -> Path:
        return self.path.with_name(f".{self.path.name}.shipped")

    def flush(self, redactor: Redactor | None = None) -> int:
        """Ship every pending line; returns how many. Raises SinkError (redacted) on failure;
        the offset then stays at the last batch CloudWatch accepted."""
        redactor = redactor or Redactor.for_project(self.lake.project)
        with _lock_for(self.path):
            try:
                shipped = self._flush()
            except Exception as exc:  # noqa: BLE001 - reported redacted, retried by the next flush
                _AT_EXIT.pop(self.path, None)  # the next event of the run retries, not the exit hook
                message = redactor.text(f"{type(exc).__name__}: {exc}")
                raise SinkError(f"CloudWatch Logs {self.group}/{self.stream}: {message}") from None
            _AT_EXIT.pop(self.path, None)
            return shipped

    def _flush(self) -> int:
        offset = self._offset()
        with self.path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # only complete lines; a line being written waits
        if end == 0:
            return 0
        events: list[tuple[int, dict[str, Any]]] = []  # (file offset after the line, event)
        position = offset
        for raw in data[:end].split(b"\n")[:-1]:
            position += len(raw) + 1
            if raw.strip():
                events.append((position, _log_event(raw)))
        if not events:
            self._save(offset + end)
            return 0
        client = _logs_client(self.lake)
        self._ensure_stream(client)
        for batch_end, batch in _batches(events):
            batch.sort(key=lambda e: e["timestamp"])  # chronological within a PutLogEvents call
            try:
                client.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=batch)
            except client.exceptions.ResourceNotFoundException:
                _READY_STREAMS.discard(self._key())
                self._ensure_stream(client)
                client.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=batch)
            self._save(batch_end)  # batches follow the file, so a failure later resends nothing
        self._save(offset + end)
        return len(events)

    def _key(self) -> tuple[str | None, str, str]:
        return (self.lake.project.config.aws.endpoint_url, self.group, self.stream)

    def _ensure_stream(self, client: Any) -> None:
        if self._key() in _READY_STREAMS:
            return
        for call, kwargs in ((client.create_log_group, {"logGroupName": self.group}),
                             (client.create_log_stream, {"logGroupName": self.group, "logStreamName": self.stream})):
            try:
                call(**kwargs)
            except client.exceptions.ResourceAlreadyExistsException:
                pass
        _READY_STREAMS.add(self._key())

    def _offset(self) -> int:
        try:
            return int(self.cursor.read_text(encoding="utf-8").strip() or 0)
        except (OSError, ValueError):
            return 0

    def _save(self, offset: int) -> None:
        tmp = self.cursor.with_name(f"{self.cursor.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(str(offset), encoding="utf-8")
        os.replace(tmp, self.cursor)


def flush(lake: Lake, run_id: str) -> int:
    """Ship a run's pending lines now (e.g. after an interrupted run); returns how many."""
    shipping = lake.project.config.logs.cloudwatch
    if shipping is None:
        return 0
    path = log_path(lake.project, run_id)
    if not path.is_file():
        return 0
    return Shipper(lake, path, shipping.group, run_id).flush()


def _lock_for(path: Path) -> threading.Lock:
    with _SHIP_LOCKS_GUARD:
        return _SHIP_LOCKS.setdefault(path, threading.Lock())


def _log_event(raw: bytes) -> dict[str, Any]:
    message = raw.decode("utf-8", errors="replace")
    try:
        record = json.loads(message)
        stamp = record.get("_aws", {}).get("Timestamp") or epoch_ms(dt.datetime.fromisoformat(record["ts"].rstrip("Z")))
    except (ValueError, KeyError, AttributeError, TypeError):
        stamp = epoch_ms(dt.datetime.now(dt.UTC))
    encoded = message.encode("utf-8")
    if len(encoded) > MAX_EVENT_BYTES:  # the file keeps the whole line
        message = encoded[: MAX_EVENT_BYTES - 20].decode("utf-8", errors="ignore") + "…[truncated]"
    return {"timestamp": int(stamp), "message": message}


def _batches(events: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, list[dict[str, Any]]]]:
    """Consecutive lines in PutLogEvents-sized batches, each with the file offset it ends at."""
    batches: list[tuple[int, list[dict[str, Any]]]] = []
    current: list[dict[str, Any]] = []
    size, low, high, last_end = 0, 0, 0, 0
    for end, event in events:
        cost = len(event["message"].encode("utf-8")) + 26
        stamp = event["timestamp"]
        if current and (len(current) >= MAX_BATCH_EVENTS or size + cost > MAX_BATCH_BYTES
                        or max(high, stamp) - min(low, stamp) > MAX_BATCH_SPAN_MS):
            batches.append((last_end, current))
            current, size = [], 0
        if not current:
            low = high = stamp
        current.append(event)
        size += cost
        low, high, last_end = min(low, stamp), max(high, stamp), end
    if current:
        batches.append((last_end, current))
    return batches


def _logs_client(lake: Lake) -> Any:
    return aws_client(lake, "logs")


def _pending_at_exit(shipper: Shipper) -> None:
    _AT_EXIT.setdefault(shipper.path, shipper)


@atexit.register
def _flush_at_exit() -> None:
    """Lines of jobs that never completed in this process (Ctrl-C) are shipped on the way out."""
    for shipper in list(_AT_EXIT.values()):
        try:
            shipper.flush()
        except Exception as exc:  # noqa: BLE001 - already redacted; the file keeps the lines
            warn(f"logs sink failed at exit: {exc}")
