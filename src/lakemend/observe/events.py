"""The events of observability and their dispatch: every partition job (and incident, DQ result)
becomes an event for the sinks.

Sinks are modules with ``handle(lake, event)``: the run log, OpenLineage, CloudWatch, the
Prometheus textfile, notifications. A sink that fails (raising, e.g., :class:`SinkError`) is
reported on stderr and never fails the job.

This is the bottom of ``lakemend.observe``: it imports no other observe module (the sinks are
loaded by name in :func:`emit`), and every sink imports it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakemend.lake import Lake

SINKS = (
    "lakemend.observe.logs",
    "lakemend.observe.lineage",
    "lakemend.observe.cloudwatch",
    "lakemend.observe.prometheus",
    "lakemend.observe.notify",
)
JOB_KINDS = ("START", "COMPLETE", "FAIL")
"""The ``kind`` of a :class:`JobEvent`."""


class SinkError(Exception):
    """A sink could not deliver; its message is already redacted."""


@dataclass(frozen=True)
class InputRead:
    """One input of a job: which days of which table, at which snapshot."""

    table: str
    first_day: dt.date | None  # None: from the beginning (an `upto` input)
    last_day: dt.date
    snapshot_id: int | None


@dataclass(frozen=True)
class JobEvent:
    """A partition job starting (``START``), done (``COMPLETE``) or failed (``FAIL``)."""

    kind: str
    run_id: str
    command: str
    layer: str
    table: str
    day: dt.date
    reason: str | None
    at: dt.datetime
    source: str | None = None
    inputs: tuple[InputRead, ...] = ()
    snapshot_before: int | None = None
    snapshot_after: int | None = None
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    seconds: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """A non-job event for notifications and logs: dq_failed, incident_opened, incident_closed."""

    kind: str
    title: str
    text: str
    at: dt.datetime
    details: dict[str, Any] = field(default_factory=dict)


logger = logging.getLogger("lakemend")


def warn(text: str) -> None:
    """A problem that must not fail the job (a sink that failed): logged as a warning on the
    ``lakemend`` logger, which the CLI shows on stderr as ``Warning: <text>``."""
    logger.warning(text)


def emit(lake: Lake, event: JobEvent | Notice) -> None:
    """Hand the event to every sink; a sink's failure is reported, never raised."""
    for name in SINKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # sink not installed in this build
            raise
        try:
            module.handle(lake, event)
        except Exception as exc:  # noqa: BLE001 - observability must not fail the job
            warn(f"{name.rsplit('.', 1)[-1]} sink failed: {type(exc).__name__}: {exc}")
