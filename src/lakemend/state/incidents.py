"""Incidents and their notes in the state DB: the records, and every statement on their tables.

Opening, noting and closing (with the post-mortem) are operations in ``lakemend.ops.incidents``;
runs are linked to an incident by time there, so nothing here touches the ledger.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from lakemend.errors import LakemendError
from lakemend.state.store import StateStore, incident_notes, incidents, utcnow, whoami

ID_PATTERN = re.compile(r"^INC-(\d+)$", re.IGNORECASE)


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


def number(incident_id: str) -> int:
    """The sequence number of an id (``INC-0007`` → 7; 0 if it is not shaped like one)."""
    match = ID_PATTERN.match(incident_id)
    return int(match.group(1)) if match else 0


def _incident(row: Any) -> Incident:
    return Incident(**{k: row[k] for k in Incident.__dataclass_fields__})


def add_incident(store: StateStore, title: str, severity: str) -> Incident:
    """Record a new open incident with the next sequential id (INC-0001, INC-0002, …)."""
    user, _ = whoami()
    for _attempt in range(5):  # another process may take the same id between our read and insert
        with store.engine.connect() as conn:
            taken = max((number(i) for i in conn.execute(select(incidents.c.id)).scalars()), default=0)
        record = Incident(f"INC-{taken + 1:04d}", title, severity, "open", utcnow(), None, user, None, None)
        try:
            with store.engine.begin() as conn:
                conn.execute(insert(incidents).values(**record.as_dict()))
            return record
        except IntegrityError:
            continue
    raise LakemendError("could not allocate an incident id", "retry; another process is opening incidents")


def list_incidents(store: StateStore, status: str | None = None) -> list[Incident]:
    """Every incident (or those of one status), oldest first."""
    query = select(incidents)
    if status:
        query = query.where(incidents.c.status == status)
    with store.engine.connect() as conn:
        records = [_incident(r) for r in conn.execute(query).mappings()]
    return sorted(records, key=lambda i: number(i.id))


def get_incident(store: StateStore, incident_id: str) -> Incident | None:
    """The incident of this exact id (``INC-0007``), or None."""
    with store.engine.connect() as conn:
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).mappings().first()
    return _incident(row) if row else None


def record_close(store: StateStore, closed: Incident) -> bool:
    """Store the close of an open incident; False when someone else closed it meanwhile."""
    with store.engine.begin() as conn:
        changed = conn.execute(
            update(incidents).where(incidents.c.id == closed.id, incidents.c.status == "open")
            .values(status="closed", closed_at=closed.closed_at, closed_by=closed.closed_by, summary=closed.summary)
        ).rowcount
    return bool(changed)


def add_note(store: StateStore, incident_id: str, text: str) -> Note:
    """Record a note on the incident (the caller checks that it is open)."""
    user, _ = whoami()
    note = Note(incident_id, utcnow(), user, text)
    with store.engine.begin() as conn:
        conn.execute(insert(incident_notes).values(incident_id=note.incident_id, at=note.at, user=note.user, text=note.text))
    return note


def notes_of(store: StateStore, incident_id: str) -> list[Note]:
    """The notes of one incident, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(incident_notes).where(incident_notes.c.incident_id == incident_id)
            .order_by(incident_notes.c.at, incident_notes.c.id)
        ).mappings()
        return [Note(r["incident_id"], r["at"], r["user"], r["text"]) for r in rows]
