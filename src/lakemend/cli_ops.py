"""Operations commands: pause / resume, status, metrics, and ``runs resume``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.errors import UsageError
from lakemend.output import console, emit_json, emit_table

OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="text or json.")]


def _scope(table: str | None, all_tables: bool) -> str:
    from lakemend.cli import _lake

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
    from lakemend.backfill import resolve_reason
    from lakemend.cli import _lake
    from lakemend.state import PauseFlags

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
    from lakemend.cli import _lake
    from lakemend.state import PauseFlags

    scope = _scope(table, all_tables)
    flags = PauseFlags(_lake().state)
    if scope == "*":
        lifted = [name for name in flags.all() if flags.resume(name)]
        console.print(f"Resumed {len(lifted)} pause(s).")
        return
    if not flags.resume(scope):
        raise UsageError(f"{scope} is not paused", "see lakemend status")
    console.print(f"Resumed {scope}.")


def status(output: OutputOpt = None) -> None:
    """Tables, their published days and pauses (from Iceberg metadata and the state DB, not data files).

    Example: [bold]lakemend status[/]
    """
    from lakemend.cli import _lake, _output
    from lakemend.state import PauseFlags

    lake = _lake()
    flags = PauseFlags(lake.state).all()
    rows = []
    for spec in lake.project.ordered:
        days = sorted(set(lake.published_days(spec.qualified)) | set(lake.state.partition_states(spec.qualified)))
        flag = flags.get(spec.qualified) or flags.get("*")
        rows.append([spec.qualified, len(days), days[0] if days else None, days[-1] if days else None,
                     f"paused: {flag['reason']}" if flag else "active"])
    emit_table("Status", ["table", "days published", "first day", "last day", "state"], rows, _output(output))


def metrics(
    since: Annotated[Optional[str], typer.Option("--since", help="30m, 6h, 7d or a date (UTC).")] = None,
    output: OutputOpt = None,
) -> None:
    """BackfillJobsStarted / Succeeded / Failed and BackfillDurationSeconds by layer, table, source.

    Example: [bold]lakemend metrics --since 1d[/]
    """
    from lakemend.cli import _lake, _output
    from lakemend.metrics import parse_since, summary

    rows = summary(_lake().state, parse_since(since))
    fmt = _output(output)
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
    from lakemend.cli import _lake
    from lakemend.cli_backfill import run_procedure

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
