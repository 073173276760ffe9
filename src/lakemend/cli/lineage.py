"""``lakemend lineage``: which jobs wrote a day, from which inputs, when and why.

The answer is read by :mod:`lakemend.observe.lineage_read` (the OpenLineage events of the file
transport, completed from the ledger); this command only picks the table and prints it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from lakemend.cli import context
from lakemend.cli import options as opt


def lineage(
    date: Annotated[str, typer.Option("--date", help="The partition day, YYYY-MM-DD.")],
    table: Annotated[str | None, typer.Option("--table", help="Only jobs writing or reading this table "
                                                              "(layer.table or a unique table name).")] = None,
    output: opt.Output = None,
) -> None:
    """Which jobs wrote a day: when, which run, from which inputs (days @snapshot) to which output, status and why.

    Reads the OpenLineage events of the file transport, and the ledger for jobs they lack.
    Example: [bold]lakemend lineage --date 2025-10-26 --table silver.orders_clean[/]
    """
    from lakemend.dates import parse_day
    from lakemend.observe.lineage_read import jobs_of_day

    out = context.output(output)
    day = parse_day(date)
    lake = context.open_lake()
    found = jobs_of_day(lake, day, lake.project.find_table(table).qualified if table else None)
    out.document([asdict(j) for j in found])
    rows = [[(j.started_at or j.ended_at or "")[:19].replace("T", " "), j.run_id, j.command,
             f"{', '.join(i.describe() for i in j.inputs) or '(none recorded)'} → {j.output()}",
             j.status + (f": {j.error}" if j.error else ""), j.reason or ""] for j in found]
    if rows:
        out.table(f"Jobs that wrote {day} (UTC, oldest first)", ["started", "run", "command", "inputs → output",
                                                                 "status", "reason"], rows)
    else:
        out.text(f"No job wrote {day}" + (f" with {table}" if table else "") + ".")
