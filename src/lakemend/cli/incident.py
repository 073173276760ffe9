"""Incident commands: open, note, close (with a post-mortem draft), list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError

incident_app = typer.Typer(
    help="Incidents: open one, note what you do, close it with a post-mortem draft built from the ledger.",
    no_args_is_help=True,
)


@incident_app.command("open")
def open_(
    title: Annotated[str, typer.Option("--title", help="What is broken, in one line.")],
    severity: Annotated[str, typer.Option("--severity", help="sev1, sev2 or sev3.")] = "sev2",
    output: opt.Output = None,
) -> None:
    """Open an incident: every run started while it is open is linked to it.

    Example: [bold]lakemend incident open --title "orders export re-sent twice" --severity sev2[/]
    """
    from lakemend.observe.events import emit
    from lakemend.observe.notify import incident_notice
    from lakemend.ops.incidents import open_incident

    out = context.output(output)
    lake = context.open_lake()
    record = open_incident(lake.state, title, severity)
    emit(lake, incident_notice(record))
    out.document(record.as_dict())
    out.text(f"Opened {record.id} ({record.severity}): {record.title}", soft_wrap=True)
    out.text(f"Runs from now on are linked to it. Note steps with: lakemend incident note {record.id} \"TEXT\"",
             soft_wrap=True)


def split_note_args(words: list[str]) -> tuple[str | None, str]:
    """``[INCIDENT_ID] TEXT…``: a first word shaped like INC-0001 names the incident."""
    from lakemend.ops.incidents import ID_PATTERN

    if len(words) > 1 and ID_PATTERN.match(words[0]):
        return words[0], " ".join(words[1:])
    if len(words) == 1 and ID_PATTERN.match(words[0]):
        raise UsageError(f"no note text after {words[0]}", f"e.g. lakemend incident note {words[0]} \"paused silver.orders_clean\"")
    return None, " ".join(words)


@incident_app.command("note")
def note(
    words: Annotated[list[str], typer.Argument(metavar="[INCIDENT_ID] TEXT", help="The incident (default: the only open one) and the note.")],
    output: opt.Output = None,
) -> None:
    """Add a timestamped note to an open incident (it goes into the post-mortem's timeline).

    Example: [bold]lakemend incident note "paused silver.orders_clean while checking duplicates"[/]
    """
    from lakemend.ops.incidents import add_note

    out = context.output(output)
    incident_id, text = split_note_args(words)
    recorded = add_note(context.open_lake().state, incident_id, text)
    out.document({"incident": recorded.incident_id, "at": recorded.at, "text": text})
    out.text(f"Noted on {recorded.incident_id} at {recorded.at:%H:%M:%S} UTC.")


@incident_app.command("close")
def close(
    incident_id: Annotated[Optional[str], typer.Argument(metavar="[INCIDENT_ID]", help="Default: the only open incident.")] = None,
    summary: Annotated[Optional[str], typer.Option("--summary", help="What happened, for the post-mortem.")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", "-f", help="Where to write the post-mortem draft.")] = None,
    output: opt.Output = None,
) -> None:
    """Close an incident: verify the lake and write a Markdown post-mortem draft from the ledger.

    Default file: .lakemend/incidents/<ID>-postmortem.md in the project.
    Example: [bold]lakemend incident close INC-0001 --summary "duplicate export; silver rebuilt for 2025-10-26"[/]
    """
    from lakemend.observe.events import emit
    from lakemend.observe.notify import incident_notice
    from lakemend.ops.incidents import close_incident, duration

    out = context.output(output)
    lake = context.open_lake()
    record, path = close_incident(lake, incident_id, summary, out_file)
    emit(lake, incident_notice(record))
    assert record.closed_at is not None
    took = duration(record.opened_at, record.closed_at)
    out.document(record.as_dict() | {"duration": took, "postmortem": str(path)})
    out.text(f"Closed {record.id} after {took}.")
    out.text(f"Post-mortem draft: {path}", soft_wrap=True)


@incident_app.command("list")
def list_(output: opt.Output = None) -> None:
    """Every incident, oldest first, with the number of runs linked to it.

    Example: [bold]lakemend incident list --output json[/]
    """
    from lakemend.ops.incidents import list_incidents, runs_of_incident, when

    out = context.output(output)
    store = context.open_lake().state
    records = [(i, len(runs_of_incident(store, i))) for i in list_incidents(store)]
    out.document([i.as_dict() | {"runs": n} for i, n in records])
    rows = [[i.id, i.severity, i.status, i.title, when(i.opened_at), i.opened_by, when(i.closed_at) if i.closed_at else None, n]
            for i, n in records]
    out.table("Incidents", ["id", "severity", "status", "title", "opened (UTC)", "by", "closed (UTC)", "runs"], rows)
    if not records:
        out.text("No incidents.")
