"""Observability: job events and notices, and the sinks that receive them.

Modules, lowest first (each imports only those above it):

- ``events``: InputRead, JobEvent, Notice, SinkError and :func:`~lakemend.observe.events.emit`,
  which hands an event to every sink (a sink's failure is reported, never raised);
- ``redact``: secrets never reach a log, a lineage event or an error message;
- ``aws``: the one factory of the sinks' boto3 clients;
- ``lineage_read``: reading lineage back (which jobs wrote a day), and the run ids and file layout
  it shares with the writer;
- the sinks, modules with ``handle(lake, event)``: ``cloudwatch`` (put_metric_data; the runbook's
  metric values), ``logs`` (the run log, EMF, CloudWatch Logs shipping), ``lineage`` (OpenLineage),
  ``prometheus`` (the textfile), ``notify`` (webhooks and SNS).
"""

from __future__ import annotations

# Transitional: ops/dq.py still imports ``from lakemend.observe import Notice, emit`` (and its test
# patches ``lakemend.observe.emit``); new code imports from lakemend.observe.events.
from lakemend.observe.events import Notice, emit

__all__ = ["Notice", "emit"]
