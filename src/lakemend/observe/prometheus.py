"""The runbook's metrics in the Prometheus text exposition format (version 0.0.4).

Names are the runbook's own, so one alert rule reads the same in CloudWatch and Prometheus:
``BackfillJobsStarted``, ``BackfillJobsSucceeded``, ``BackfillJobsFailed`` (counters) and
``BackfillDurationSeconds`` (a summary: ``_sum`` and ``_count``), labels layer, table, source.
Values are totals from the state DB, so they only grow (counter semantics) while it is kept.

With ``metrics.prometheus_textfile`` the file is rewritten atomically after every job, for
node_exporter's textfile collector.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from lakemend.observe.events import JobEvent, Notice
from lakemend.state.metrics import DURATION, FAILED, STARTED, SUCCEEDED, totals
from lakemend.state.store import StateStore

if TYPE_CHECKING:
    from lakemend.lake import Lake

COUNTERS = (STARTED, SUCCEEDED, FAILED)
HELP = {
    STARTED: "Partition jobs started (backfill, rebuild, refresh, run, repair).",
    SUCCEEDED: "Partition jobs that published their partition.",
    FAILED: "Partition jobs that failed; the published data was left untouched.",
    DURATION: "Wall-clock seconds of finished partition jobs.",
}

Labels = tuple[str, str, str]  # layer, table, source


def render(store: StateStore, since: dt.datetime | None = None) -> str:
    """The exposition text. Every counter has a sample for every label set seen (0 if none),
    so ``increase(BackfillJobsFailed[1h]) > 0`` fires on the first failure of a table too."""
    data: dict[tuple[str, Labels], tuple[float, int]] = totals(store, since)
    label_sets = sorted({labels for _, labels in data})
    lines: list[str] = []
    for name in COUNTERS:
        lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} counter"]
        lines += [f"{name}{{{_labels(labels)}}} {_number(data.get((name, labels), (0.0, 0))[0])}"
                  for labels in label_sets]
    lines += [f"# HELP {DURATION} {HELP[DURATION]}", f"# TYPE {DURATION} summary"]
    for labels in label_sets:
        total, count = data.get((DURATION, labels), (0.0, 0))
        lines.append(f"{DURATION}_sum{{{_labels(labels)}}} {_number(total)}")
        lines.append(f"{DURATION}_count{{{_labels(labels)}}} {count}")
    return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    return ",".join(f'{key}="{_escape(value)}"' for key, value in zip(("layer", "table", "source"), labels, strict=True))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    value = round(float(value), 6)
    return str(int(value)) if value.is_integer() else repr(value)


def write_textfile(lake: Lake) -> Path | None:
    """Rewrite ``metrics.prometheus_textfile`` atomically (tmp in the same folder + os.replace),
    so the collector never reads half a file; None when not configured."""
    configured = lake.project.config.metrics.prometheus_textfile
    if not configured:
        return None
    target = lake.project.local(configured)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The collector reads *.prom only; the temporary name is unique per process and thread.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(render(lake.state), encoding="utf-8")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def handle(lake: Lake, event: JobEvent | Notice) -> None:
    """After a job ends, its numbers are in the state DB: rewrite the textfile."""
    if isinstance(event, JobEvent) and event.kind in ("COMPLETE", "FAIL"):
        write_textfile(lake)
