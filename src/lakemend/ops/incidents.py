"""Incidents: open one, take notes, close it with a post-mortem draft built from the ledger.

The records and their storage are in ``lakemend.state.incidents`` (``Incident``, ``Note`` and
``list_incidents`` are imported from there). Runs are linked to an incident by time, not by a
foreign key: a run belongs to every incident open when it started. That keeps the runner unaware
of incidents and links runs started by any process or host.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakemend.errors import LakemendError, UsageError
from lakemend.iceberg.summary import DAY_ROWS
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
    """The result of ``verify.verify`` at close time, or why it could not run."""

    damage: tuple[tuple[str, dt.date | None, str], ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class RowChange:
    """One partition's rows before the incident's first change and after its last, from the
    snapshot summaries of the jobs' commits (Iceberg's deleted-records / added-records)."""

    table: str
    day: dt.date
    before: int | None  # None: the snapshot is gone (vacuumed) or the day was new
    after: int | None


@dataclass(frozen=True)
class RestorePoint:
    """A ``pre-<run_id>`` tag a run of the incident made (still in the table's metadata)."""

    table: str
    tag: str
    snapshot_id: int


@dataclass(frozen=True)
class Report:
    """Everything a post-mortem draft is made of (the incident as closed)."""

    incident: Incident
    notes: tuple[Note, ...]
    runs: tuple[dict[str, Any], ...]
    jobs: tuple[dict[str, Any], ...]
    verification: Verification
    row_changes: tuple[RowChange, ...] = ()
    restore_points: tuple[RestorePoint, ...] = ()


ACTION = "lakemend: "
"""The start of a note lakemend adds itself (a pause or a resume during an open incident)."""


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


def record_action(store: StateStore, text: str) -> list[str]:
    """Note an operational action (pause, resume) on every open incident, for its timeline;
    returns the incidents noted."""
    noted = []
    for incident in list_incidents(store, "open"):
        stored.add_note(store, incident.id, ACTION + text.strip())
        noted.append(incident.id)
    return noted


def runs_of_incident(store: StateStore, incident: Incident) -> list[dict[str, Any]]:
    """Runs that started while the incident was open (opened_at … closed_at, or now), oldest first."""
    return store.runs_started_between(incident.opened_at, incident.window_end())


# ----- closing -----------------------------------------------------------------------------------------


def verify_lake(lake: Lake) -> Verification:
    """Run ``verify.verify`` over every table; a failure to verify is reported, not raised."""
    try:
        from lakemend.ops.verify import verify

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
    jobs = tuple(store.jobs_of_runs([r["run_id"] for r in linked]))
    report = Report(closed, tuple(stored.notes_of(store, closed.id)), tuple(linked), jobs, verification,
                    row_changes(lake, jobs), restore_points(lake, jobs))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(render_postmortem(report), encoding="utf-8")
    partial.replace(target)
    if not stored.record_close(store, closed):
        raise LakemendError(f"{closed.id} was closed by someone else meanwhile", "see lakemend incident list")
    return closed, target


def _summary_of(lake: Lake, table: str, snapshot_id: int | None) -> dict[str, str] | None:
    current = lake.table(table) if snapshot_id is not None else None
    snapshot = current.snapshot_by_id(snapshot_id) if current is not None else None
    return dict(snapshot.summary.additional_properties) if snapshot is not None and snapshot.summary else None


def _day_rows(summary: dict[str, str] | None, day: dt.date) -> tuple[int, int] | None:
    """A day's rows (before, after) in a commit: its ``lakemend.day-rows`` entry (a commit may
    publish many days), else the summary's totals (a one-day commit of an older lakemend)."""
    if summary is None:
        return None
    if DAY_ROWS in summary:
        entry = json.loads(summary[DAY_ROWS]).get(day.isoformat())
        return (int(entry[0]), int(entry[1])) if entry else None
    return int(summary.get("deleted-records", 0)), int(summary.get("added-records", 0))


def row_changes(lake: Lake, job_rows: Sequence[dict[str, Any]]) -> tuple[RowChange, ...]:
    """Per partition changed by a succeeded job: its rows before the first change and after the last."""
    changed: dict[tuple[str, dt.date], list[dict[str, Any]]] = defaultdict(list)
    for job in job_rows:
        if job["status"] == "succeeded" and job["snapshot_after"] is not None:
            changed[(job["table_name"], job["day"])].append(job)
    out = []
    for (table, day), jobs in changed.items():
        first = _day_rows(_summary_of(lake, table, jobs[0]["snapshot_after"]), day)
        last = _day_rows(_summary_of(lake, table, jobs[-1]["snapshot_after"]), day)
        before = first[0] if first is not None and jobs[0]["snapshot_before"] is not None else None
        after = last[1] if last is not None else jobs[-1]["rows_written"]
        out.append(RowChange(table, day, before, after))
    return tuple(out)


def restore_points(lake: Lake, job_rows: Sequence[dict[str, Any]]) -> tuple[RestorePoint, ...]:
    """The ``pre-<run_id>`` tags the incident's runs made that the tables still hold."""
    from lakemend.iceberg.publish import restore_tag

    found = []
    for run_id, table in dict.fromkeys((j["run_id"], j["table_name"]) for j in job_rows if j["status"] == "succeeded"):
        current = lake.table(table)
        ref = current.metadata.refs.get(restore_tag(run_id)) if current is not None else None
        if ref is not None:
            found.append(RestorePoint(table, restore_tag(run_id), ref.snapshot_id))
    return tuple(found)


# ----- the post-mortem draft ---------------------------------------------------------------------------


def render_postmortem(report: Report) -> str:
    """The Markdown draft: facts from the state DB first, then the sections the author writes."""
    sections = [
        _header(report),
        _summary(report.incident),
        _impact(report),
        ("## Detection\n\n_How was it noticed (alert, DQ check, a user), when, and how long after it began? "
         "What would have caught it sooner? — to be written._"),
        _timeline(report),
        _partitions(report.jobs),
        _rows_changed(report),
        _restore_points(report.restore_points),
        _failures(report),
        _reasons(report.runs),
        _verification(report.verification),
        "## Root cause\n\n_Why it happened (the five whys), not only what broke — to be written._",
        "## Action items\n\n| action | owner | due |\n|---|---|---|\n|  |  |  |\n|  |  |  |\n\n- [ ] \n- [ ] \n- [ ] ",
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
    events += [_Event(n.at, 1, f"{_text(n.user or 'unknown')} {_indented(n.text.removeprefix(ACTION))}"
                      if n.text.startswith(ACTION) else f"note by {_text(n.user or 'unknown')}: {_indented(n.text)}")
               for n in report.notes]
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
        quarantined = last_ok.get("rows_quarantined")
        if last_ok.get("command") == "quarantine":  # the partition itself was taken out: all its rows
            quarantined = last_ok.get("rows_read")
        rows.append([table, day, attempts[-1]["status"], len(attempts), last_ok.get("rows_written"), quarantined, snapshots])
    columns = ["table", "day", "status", "jobs", "rows written", "rows quarantined", "snapshot before → after"]
    return "## Partitions affected\n\n" + _md_table(columns, rows)


def _rows_changed(report: Report) -> str:
    """Per partition: rows before the incident's first change and after its last (snapshot
    summaries), and the records its last build sent to quarantine (or, for a partition taken out
    by ``lakemend quarantine``, all of its rows)."""
    if not report.row_changes:
        return "## Rows changed\n\nNo partition was published during the incident."
    last_ok: dict[tuple[str, dt.date], dict[str, Any]] = {}
    for job in report.jobs:
        if job["status"] == "succeeded":
            last_ok[(job["table_name"], job["day"])] = job
    rank = {j["table_name"]: LAYER_RANK.get(j["layer"], 9) for j in report.jobs}
    rows = []
    for change in sorted(report.row_changes, key=lambda c: (rank.get(c.table, 9), c.table, c.day)):
        job = last_ok.get((change.table, change.day), {})
        taken_out = job.get("command") == "quarantine"
        quarantined = job.get("rows_read") if taken_out else job.get("rows_quarantined")
        delta = None if change.before is None or change.after is None else f"{change.after - change.before:+,}"
        rows.append([change.table, change.day, change.before if change.before is not None else "— (new)",
                     change.after, delta, f"{quarantined} (partition taken out)" if taken_out else quarantined])
    return ("## Rows changed\n\n_Rows of each partition before the incident's first change and after its last "
            "(Iceberg snapshot summaries), and the records quarantined by its last build._\n\n"
            + _md_table(["table", "day", "rows before", "rows after", "change", "rows quarantined"], rows))


def _restore_points(points: Sequence[RestorePoint]) -> str:
    if not points:
        return "## Restore points\n\nNo run of the incident replaced published data, so none was tagged."
    rows = [[p.table, f"`{p.tag}`", p.snapshot_id, f"`lakemend rollback --table {p.table} --to {p.tag}`"] for p in points]
    return ("## Restore points\n\n_The state before each run's first change, tagged (kept until `lakemend vacuum` "
            "expires it)._\n\n" + _md_table(["table", "tag", "snapshot", "to go back"], rows))


def _impact(report: Report) -> str:
    """Facts from the ledger to start the impact from; the author adds who was affected."""
    changed = {(c.table, c.day) for c in report.row_changes}
    failed = {(j["table_name"], j["day"]) for j in report.jobs if j["status"] == "failed"}
    days = sorted({d for _, d in changed | failed})
    span = "" if not days else (f", days {days[0]} … {days[-1]}" if len(days) > 1 else f", day {days[0]}")
    quarantined = sum((j["rows_read"] if j["command"] == "quarantine" else j["rows_quarantined"]) or 0
                      for j in report.jobs if j["status"] == "succeeded")
    facts = (f"- {len(changed)} partition(s) of {len({t for t, _ in changed})} table(s) republished{span}\n"
             f"- {len(failed)} partition(s) with a failed job; {quarantined:,} row(s) quarantined\n"
             f"- {len(report.verification.damage)} problem(s) found by verify at close")
    return ("## Impact\n\n" + facts + "\n\n_Who and what downstream saw wrong or late data, for how long — "
            "to be written._")


def _failures(report: Report) -> str:
    lines = [f"- `{j['table_name']}` {j['day']} (run {j['run_id']}, {when(j['started_at'])}): {_indented(j['error'] or 'no error recorded')}"
             for j in report.jobs if j["status"] == "failed"]
    with_jobs = {j["run_id"] for j in report.jobs if j["status"] == "failed"}
    lines += [f"- run {r['run_id']} ({r['command']}, {when(r['started_at'])}): {_indented(r['error'] or 'failed')}"
              for r in report.runs if r["status"] == "failed" and r["run_id"] not in with_jobs]
    stopped = [f"- run {r['run_id']} ({r['command']}, {when(r['started_at'])}) was interrupted "
               f"({sum(1 for j in report.jobs if j['run_id'] == r['run_id'] and j['status'] == 'interrupted')} job(s) "
               f"stopped): {_indented(r['error'] or 'interrupted')}"
               for r in report.runs if r["status"] == "interrupted"]
    body = "\n".join(lines) if lines else "No job failed during the incident."
    return "## Failures\n\n" + body + ("\n\n" + "\n".join(stopped) if stopped else "")


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
