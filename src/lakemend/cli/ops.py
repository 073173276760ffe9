"""Operations commands: pause / resume, status, metrics, and ``runs resume``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.errors import UsageError
from lakemend.output import console, emit_json, emit_table

OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="text or json.")]


def _scope(table: str | None, all_tables: bool) -> str:
    from lakemend.cli.app import _lake

    if bool(table) == all_tables:
        raise UsageError("give exactly one of --table T or --all", "e.g. --table silver.orders_clean")
    if all_tables:
        return "*"
    lake = _lake()
    assert table is not None
    if "." not in table:
        matches = [t for t in lake.project.tables if t.split(".", 1)[1] == table]
        if len(matches) == 1:
            return matches[0]
    lake.project.table(table)
    return table


def pause(
    table: Annotated[Optional[str], typer.Option("--table", help="layer.table (or a unique table name).")] = None,
    all_tables: Annotated[bool, typer.Option("--all", help="Pause every table (stop the pipeline).")] = False,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (shown to whoever is refused).")] = None,
) -> None:
    """Stop writes: paused tables refuse run, backfill, rebuild and refresh unless --force.

    Example: [bold]lakemend pause --table silver.orders_clean --reason "investigating duplicate orders"[/]
    """
    from lakemend.ops.backfill import resolve_reason
    from lakemend.cli.app import _lake
    from lakemend.state.store import PauseFlags

    scope = _scope(table, all_tables)
    why = resolve_reason(reason)
    PauseFlags(_lake().state).pause(scope, why)
    console.print(f"Paused {'every table' if scope == '*' else scope}: {why}")


def resume(
    table: Annotated[Optional[str], typer.Option("--table", help="layer.table (or a unique table name).")] = None,
    all_tables: Annotated[bool, typer.Option("--all", help="Lift the pause of every table.")] = False,
) -> None:
    """Lift a pause set by `lakemend pause`.

    Example: [bold]lakemend resume --table silver.orders_clean[/]
    """
    from lakemend.cli.app import _lake
    from lakemend.state.store import PauseFlags

    scope = _scope(table, all_tables)
    flags = PauseFlags(_lake().state)
    if scope == "*":
        lifted = [name for name in flags.all() if flags.resume(name)]
        console.print(f"Resumed {len(lifted)} pause(s).")
        return
    if not flags.resume(scope):
        raise UsageError(f"{scope} is not paused", "see lakemend status")
    console.print(f"Resumed {scope}.")


def status(
    table: Annotated[Optional[str], typer.Option("--table", help="Only this table.")] = None,
    layer: Annotated[Optional[str], typer.Option("--layer", help="Only this layer: bronze, silver or gold.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="First day (default: the last 14 days with data).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last day.")] = None,
    output: OutputOpt = None,
) -> None:
    """Heatmap of tables × days: published, missing, stale, failed, quarantined or paused.

    Reads Iceberg metadata, file listings and the state DB — never data files.
    Example: [bold]lakemend status --layer silver --start 2025-10-20 --end 2025-10-27[/]
    """
    from rich.table import Table

    from lakemend.cli.app import _lake, _output
    from lakemend.dates import parse_day
    from lakemend.ops.heatmap import STATES, SYMBOLS, build_heatmap
    from lakemend.state.store import PauseFlags

    lake = _lake()
    specs = lake.project.ordered
    if layer:
        if layer not in ("bronze", "silver", "gold"):
            raise UsageError(f"--layer {layer!r} is not a layer", "use bronze, silver or gold")
        specs = [s for s in specs if s.layer == layer]
    if table:
        specs = [lake.project.table(table if "." in table else next(
            (t for t in lake.project.tables if t.split(".", 1)[1] == table), table))]
    heat = build_heatmap(lake, specs, parse_day(start, "--start") if start else None, parse_day(end, "--end") if end else None)
    pauses = PauseFlags(lake.state).all()
    fmt = _output(output)
    if fmt == "json":
        emit_json({"days": heat.days, "tables": {t: {str(d): s for d, s in row.items()} for t, row in heat.cells.items()},
                   "totals": heat.totals(), "paused": {t: p["reason"] for t, p in pauses.items()}})
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
    console.print(grid)
    console.print("  ".join(f"[{SYMBOLS[s][1]}]{SYMBOLS[s][0]}[/] {s} {heat.totals()[s]}" for s in STATES))
    for name, flag in pauses.items():
        console.print(f"paused: {'every table' if name == '*' else name} — {flag['reason']} (since {flag['since']:%Y-%m-%d %H:%M} UTC)")


def metrics(
    since: Annotated[Optional[str], typer.Option("--since", help="30m, 6h, 7d or a date (UTC).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="text, json or prometheus (text exposition format).")] = None,
    output: OutputOpt = None,
) -> None:
    """BackfillJobsStarted / Succeeded / Failed and BackfillDurationSeconds by layer, table, source.

    Example: [bold]lakemend metrics --since 1d[/]  ·  [bold]lakemend metrics --format prometheus[/]
    """
    import sys

    from lakemend.cli.app import _lake, _output
    from lakemend.state.metrics import parse_since, summary

    if fmt not in (None, "text", "json", "prometheus"):
        raise UsageError(f"--format {fmt!r} is not supported", "use --format text, json or prometheus")
    lake = _lake()
    if fmt == "prometheus":
        from lakemend.observe.prometheus import render

        sys.stdout.write(render(lake.state, parse_since(since)))
        return
    rows = summary(lake.state, parse_since(since))
    fmt = _output(fmt or output)
    if fmt == "json":
        emit_json(rows)
        return
    emit_table("Metrics", ["metric", "layer", "table", "source", "value", "samples", "max"],
               [[r["metric"], r["layer"], r["table"], r["source"], r["value"], r["samples"], r["max"]] for r in rows], fmt)


def runs_resume(
    run_id: Annotated[str, typer.Argument(help="The run to resume (see lakemend runs).")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (default: the original run's reason).")] = None,
    max_parallel: Annotated[Optional[int], typer.Option("--max-parallel", min=1)] = None,
    force: Annotated[bool, typer.Option("--force", help="Run even on paused tables.")] = False,
    output: OutputOpt = None,
) -> None:
    """Rerun an interrupted backfill with its original arguments; published days are kept.

    Example: [bold]lakemend runs resume 20251026T031500-a1b2c3[/]
    """
    from lakemend.cli.app import _lake
    from lakemend.cli.backfill import run_procedure

    lake = _lake()
    record = lake.state.get_run(run_id)
    if record is None:
        raise UsageError(f"no run {run_id!r} in the ledger", "see lakemend runs")
    args = record["args"] or {}
    if "plan_key" not in args:
        raise UsageError(f"run {run_id} is a {record['command']!r} run, not a backfill", "rerun lakemend run with the same days instead")
    if record["status"] == "succeeded":
        raise UsageError(f"run {run_id} already succeeded", "nothing to resume")
    later = lake.state.later_success(args["plan_key"], record["started_at"])
    if later:
        raise UsageError(f"run {run_id} was completed by run {later}", "nothing to resume")
    days = args["days"]
    run_procedure(record["command"], args["layer"], args["name"], None, days[0], days[-1], False, args["downstream"],
                  reason or record["reason"], max_parallel, force, None, output)
