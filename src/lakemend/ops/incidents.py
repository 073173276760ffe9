"""Incidents: open one, take notes, close it with a post-mortem draft built from the ledger.

The two tables live on the shared state ``metadata`` and are created on first use, so a state
DB made before incidents existed gains them without a migration. Runs are linked to an incident
by time, not by a foreign key: a run belongs to every incident open when it started. That keeps
the runner unaware of incidents and links runs started by any process or host.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from lakemend.errors import LakemendError, UsageError
from lakemend.state.store import StateStore, jobs, metadata, runs, utcnow, whoami

if TYPE_CHECKING:
    from lakemend.lake import Lake

SEVERITIES = ("sev1", "sev2", "sev3")
ID_PATTERN = re.compile(r"^INC-(\d+)$", re.IGNORECASE)
LAYER_RANK = {"bronze": 0, "silver": 1, "gold": 2}

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("title", Text, nullable=False),
    Column("severity", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Column("opened_by", String(128)),
    Column("closed_by", String(128)),
    Column("summary", Text),
)

incident_notes = Table(
    "incident_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(16), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("user", String(128)),
    Column("text", Text, nullable=False),
)


# ----- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    severity: str
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    opened_by: str | None
    closed_by: str | None
    summary: str | None

    def window_end(self) -> dt.datetime:
        """The end of the incident's time window: its close, or now while it is open."""
        return self.closed_at or utcnow()

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Note:
    incident_id: str
    at: dt.datetime
    user: str | None
    text: str


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


# ----- the tables ------------------------------------------------------------------------------------


def ensure_tables(store: StateStore) -> None:
    """Create the incident tables if missing (idempotent; older state DBs gain them here)."""
    metadata.create_all(store.engine, tables=[incidents, incident_notes])


def _incident(row: Any) -> Incident:
    return Incident(**{k: row[k] for k in Incident.__dataclass_fields__})


def _number(incident_id: str) -> int:
    match = ID_PATTERN.match(incident_id)
    return int(match.group(1)) if match else 0


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
    ensure_tables(store)
    user, _ = whoami()
    for _attempt in range(5):  # another process may take the same id between our read and insert
        with store.engine.connect() as conn:
            taken = max((_number(i) for i in conn.execute(select(incidents.c.id)).scalars()), default=0)
        record = Incident(f"INC-{taken + 1:04d}", title.strip(), severity, "open", utcnow(), None, user, None, None)
        try:
            with store.engine.begin() as conn:
                conn.execute(insert(incidents).values(**record.as_dict()))
            return record
        except IntegrityError:
            continue
    raise LakemendError("could not allocate an incident id", "retry; another process is opening incidents")


def list_incidents(store: StateStore, status: str | None = None) -> list[Incident]:
    """Every incident (or those of one status), oldest first."""
    ensure_tables(store)
    query = select(incidents)
    if status:
        query = query.where(incidents.c.status == status)
    with store.engine.connect() as conn:
        records = [_incident(r) for r in conn.execute(query).mappings()]
    return sorted(records, key=lambda i: _number(i.id))


def get_incident(store: StateStore, incident_id: str) -> Incident:
    ensure_tables(store)
    wanted = normalize_id(incident_id)
    with store.engine.connect() as conn:
        row = conn.execute(select(incidents).where(incidents.c.id == wanted)).mappings().first()
    if row is None:
        raise UsageError(f"no incident {wanted}", "see lakemend incident list")
    return _incident(row)


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
    user, _ = whoami()
    note = Note(record.id, utcnow(), user, text.strip())
    with store.engine.begin() as conn:
        conn.execute(insert(incident_notes).values(incident_id=note.incident_id, at=note.at, user=note.user, text=note.text))
    return note


def notes_of(store: StateStore, incident: Incident) -> list[Note]:
    ensure_tables(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(incident_notes).where(incident_notes.c.incident_id == incident.id)
            .order_by(incident_notes.c.at, incident_notes.c.id)
        ).mappings()
        return [Note(r["incident_id"], r["at"], r["user"], r["text"]) for r in rows]


def runs_of_incident(store: StateStore, incident: Incident) -> list[dict[str, Any]]:
    """Runs that started while the incident was open (opened_at … closed_at, or now), oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(runs).where(runs.c.started_at >= incident.opened_at, runs.c.started_at <= incident.window_end())
            .order_by(runs.c.started_at)
        ).mappings()
        return [dict(r) for r in rows]


def jobs_of_runs(store: StateStore, run_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The ledger rows of the given runs, in the order they started."""
    ids = list(run_ids)
    if not ids:
        return []
    with store.engine.connect() as conn:
        rows = conn.execute(select(jobs).where(jobs.c.run_id.in_(ids)).order_by(jobs.c.started_at, jobs.c.id)).mappings()
        return [dict(r) for r in rows]


