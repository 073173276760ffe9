"""``lakemend ls`` (the tables: layer, inputs, published days) and ``lakemend tags`` (a table's
restore points, the targets of ``rollback --to``). Both read metadata only."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from lakemend.cli import context
from lakemend.cli import options as opt


def ls(
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    output: opt.Output = None,
) -> None:
    """List the tables: layer, landing source or inputs (with their day mapping), and the days published.

    Reads the project and Iceberg metadata only. --output json prints one document, a list of tables.

    Example: [bold]lakemend ls --select 'silver.*+'[/]
    """
    from lakemend.ops.inventory import list_tables

    out = context.output(output)
    lake = context.open_lake()
    specs = lake.project.select(select or [], exclude or []) if lake.project.tables else []
    found = list_tables(lake, specs)
    out.document([asdict(t) for t in found])
    out.table("Tables (dependency order)", ["table", "layer", "reads", "partitions", "first day", "last day"],
              [[t.table, t.layer, f"landing: {t.source}" if t.source else ", ".join(t.depends_on), t.partitions,
                t.first_day or "", t.last_day or ""] for t in found])
    if not lake.project.tables:
        out.text(f"No tables yet: define sources (and silver / gold models) in {lake.project.root / 'lakemend.yaml'}.")


def tags(
    table: Annotated[list[str], typer.Argument(metavar="TABLE...", help="layer.table or a unique table name; several allowed.")],
    output: opt.Output = None,
) -> None:
    """List a table's restore points: the pre-<run_id> tags (and branches) that rollback --to takes.

    Every run that changes a table first tags its current snapshot pre-<run_id>; vacuum drops the
    old ones. The ledger's snapshot_before (lakemend runs --output json) names the same snapshots.

    Example: [bold]lakemend tags silver.orders_clean[/]
    """
    from lakemend.ops.inventory import restore_points

    out = context.output(output)
    lake = context.open_lake()
    points = [p for spec in context.tables(lake, table) for p in restore_points(lake, spec)]
    out.document([asdict(p) for p in points])
    if points:
        out.table("Restore points (newest first)", ["table", "ref", "kind", "snapshot", "committed (UTC)"],
                  [[p.table, p.name, p.kind, p.snapshot_id,
                    f"{p.committed_at:%Y-%m-%d %H:%M:%S}" if p.committed_at else ""] for p in points])
    else:
        out.text("No restore points yet: a table gets its first pre-<run_id> tag when a run changes it.")
