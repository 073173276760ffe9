"""Incidents: open → runs → notes → close writes a post-mortem draft from the ledger; runs link by time."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import START, build
from lakemend.ops.incidents import (
    Incident,
    Note,
    Report,
    Verification,
    get_incident,
    list_incidents,
    render_postmortem,
    runs_of_incident,
)
from lakemend.lake import Lake

NEXT = START + dt.timedelta(days=1)


@pytest.fixture
def icli(cli):  # noqa: ANN001, ANN201
    """The in-process CLI (kept as a name: the incident tests read better with it)."""
    return cli


def ledger_row(root: Path, table: str, day: dt.date) -> dict:
    (row,) = Lake.open(root).state.list_jobs(table=table, day=day, status="succeeded")
    return row


def test_close_writes_a_postmortem_of_what_happened(example: Path, icli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LAKEMEND_REASON", "INC: orders export re-sent")
    opened = icli("incident", "open", "--title", "Orders doubled in gold", "--severity", "sev1", cwd=example)
    assert opened.code == 0, opened.err
    assert "INC-0001" in opened.out
    assert not build(example, START, START).failed
    assert icli("incident", "note", "paused", "silver.orders_clean", "to", "investigate", cwd=example).code == 0
    assert icli("run", "--date", NEXT.isoformat(), cwd=example).code == 0
    assert icli("incident", "note", "INC-0001", "rebuilt; counts match", cwd=example).code == 0

    closed = icli("incident", "close", "--summary", "The export was delivered twice.", cwd=example)
    assert closed.code == 0, closed.err
    path = example / ".lakemend" / "incidents" / "INC-0001-postmortem.md"
    assert str(path) in closed.out.replace("\n", "")
    text = path.read_text()

    assert "# INC-0001: Orders doubled in gold" in text
    assert "**Severity:** sev1" in text and "The export was delivered twice." in text
    assert "paused silver.orders_clean to investigate" in text and "rebuilt; counts match" in text
    for table in ("bronze.orders", "silver.orders_clean", "gold.customer_orders"):
        for day in (START, NEXT):
            row = ledger_row(example, table, day)
            assert f"| {table} | {day} | succeeded | 1 | {row['rows_written']} | {row['rows_quarantined']} |" in text
    assert "INC: orders export re-sent" in text and "- test" in text  # the reasons of both runs
    assert "## Rows changed" in text and "## Failures" in text and "No job failed" in text
    assert "verify: no damage found" in text
    assert "## Action items\n\n" in text and "- [ ] " in text
    assert "<" not in text  # no HTML

    listed = json.loads(icli("incident", "list", "--output", "json", cwd=example).out)
    assert [(i["id"], i["status"], i["runs"]) for i in listed] == [("INC-0001", "closed", 2)]

    store = Lake.open(example).state
    incident = get_incident(store, "INC-0001")
    linked = {r["run_id"] for r in runs_of_incident(store, incident)}
    later = build(example, NEXT + dt.timedelta(days=1), NEXT + dt.timedelta(days=1))
    assert later.run_id not in {r["run_id"] for r in runs_of_incident(store, incident)}
    assert {r["run_id"] for r in runs_of_incident(store, incident)} == linked


def test_close_without_id_needs_the_only_open_incident(example: Path, icli, tmp_path: Path) -> None:  # noqa: ANN001
    assert icli("incident", "open", "--title", "first", cwd=example).code == 0
    assert icli("incident", "open", "--title", "second", cwd=example).code == 0
    ambiguous = icli("incident", "close", cwd=example)
    assert ambiguous.code == 2
    assert "INC-0001" in ambiguous.err and "INC-0002" in ambiguous.err

    target = tmp_path / "pm" / "second.md"
    assert icli("incident", "close", "inc-2", "-f", str(target), cwd=example).code == 0
    assert target.read_text().startswith("# INC-0002: second")
    again = icli("incident", "close", "INC-0002", cwd=example)
    assert again.code == 2 and "already closed" in again.err
    assert icli("incident", "close", cwd=example).code == 0  # INC-0001 is now the only open one
    assert [i.status for i in list_incidents(Lake.open(example).state)] == ["closed", "closed"]


def test_note_needs_an_open_incident(example: Path, icli) -> None:  # noqa: ANN001
    result = icli("incident", "note", "checked the landing zone", cwd=example)
    assert result.code == 2 and "no incident is open" in result.err
    assert icli("incident", "note", "INC-0009", "text", cwd=example).code == 2
    assert icli("incident", "open", "--title", "t", "--severity", "sev9", cwd=example).code == 2


def test_postmortem_lists_failures_and_damage() -> None:
    at = dt.datetime(2025, 10, 26, 3, 0)
    incident = Incident("INC-0003", "silver broke", "sev2", "closed", at, at + dt.timedelta(minutes=75), "ana", "bo", None)
    run = {"run_id": "r1", "command": "rebuild", "status": "failed", "started_at": at + dt.timedelta(minutes=5),
           "reason": "fix | pipes", "error": "1 partition job(s) failed"}
    job = {"run_id": "r1", "command": "rebuild", "layer": "silver", "table_name": "silver.orders_clean", "day": START,
           "status": "failed", "started_at": run["started_at"], "reason": run["reason"], "rows_written": None,
           "rows_quarantined": None, "rows_deduplicated": None, "snapshot_before": 11, "snapshot_after": None,
           "error": "contract: amount < 0"}
    damage = Verification(damage=(("silver.orders_clean", START, "data file missing: x.parquet"),))
    text = render_postmortem(Report(incident, (Note("INC-0003", at, "ana", "looking"),), (run,), (job,), damage))
    assert "**Duration:** 1h 15m 00s" in text
    assert "- `silver.orders_clean` 2025-10-20 (run r1, 2025-10-26 03:05:00): contract: amount < 0" in text
    assert "| silver.orders_clean | 2025-10-20 | failed | 1 | — | — | 11 → — |" in text
    assert "No partition was published" in text
    assert "verify: 1 problem(s) found" in text and "data file missing: x.parquet" in text
    assert text.index("incident opened") < text.index("note by ana") < text.index("rebuild `silver.orders_clean`")


def test_postmortem_escapes_html_in_user_text() -> None:
    """Titles, summaries, notes, reasons and errors are user text: shown in the Markdown, never run."""
    import re

    evil = "<script>alert(1)</script><img src=x onerror=alert(2)><!-- x -->"
    at = dt.datetime(2025, 10, 26, 3, 0)
    incident = Incident("INC-0004", f"orders {evil}", "sev1", "closed", at, at + dt.timedelta(minutes=5),
                        f"ana{evil}", "bo", f"summary {evil}")
    run = {"run_id": "r1", "command": "rebuild", "status": "failed", "started_at": at + dt.timedelta(minutes=1),
           "reason": f"why {evil}", "error": f"run error {evil}"}
    job = {"run_id": "r1", "command": "rebuild", "layer": "silver", "table_name": "silver.orders_clean", "day": START,
           "status": "failed", "started_at": run["started_at"], "reason": run["reason"], "rows_written": None,
           "rows_quarantined": None, "rows_deduplicated": None, "snapshot_before": 11, "snapshot_after": None,
           "error": f"job error {evil}"}
    damage = Verification(damage=(("silver.orders_clean", START, f"damage {evil}"),))
    text = render_postmortem(Report(incident, (Note("INC-0004", at, "ana", f"note {evil}"),), (run,), (job,), damage))
    assert not re.search(r"<[A-Za-z/!?]", text), [line for line in text.splitlines() if re.search(r"<[A-Za-z/!?]", line)]
    shown = "&lt;script>alert(1)&lt;/script>&lt;img src=x onerror=alert(2)>&lt;!-- x -->"
    for where in ("# INC-0004: orders ", "summary ", "note ", "why ", "job error ", "damage "):
        assert where + shown in text, where
    assert "contract: amount < 0" in render_postmortem(Report(
        incident, (), (run,), ({**job, "error": "contract: amount < 0"},), Verification()))  # not HTML: as written
