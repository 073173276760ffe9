"""``lakemend lineage``: which jobs wrote a day, from which inputs, when and why — or, without a
day, where a table comes from and what reads it.

The answer is read by :mod:`lakemend.observe.lineage_read` (the OpenLineage events of the file
transport, completed from the ledger; the project's graph for a table); this command only picks
the tables and prints it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError


def lineage(
    date: Annotated[Optional[str], typer.Option(
        "--date", metavar="DAY", help="The partition day, YYYY-MM-DD (without it: the lineage of each --table).")] = None,
    table: Annotated[Optional[list[str]], typer.Option(
        "--table", metavar="TABLE", help="Only jobs writing or reading this table (layer.table or a unique table name); "
                                         "repeatable.")] = None,
    output: opt.Output = None,
) -> None:
    """Which jobs wrote a day: when, which run, from which inputs (days @snapshot) to which output, status and why.

    With --date: reads the OpenLineage events of the file transport, and the ledger for jobs they
    lack. Without --date: each --table's upstream and downstream tables (with their mappings), its
    landing sources and its newest jobs.

    Example: [bold]lakemend lineage --date 2025-10-26 --table silver.orders_clean[/]

    Example: [bold]lakemend lineage --table gold.daily_revenue[/]
    """
    out = context.output(output)
    if not date and not table:
        raise UsageError("say which day or which table", "pass --date DAY and/or --table TABLE")
    lake = context.open_lake()
    specs = context.tables(lake, table) if table else []
    if date:
        _of_day(lake, date, [s.qualified for s in specs], out)
    else:
        _of_tables(lake, [s.qualified for s in specs], out)


def _of_day(lake, date: str, tables: list[str], out) -> None:  # noqa: ANN001 - Lake, Output
    from lakemend.dates import parse_day
    from lakemend.observe.lineage_read import jobs_of_day

    day = parse_day(date)
    found = jobs_of_day(lake, day, tables or None)
    out.document([asdict(j) for j in found])
    rows = [[(j.started_at or j.ended_at or "")[:19].replace("T", " "), j.run_id, j.command,
             f"{', '.join(i.describe() for i in j.inputs) or '(none recorded)'} → {j.output()}",
             j.status + (f": {j.error}" if j.error else ""), j.reason or ""] for j in found]
    if rows:
        out.table(f"Jobs that wrote {day} (UTC, oldest first)", ["started", "run", "command", "inputs → output",
                                                                 "status", "reason"], rows)
    else:
        out.text(f"No job wrote {day}" + (f" with {', '.join(tables)}" if tables else "") + ".")


def _of_tables(lake, tables: list[str], out) -> None:  # noqa: ANN001 - Lake, Output
    from lakemend.observe.lineage_read import table_lineage

    found = [table_lineage(lake, name) for name in tables]
    out.document([asdict(t) for t in found])
    for item in found:
        out.text(f"[bold]{item.table}[/] — landing sources: {', '.join(item.sources) or 'none'}")
        edges = [["upstream", e.source, e.target, e.mapping] for e in item.upstream]
        edges += [["downstream", e.source, e.target, e.mapping] for e in item.downstream]
        if edges:
            out.table(None, ["direction", "reads", "read by", "days read"], edges)
        if item.recent:
            out.table(f"Newest jobs that wrote {item.table}", ["run", "day", "status", "rows written", "ended", "reason"],
                      [[j["run_id"], j["day"], j["status"], j["rows_written"], j["ended_at"], j["reason"]] for j in item.recent])
        else:
            out.text(f"No job wrote {item.table} yet.")
