"""Incidents: open one, take notes, close it with a post-mortem draft built from the ledger.

The records and their storage are in ``lakemend.state.incidents`` (``Incident``, ``Note`` and
``list_incidents`` are imported from there). Runs are linked to an incident by time, not by a
foreign key: a run belongs to every incident open when it started. That keeps the runner unaware
of incidents and links runs started by any process or host.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakemend.errors import LakemendError, UsageError
from lakemend.state import incidents as stored
from lakemend.state.incidents import ID_PATTERN, Incident, Note, list_incidents
from lakemend.state.store import StateStore, utcnow, whoami

if TYPE_CHECKING:
    from lakemend.lake import Lake

SEVERITIES = ("sev1", "sev2", "sev3")
LAYER_RANK = {"bronze": 0, "silver": 1, "gold": 2}

# ----- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The result of ``recovery.verify`` at close time, or why it could not run."""

    damage: tuple[tuple[str, dt.date | None, str], ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Report:
    """Everything a post-mortem draft is made of (the incident as closed)."""

    incident: Incident
    notes: tuple[Note, ...]
    runs: tuple[dict[str, Any], ...]
    jobs: tuple[dict[str, Any], ...]
    verification: Verification


# ----- reading and recording ---------------------------------------------------------------------


def normalize_id(incident_id: str) -> str:
    """``inc-7`` and ``INC-0007`` name the same incident."""
    match = ID_PATTERN.match(incident_id.strip())
    if not match:
        raise UsageError(f"{incident_id!r} is not an incident id", "ids look like INC-0001; see lakemend incident list")
    return f"INC-{int(match.group(1)):04d}"


def open_incident(store: StateStore, title: str, severity: str = "sev2") -> Incident:
    """Record a new open incident with the next sequential id (INC-0001, INC-0002, …)."""
    if severity not in SEVERITIES:
        raise UsageError(f"--severity {severity!r} is not a severity", "use sev1, sev2 or sev3")
    if not title.strip():
        raise UsageError("the incident needs a title", "pass --title \"what is broken\"")
    return stored.add_incident(store, title.strip(), severity)


def get_incident(store: StateStore, incident_id: str) -> Incident:
    wanted = normalize_id(incident_id)
    record = stored.get_incident(store, wanted)
    if record is None:
        raise UsageError(f"no incident {wanted}", "see lakemend incident list")
    return record


def resolve_open(store: StateStore, incident_id: str | None) -> Incident:
    """The named incident, which must be open; without a name, the only open one."""
    if incident_id:
        record = get_incident(store, incident_id)
        if record.status != "open":
            raise UsageError(f"{record.id} is already closed", "open a new one with lakemend incident open --title T")
        return record
    open_now = list_incidents(store, "open")
    if not open_now:
        raise UsageError("no incident is open", "open one with lakemend incident open --title T")
    if len(open_now) > 1:
        names = ", ".join(i.id for i in open_now)
        raise UsageError(f"{len(open_now)} incidents are open ({names})", f"name one of them, e.g. {open_now[0].id}")
    return open_now[0]


def add_note(store: StateStore, incident_id: str | None, text: str) -> Note:
    if not text.strip():
        raise UsageError("the note is empty", "pass the text to record")
    record = resolve_open(store, incident_id)
    return stored.add_note(store, record.id, text.strip())


def runs_of_incident(store: StateStore, incident: Incident) -> list[dict[str, Any]]:
    """Runs that started while the incident was open (opened_at … closed_at, or now), oldest first."""
    return store.runs_started_between(incident.opened_at, incident.window_end())


# ----- closing -----------------------------------------------------------------------------------------


def verify_lake(lake: Lake) -> Verification:
    """Run ``recovery.verify`` over every table; a failure to verify is reported, not raised."""
    try:
        from lakemend.ops.recovery import verify

        found = verify(lake, lake.project.ordered)
    except Exception as exc:  # noqa: BLE001 - the post-mortem must still be written
        return Verification(error=f"{type(exc).__name__}: {exc}")
    return Verification(damage=tuple((d.table, d.day, d.reason) for d in found))


def default_postmortem_path(lake: Lake, incident_id: str) -> Path:
    return lake.project.root / ".lakemend" / "incidents" / f"{incident_id}-postmortem.md"


def close_incident(lake: Lake, incident_id: str | None, summary: str | None = None,
                   path: Path | None = None) -> tuple[Incident, Path]:
    """Verify the lake, write the post-mortem draft, then mark the incident closed.

    The draft is written (atomically) before the close is recorded, so a failure leaves the
    incident open and the command can simply be run again: a draft at the default path of an
    incident that is still open was left by such an interrupted close and is replaced. A file the
    user named with ``-o`` is never overwritten.
    """
    store = lake.state
    record = resolve_open(store, incident_id)
    default = default_postmortem_path(lake, record.id).expanduser().resolve()
    target = (path or default).expanduser().resolve()
    if target.exists() and target != default:
        raise UsageError(f"{target} already exists", "pass -o with another file, or move that one away")
    verification = verify_lake(lake)
    user, _ = whoami()
    closed = replace(record, status="closed", closed_at=utcnow(), closed_by=user,
                     summary=summary.strip() if summary and summary.strip() else None)
    linked = runs_of_incident(store, closed)
    report = Report(closed, tuple(stored.notes_of(store, closed.id)), tuple(linked),
                    tuple(store.jobs_of_runs([r["run_id"] for r in linked])), verification)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(render_postmortem(report), encoding="utf-8")
    partial.replace(target)
    if not stored.record_close(store, closed):
        raise LakemendError(f"{closed.id} was closed by someone else meanwhile", "see lakemend incident list")
    return closed, target


# ----- the post-mortem draft ---------------------------------------------------------------------------


def render_postmortem(report: Report) -> str:
    """The Markdown draft: facts from the state DB first, then the sections the author writes."""
    sections = [
        _header(report),
        _summary(report.incident),
        _timeline(report),
        _partitions(report.jobs),
        _rows_changed(report.jobs),
        _failures(report),
        _reasons(report.runs),
        _verification(report.verification),
        "## Follow-ups\n\n- [ ] \n- [ ] \n- [ ] ",
    ]
    return "\n\n".join(sections) + "\n"


def when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def duration(start: dt.datetime, end: dt.datetime) -> str:
    seconds = max(0, int((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")  # what opens a tag, comment or declaration in Markdown


def _text(value: Any) -> str:
    """User text (titles, notes, reasons, errors, user names) as Markdown that shows it as written:
    every ``<`` that could open raw HTML is escaped, so a ``<script>`` in a title is displayed by a
    Markdown viewer, never run (``amount < 0`` stays as it is)."""
    return _HTML_START.sub("&lt;", str(value))


def _cell(value: Any) -> str:
    """A value safe inside a Markdown table cell."""
    if value is None:
        return "—"
    return _text(" ".join(str(value).split())).replace("|", "\\|")


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _indented(text: str) -> str:
    """Multi-line user text kept inside one list item, HTML escaped."""
    return "\n  ".join(_text(text).splitlines())


def _header(report: Report) -> str:
    inc = report.incident
    end = inc.window_end()
    return "\n".join([
        f"# {inc.id}: {_text(' '.join(inc.title.split()))}",
        "",
        "_Post-mortem draft written by `lakemend incident close`. Times are UTC._",
        "",
        f"- **Severity:** {inc.severity}",
        f"- **Opened:** {when(inc.opened_at)} by {_text(inc.opened_by or 'unknown')}",
        f"- **Closed:** {when(inc.closed_at)} by {_text(inc.closed_by or 'unknown')}",
        f"- **Duration:** {duration(inc.opened_at, end)}",
        f"- **Runs during the incident:** {len(report.runs)}"
        + (f" ({', '.join(r['run_id'] for r in report.runs)})" if report.runs else ""),
    ])


def _summary(incident: Incident) -> str:
    body = _text(incident.summary) if incident.summary else "_What happened, the impact, the root cause — to be written._"
    return f"## Summary\n\n{body}"


@dataclass(frozen=True)
class _Event:
    at: dt.datetime
    order: int  # keeps opened first and closed last when times tie
    text: str


def _timeline(report: Report) -> str:
    inc = report.incident
    events = [_Event(inc.opened_at, 0, f"incident opened by {_text(inc.opened_by or 'unknown')} ({inc.severity}): "
                                       f"{_indented(inc.title)}")]
    events += [_Event(n.at, 1, f"note by {_text(n.user or 'unknown')}: {_indented(n.text)}") for n in report.notes]
    events += _ledger_events(report)
    if inc.closed_at:
        events.append(_Event(inc.closed_at, 2, f"incident closed by {_text(inc.closed_by or 'unknown')}"))
    lines = [f"- {when(e.at)} — {e.text}" for e in sorted(events, key=lambda e: (e.at, e.order))]
    return "## Timeline\n\n" + "\n".join(lines)


def _ledger_events(report: Report) -> list[_Event]:
    """One line per partition job; a run with no job (all skipped, or refused) gets one line itself.

    The reason is shown when it changes, not on every job of a run.
    """
    with_jobs = {j["run_id"] for j in report.jobs}
    items: list[tuple[dt.datetime, str | None, str]] = []
    for job in report.jobs:
        text = f"{job['command']} `{job['table_name']}` {job['day']}: {job['status']}"
        items.append((job["started_at"], job["reason"], text))
    for run in report.runs:
        if run["run_id"] not in with_jobs:
            detail = f" ({_indented(run['error'])})" if run.get("error") else ""
            items.append((run["started_at"], run["reason"], f"{run['command']} run {run['run_id']}: {run['status']}, no partition job{detail}"))
    events, last_reason = [], None
    for at, reason, text in sorted(items, key=lambda i: i[0]):
        if reason and reason != last_reason:
            text += f" — reason: {_indented(reason)}"
        last_reason = reason or last_reason
        events.append(_Event(at, 1, text))
    return events


def _partition_key(job: dict[str, Any]) -> tuple[int, str, dt.date]:
    return LAYER_RANK.get(job["layer"], 9), job["table_name"], job["day"]


def _partitions(job_rows: Sequence[dict[str, Any]]) -> str:
    """One row per table and day: its last status, the numbers of its last successful job."""
    if not job_rows:
        return "## Partitions affected\n\nNo partition job ran during the incident."
    by_partition: dict[tuple[int, str, dt.date], list[dict[str, Any]]] = defaultdict(list)
    for job in job_rows:
        by_partition[_partition_key(job)].append(job)
    rows = []
    for (_, table, day), attempts in sorted(by_partition.items()):
        ok = [j for j in attempts if j["status"] == "succeeded"]
        last_ok = ok[-1] if ok else {}
        snapshots = f"{_cell(attempts[0]['snapshot_before'])} → {_cell(last_ok.get('snapshot_after'))}"
        rows.append([table, day, attempts[-1]["status"], len(attempts), last_ok.get("rows_written"),
                     last_ok.get("rows_quarantined"), snapshots])
    columns = ["table", "day", "status", "jobs", "rows written", "rows quarantined", "snapshot before → after"]
    return "## Partitions affected\n\n" + _md_table(columns, rows)


def _rows_changed(job_rows: Sequence[dict[str, Any]]) -> str:
    totals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for job in job_rows:
        if job["status"] != "succeeded":
            continue
        counts = totals[(LAYER_RANK.get(job["layer"], 9), job["table_name"])]
        for i, column in enumerate(("rows_written", "rows_quarantined", "rows_deduplicated")):
            counts[i] += job[column] or 0
    if not totals:
        return "## Rows changed\n\nNo partition was published during the incident."
    rows = [[table, *counts] for (_, table), counts in sorted(totals.items())]
    return "## Rows changed\n\n_Totals of the succeeded jobs._\n\n" + _md_table(
        ["table", "rows written", "rows quarantined", "rows deduplicated"], rows)


def _failures(report: Report) -> str:
    lines = [f"- `{j['table_name']}` {j['day']} (run {j['run_id']}, {when(j['started_at'])}): {_indented(j['error'] or 'no error recorded')}"
             for j in report.jobs if j["status"] == "failed"]
    with_jobs = {j["run_id"] for j in report.jobs if j["status"] == "failed"}
    lines += [f"- run {r['run_id']} ({r['command']}, {when(r['started_at'])}): {_indented(r['error'] or 'failed')}"
              for r in report.runs if r["status"] == "failed" and r["run_id"] not in with_jobs]
    return "## Failures\n\n" + ("\n".join(lines) if lines else "No job failed during the incident.")


def _reasons(run_rows: Sequence[dict[str, Any]]) -> str:
    reasons = list(dict.fromkeys(r["reason"] for r in run_rows if r["reason"]))
    body = "\n".join(f"- {_indented(r)}" for r in reasons) if reasons else "No run recorded a reason."
    return "## Reasons given\n\n" + body


def _verification(result: Verification) -> str:
    if result.error:
        body = f"verify: could not run ({_indented(result.error)}) — run `lakemend verify` and paste its result"
    elif not result.damage:
        body = "verify: no damage found"
    else:
        lines = [f"- `{table}` {day or '(table)'}: {_indented(reason)}" for table, day, reason in result.damage]
        body = f"verify: {len(result.damage)} problem(s) found at close time\n\n" + "\n".join(lines)
    return "## Verification\n\n_`lakemend verify` over every table when the incident was closed._\n\n" + body
