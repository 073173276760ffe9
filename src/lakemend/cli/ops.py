"""Operations commands: pause / resume, status, metrics."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError


def _scope(lake, table: str | None, all_tables: bool) -> str:  # noqa: ANN001 - Lake, imported lazily
    """``*`` for --all, else the table's qualified name."""
    if all_tables:
        return "*"
    assert table is not None
    return lake.project.find_table(table).qualified


def _check_scope(table: str | None, all_tables: bool) -> None:
    if bool(table) == all_tables:
        raise UsageError("give exactly one of --table T or --all", "e.g. --table silver.orders_clean")


def pause(
    table: Annotated[Optional[str], typer.Option("--table", help="layer.table or a table name that is unique across layers.")] = None,
    all_tables: Annotated[bool, typer.Option("--all", help="Pause every table (stop the pipeline).")] = False,
    reason: opt.Reason = None,
    output: opt.Output = None,
) -> None:
    """Stop writes: paused tables refuse run, backfill, rebuild and refresh unless --force.

    The reason is shown to whoever is refused. Example: [bold]lakemend pause --table silver.orders_clean --reason "investigating duplicate orders"[/]
    """
    from lakemend.state.store import PauseFlags

    out = context.output(output)
    _check_scope(table, all_tables)
    lake = context.open_lake()
    scope = _scope(lake, table, all_tables)
    why = context.resolve_reason(reason, out)
    PauseFlags(lake.state).pause(scope, why)
    out.document({"paused": scope, "reason": why})
    out.text(f"Paused {'every table' if scope == '*' else scope}: {why}")


def resume(
    table: Annotated[Optional[str], typer.Option("--table", help="layer.table or a table name that is unique across layers.")] = None,
    all_tables: Annotated[bool, typer.Option("--all", help="Lift the pause of every table.")] = False,
    output: opt.Output = None,
) -> None:
    """Lift a pause set by `lakemend pause`.

    Example: [bold]lakemend resume --table silver.orders_clean[/]
    """
    from lakemend.state.store import PauseFlags

    out = context.output(output)
    _check_scope(table, all_tables)
    lake = context.open_lake()
    scope = _scope(lake, table, all_tables)
    flags = PauseFlags(lake.state)
    if scope == "*":
        lifted = [name for name in flags.all() if flags.resume(name)]
        out.document({"resumed": lifted})
        out.text(f"Resumed {len(lifted)} pause(s).")
        return
    if not flags.resume(scope):
        raise UsageError(f"{scope} is not paused", "see lakemend status")
    out.document({"resumed": [scope]})
    out.text(f"Resumed {scope}.")


def status(
    table: Annotated[Optional[str], typer.Option("--table", help="Only this table (layer.table or a unique table name).")] = None,
    layer: Annotated[Optional[str], typer.Option("--layer", help="Only this layer: bronze, silver or gold.")] = None,
    start: opt.Start = None,
    end: opt.End = None,
    output: opt.Output = None,
) -> None:
    """Heatmap of tables × days: published, missing, stale, failed, quarantined or paused.

    Reads Iceberg metadata, file listings and the state DB — never data files. Without --start the
    last 14 days with data are shown.
    Example: [bold]lakemend status --layer silver --start 2025-10-20 --end 2025-10-27[/]
    """
    from rich.table import Table

    from lakemend.dates import parse_day
    from lakemend.ops.heatmap import STATES, SYMBOLS, build_heatmap
    from lakemend.state.store import PauseFlags

    out = context.output(output)
    if layer and layer not in ("bronze", "silver", "gold"):
        raise UsageError(f"--layer {layer!r} is not a layer", "use bronze, silver or gold")
    lake = context.open_lake()
    specs = lake.project.ordered
    if layer:
        specs = [s for s in specs if s.layer == layer]
    if table:
        specs = [lake.project.find_table(table)]
    heat = build_heatmap(lake, specs, parse_day(start, "--start") if start else None, parse_day(end, "--end") if end else None)
    pauses = PauseFlags(lake.state).all()
    out.document({"days": heat.days, "tables": {t: {str(d): s for d, s in row.items()} for t, row in heat.cells.items()},
                  "totals": heat.totals(), "paused": {t: p["reason"] for t, p in pauses.items()}})
    if out.is_json:
        return
    grid = Table(title="Partitions", header_style="bold", show_lines=False, pad_edge=False)
    grid.add_column("table")
    for day in heat.days:
        grid.add_column(day.strftime("%m-%d"), justify="center")
    for name, row in heat.cells.items():
        cells = []
        for day in heat.days:
            state = row.get(day)
            symbol, style = SYMBOLS.get(state, (" ", ""))
            cells.append(f"[{style}]{symbol}[/]" if state else "")
        grid.add_row(name, *cells)
    out.text(grid)
    out.text("  ".join(f"[{SYMBOLS[s][1]}]{SYMBOLS[s][0]}[/] {s} {heat.totals()[s]}" for s in STATES))
    for name, flag in pauses.items():
        out.text(f"paused: {'every table' if name == '*' else name} — {flag['reason']} (since {flag['since']:%Y-%m-%d %H:%M} UTC)")


def metrics(
    since: Annotated[Optional[str], typer.Option("--since", help="30m, 6h, 7d or a date (UTC).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="text, json or prometheus (text exposition format).")] = None,
    output: opt.Output = None,
) -> None:
    """BackfillJobsStarted / Succeeded / Failed and BackfillDurationSeconds by layer, table, source.

    Example: [bold]lakemend metrics --since 1d[/]  ·  [bold]lakemend metrics --format prometheus[/]
    """
    from lakemend.state.metrics import parse_since, summary

    if fmt not in (None, "text", "json", "prometheus"):
        raise UsageError(f"--format {fmt!r} is not supported", "use --format text, json or prometheus")
    if fmt == "prometheus" and output == "json":
        raise UsageError("--format prometheus and --output json ask for two formats", "give one of them")
    out = context.output(fmt if fmt in ("text", "json") else output)
    lake = context.open_lake()
    if fmt == "prometheus":
        from lakemend.observe.prometheus import render

        out.raw(render(lake.state, parse_since(since)))
        return
    rows = summary(lake.state, parse_since(since))
    out.document(rows)
    out.table("Metrics", ["metric", "layer", "table", "source", "value", "samples", "max"],
              [[r["metric"], r["layer"], r["table"], r["source"], r["value"], r["samples"], r["max"]] for r in rows])
