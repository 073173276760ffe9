"""``lakemend runs logs RUN_ID [--follow]``: a run's structured log, readable or raw.

``--output json`` prints the log's own JSON lines (JSON Lines, one document per line), the one
command whose JSON is a stream: with ``--follow`` it is printed while the run writes it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError

POLL_SECONDS = 0.5


def runs_logs(
    run_id: Annotated[str, typer.Argument(help="The run whose log to print (see lakemend runs).")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until the run ends (succeeded, failed or interrupted).")] = False,
    output: opt.Output = None,
) -> None:
    """Print a run's log: one line per job start, completion, failure and notice (json: the raw JSON lines).

    Example: [bold]lakemend runs logs 20251026T031500-a1b2c3 --follow[/]
    """
    from lakemend.observe.logs import log_path
    from lakemend.observe.redact import Redactor

    out = context.output(output)
    lake = context.open_lake()
    if lake.state.get_run(run_id) is None:
        raise UsageError(f"no run {run_id!r} in the ledger", "see lakemend runs for run ids")
    path = log_path(lake.project, run_id)
    redactor = Redactor.for_project(lake.project)
    offset, printed = 0, 0
    while True:
        # Read the status before draining: lines written before the run ended are then all seen.
        # A killed run never closes itself: close_interrupted marks it once its process is gone.
        running = follow and (lake.state.get_run(run_id) or {}).get("status") == "running"
        if running and run_id in lake.state.close_interrupted():
            running = False
        offset, lines = read_lines(path, offset)
        shown = [text for text in (render_line(line, out.format, redactor) for line in lines) if text]
        if shown:
            out.raw("".join(text + "\n" for text in shown))
            printed += len(shown)
        if not running:
            break
        time.sleep(POLL_SECONDS)
    if not printed:
        out.note(f"no log lines for run {run_id} in {path}")


def read_lines(path: Path, offset: int) -> tuple[int, list[str]]:
    """Complete lines from ``offset`` on, and the offset after them (a partial last line waits)."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return offset, []
    end = data.rfind(b"\n") + 1
    text = data[:end].decode("utf-8", errors="replace")
    return offset + end, [line for line in text.split("\n") if line.strip()]


def render_line(line: str, fmt: str, redactor: Any) -> str:
    """json: the line itself (re-redacted); text: a readable summary of the record ("" to skip)."""
    try:
        record = redactor.value(json.loads(line))
    except ValueError:
        return redactor.text(line)
    if fmt == "json":
        from lakemend.observe.logs import dumps

        return dumps(record)
    return describe(record)


def describe(record: dict[str, Any]) -> str:
    """``<ts> <LEVEL> <EVENT> <table> <day> <details>``; "" for EMF lines, which repeat the
    COMPLETE / FAIL numbers for CloudWatch (``--output json`` shows them)."""
    event = str(record.get("event", "?"))
    if event == "METRICS":
        return ""
    head = f"{record.get('ts', '')} {str(record.get('level', '')):<5} {event:<8}"
    where = " ".join(str(record[k]) for k in ("table", "day") if record.get(k))
    if event == "START":
        details = f"snapshot {record.get('snapshot_before')}" + (f" reason: {record['reason']}" if record.get("reason") else "")
    elif event in ("COMPLETE", "FAIL"):
        details = (f"read {record.get('rows_read')} written {record.get('rows_written')} "
                   f"quarantined {record.get('rows_quarantined')} deduplicated {record.get('rows_deduplicated')} "
                   f"in {record.get('seconds')} s, snapshot {record.get('snapshot_before')} → {record.get('snapshot_after')}")
        if record.get("error"):
            details += f" error: {record['error']}"
    else:  # a notice
        details = " — ".join(str(record[k]) for k in ("title", "text") if record.get(k))
    return " ".join(part for part in (head, where, details) if part).replace("\n", " ")
