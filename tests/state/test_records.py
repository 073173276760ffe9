"""DQ results and incidents stored in, and read back from, a real state DB."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from lakemend.state.dq import DqResult, dq_history, record_results
from lakemend.state.incidents import (
    add_incident,
    add_note,
    get_incident,
    list_incidents,
    notes_of,
    record_close,
)
from lakemend.state.store import StateStore

DAY = dt.date(2025, 10, 21)


@pytest.fixture
def store(state_url: str) -> StateStore:
    """A new state DB: a SQLite file, then a database on a real PostgreSQL server."""
    return StateStore(state_url)


def test_dq_results_round_trip(store: StateStore) -> None:
    early, late = dt.datetime(2025, 11, 4, 1), dt.datetime(2025, 11, 4, 2)
    record_results(store, "c1", early, [DqResult("silver.t", DAY, "row_count", 0, ">= 1", False, "empty")])
    record_results(store, "c2", late, [DqResult("silver.t", DAY, "freshness", "12.5h", "<= 24h", True),
                                       DqResult("gold.g", DAY, "unique(id)", None, "0 duplicates", True)])
    record_results(store, "c3", late, [])  # nothing to store

    everything = dq_history(store)
    assert [(r.check_run, r.check) for r in everything] == [("c1", "row_count"), ("c2", "freshness"),
                                                            ("c2", "unique(id)")]
    observed_as_text = DqResult("silver.t", DAY, "row_count", "0", ">= 1", False, "empty", early, "c1")
    assert everything[0] == observed_as_text
    assert [r.check for r in dq_history(store, table="gold.g")] == ["unique(id)"]
    assert [r.check_run for r in dq_history(store, since=late)] == ["c2", "c2"]
    assert len(dq_history(store, since=late.date())) == 3  # a date means from its midnight
    with store.engine.connect() as conn:  # the number beside the text, for trend charts
        values = [row[0] for row in conn.exec_driver_sql("SELECT value FROM dq_results ORDER BY id")]
    assert values == [0.0, 12.5, None]


def test_incidents_and_notes_round_trip(store: StateStore) -> None:
    first = add_incident(store, "orders doubled", "sev1")
    second = add_incident(store, "late export", "sev3")
    assert (first.id, second.id, first.status, first.closed_at) == ("INC-0001", "INC-0002", "open", None)
    assert get_incident(store, "INC-0001") == first and get_incident(store, "INC-0009") is None

    note = add_note(store, first.id, "paused silver")
    add_note(store, first.id, "rebuilt")
    assert [n.text for n in notes_of(store, first.id)] == ["paused silver", "rebuilt"]
    assert notes_of(store, second.id) == [] and note.incident_id == "INC-0001"

    closed = replace(first, status="closed", closed_at=first.opened_at, closed_by="bo", summary="sent twice")
    assert record_close(store, closed)
    assert not record_close(store, closed)  # already closed: nothing changes
    assert get_incident(store, first.id) == closed
    assert [i.id for i in list_incidents(store)] == ["INC-0001", "INC-0002"]
    assert [i.id for i in list_incidents(store, "open")] == ["INC-0002"]
    assert add_incident(store, "third", "sev2").id == "INC-0003"


def test_incident_ids_sort_by_number_not_text(store: StateStore) -> None:
    for n in range(11):
        add_incident(store, f"incident {n}", "sev3")
    assert [i.id for i in list_incidents(store)][-2:] == ["INC-0010", "INC-0011"]