def _persist_close(store: StateStore, closed: Incident) -> None:
    """Mark the incident closed unless someone else closed it meanwhile."""
    with store.engine.begin() as conn:
        changed = conn.execute(
            update(incidents).where(incidents.c.id == closed.id, incidents.c.status == "open")
            .values(status="closed", closed_at=closed.closed_at, closed_by=closed.closed_by, summary=closed.summary)
        ).rowcount
    if not changed:
        raise LakemendError(f"{closed.id} was closed by someone else meanwhile", "see lakemend incident list")


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

    The draft is written before the close is recorded, so a failure to write it leaves the
    incident open and the command can simply be run again.
    """
    store = lake.state
    record = resolve_open(store, incident_id)
    target = (path or default_postmortem_path(lake, record.id)).expanduser().resolve()
    if target.exists():
        raise UsageError(f"{target} already exists", "pass -o with another file, or move that one away")
    verification = verify_lake(lake)
    user, _ = whoami()
    closed = replace(record, status="closed", closed_at=utcnow(), closed_by=user,
                     summary=summary.strip() if summary and summary.strip() else None)
    linked = runs_of_incident(store, closed)
    report = Report(closed, tuple(notes_of(store, closed)), tuple(linked),
                    tuple(jobs_of_runs(store, [r["run_id"] for r in linked])), verification)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_postmortem(report), encoding="utf-8")
    _persist_close(store, closed)
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


def _cell(value: Any) -> str:
    """A value safe inside a Markdown table cell."""
    if value is None:
        return "—"
    return " ".join(str(value).split()).replace("|", "\\|")


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _indented(text: str) -> str:
    """Multi-line text kept inside one list item."""
    return "\n  ".join(text.splitlines())


def _header(report: Report) -> str:
    inc = report.incident
    end = inc.window_end()
    return "\n".join([
        f"# {inc.id}: {inc.title}",
        "",
        "_Post-mortem draft written by `lakemend incident close`. Times are UTC._",
        "",
        f"- **Severity:** {inc.severity}",
        f"- **Opened:** {when(inc.opened_at)} by {inc.opened_by or 'unknown'}",
        f"- **Closed:** {when(inc.closed_at)} by {inc.closed_by or 'unknown'}",
        f"- **Duration:** {duration(inc.opened_at, end)}",
        f"- **Runs during the incident:** {len(report.runs)}"
        + (f" ({', '.join(r['run_id'] for r in report.runs)})" if report.runs else ""),
    ])


def _summary(incident: Incident) -> str:
    body = incident.summary or "_What happened, the impact, the root cause — to be written._"
    return f"## Summary\n\n{body}"


@dataclass(frozen=True)
class _Event:
    at: dt.datetime
    order: int  # keeps opened first and closed last when times tie
    text: str


def _timeline(report: Report) -> str:
    inc = report.incident
    events = [_Event(inc.opened_at, 0, f"incident opened by {inc.opened_by or 'unknown'} ({inc.severity}): {inc.title}")]
    events += [_Event(n.at, 1, f"note by {n.user or 'unknown'}: {_indented(n.text)}") for n in report.notes]
    events += _ledger_events(report)
    if inc.closed_at:
        events.append(_Event(inc.closed_at, 2, f"incident closed by {inc.closed_by or 'unknown'}"))
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
            detail = f" ({run['error']})" if run.get("error") else ""
            items.append((run["started_at"], run["reason"], f"{run['command']} run {run['run_id']}: {run['status']}, no partition job{detail}"))
    events, last_reason = [], None
    for at, reason, text in sorted(items, key=lambda i: i[0]):
        if reason and reason != last_reason:
            text += f" — reason: {reason}"
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
        body = f"verify: could not run ({result.error}) — run `lakemend verify` and paste its result"
    elif not result.damage:
        body = "verify: no damage found"
    else:
        lines = [f"- `{table}` {day or '(table)'}: {reason}" for table, day, reason in result.damage]
        body = f"verify: {len(result.damage)} problem(s) found at close time\n\n" + "\n".join(lines)
    return "## Verification\n\n_`lakemend verify` over every table when the incident was closed._\n\n" + body
