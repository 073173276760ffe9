"""The post-mortem draft of a drill: pause and resume in the timeline, the restore points the runs
made, real row counts per partition (a quarantined partition's rows included), and the sections an
author fills in (Impact, Detection, Root cause, Action items)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import START, build

from lakemend.lake import Lake

DAY = START + dt.timedelta(days=1)


def test_postmortem_of_a_corruption_drill(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    assert not build(example, START, START + dt.timedelta(days=2)).failed
    monkeypatch.setenv("LAKEMEND_REASON", "drill")
    assert cli("incident", "open", "--title", "orders <b>wrong</b>", cwd=example).code == 0
    assert cli("pause", "--all", "--reason", "stop the line", cwd=example).code == 0

    rows = Lake.open(example).table("silver.orders_clean").scan(row_filter=f"day = '{DAY}'").to_arrow().num_rows
    taken = cli("quarantine", "--table", "silver.orders_clean", "--date", DAY.isoformat(), "--yes", cwd=example)
    assert taken.code == 0, taken.err
    assert "pre-<run_id>" not in taken.out  # the real tag, or none — never the placeholder
    quarantine_run = re.search(r"run (\S+);", taken.out).group(1)
    assert f"restore point tag pre-{quarantine_run}" in taken.out

    refused = cli("repair", "--missing", cwd=example)  # paused: refused before any plan is printed
    assert refused.code == 1 and "paused" in refused.err and "Plan" not in refused.out and refused.out == ""
    assert cli("resume", "--all", cwd=example).code == 0
    repaired = cli("repair", "--missing", "--yes", "--output", "json", cwd=example)
    assert repaired.code == 0, repaired.err

    closed = cli("incident", "close", cwd=example)
    assert closed.code == 0, closed.err
    text = (example / ".lakemend" / "incidents" / "INC-0001-postmortem.md").read_text()

    timeline = text.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    assert "paused every table — reason: stop the line" in timeline and "resumed every table" in timeline
    assert timeline.index("paused every table") < timeline.index("quarantine `silver.orders_clean`") \
        < timeline.index("resumed every table")

    for section in ("## Impact", "## Detection", "## Root cause", "## Action items", "## Restore points"):
        assert section in text, section
    assert f"`pre-{quarantine_run}`" in text
    lake = Lake.open(example)
    assert f"pre-{quarantine_run}" in lake.table("silver.orders_clean").metadata.refs
    assert f"lakemend rollback --table silver.orders_clean --to pre-{quarantine_run}" in text

    partitions = text.split("## Partitions affected", 1)[1].split("\n## ", 1)[0]
    changed = text.split("## Rows changed", 1)[1].split("\n## ", 1)[0]
    # the partition was taken out (all its rows), then rebuilt by the repair: before and after are real counts
    assert f"| silver.orders_clean | {DAY} | {rows:,} | {rows} | +0 |" in changed, changed
    assert f"| silver.orders_clean | {DAY} | succeeded | 2 |" in partitions
    assert "# INC-0001: orders &lt;b>wrong&lt;/b>" in text


def test_quarantine_row_count_in_the_postmortem(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """A partition taken out and not rebuilt: the draft says how many rows left the table, not 0."""
    assert not build(example, START, DAY).failed
    monkeypatch.setenv("LAKEMEND_REASON", "drill")
    assert cli("incident", "open", "--title", "bad day", cwd=example).code == 0
    rows = Lake.open(example).table("silver.orders_clean").scan(row_filter=f"day = '{DAY}'").to_arrow().num_rows
    assert rows > 0
    assert cli("quarantine", "--table", "silver.orders_clean", "--date", DAY.isoformat(), "--yes", cwd=example).code == 0
    assert cli("incident", "close", cwd=example).code == 0
    text = (example / ".lakemend" / "incidents" / "INC-0001-postmortem.md").read_text()
    assert f"| silver.orders_clean | {DAY} | succeeded | 1 | 0 | {rows} |" in text
    assert f"| silver.orders_clean | {DAY} | {rows:,} | 0 | {-rows:+,} | {rows} (partition taken out) |" in text
    assert f"{rows:,} row(s) quarantined" in text
