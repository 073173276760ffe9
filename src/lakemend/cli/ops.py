"""Operations commands: pause / resume, status, metrics."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError


def _check_scope(tables: list[str] | None, all_tables: bool) -> None:
    if bool(tables) == all_tables:
        raise UsageError("give --table T (repeatable) or --all, not both", "e.g. --table silver.orders_clean")


def pause(
    table: opt.Table = None,
    all_tables: Annotated[bool, typer.Option("--all", help="Pause every table (stop the pipeline).")] = False,
    reason: opt.Reason = None,
    output: opt.Output = None,
) -> None:
    """Stop writes: paused tables refuse run, backfill, rebuild, refresh and repair unless --force.

    A refused backfill or repair stops before it prints its plan; --dry-run still works while paused,
    and `status` keeps showing every day's state with ‖ beside the paused tables. The reason is
    shown to whoever is refused. Example: [bold]lakemend pause --table silver.orders_clean --reason "investigating duplicate orders"[/]
    """
    from lakemend.ops.incidents import record_action
    from lakemend.state.store import PauseFlags

    out = context.output(output)
    _check_scope(table, all_tables)
    lake = context.open_lake()
    scopes = ["*"] if all_tables else [spec.qualified for spec in context.tables(lake, table)]
    why = context.resolve_reason(reason, out)
    flags = PauseFlags(lake.state)
    for scope in scopes:
        flags.pause(scope, why)
    named = "every table" if scopes == ["*"] else ", ".join(scopes)
    record_action(lake.state, f"paused {named} — reason: {why}")  # open incidents' timeline
    out.document({"paused": scopes[0] if len(scopes) == 1 else scopes, "tables": scopes, "reason": why})
    out.text(f"Paused {named}: {why}")


def resume(
    table: opt.Table = None,
    all_tables: Annotated[bool, typer.Option("--all", help="Lift the pause of every table.")] = False,
    output: opt.Output = None,
) -> None:
    """Lift a pause set by `lakemend pause`.

    Example: [bold]lakemend resume --table silver.orders_clean[/]
    """
    from lakemend.ops.incidents import record_action
    from lakemend.state.store import PauseFlags

    out = context.output(output)
    _check_scope(table, all_tables)
    lake = context.open_lake()
    flags = PauseFlags(lake.state)
    if all_tables:
        lifted = [name for name in flags.all() if flags.resume(name)]
        if lifted:
            record_action(lake.state, "resumed " + ", ".join("every table" if n == "*" else n for n in lifted))
        out.document({"resumed": lifted})
        out.text(f"Resumed {len(lifted)} pause(s).")
        return
    scopes = [spec.qualified for spec in context.tables(lake, table)]
    not_paused = [scope for scope in scopes if scope not in flags.all()]
    if not_paused:
        raise UsageError(f"{', '.join(not_paused)} {'is' if len(not_paused) == 1 else 'are'} not paused", "see lakemend status")
    for scope in scopes:
        flags.resume(scope)
    record_action(lake.state, f"resumed {', '.join(scopes)}")
    out.document({"resumed": scopes})
    out.text(f"Resumed {', '.join(scopes)}.")


def status(
    table: opt.Table = None,
    layer: Annotated[Optional[str], typer.Option("--layer", help="Only this layer: bronze, silver or gold.")] = None,
    start: opt.Start = None,
    end: opt.End = None,
    output: opt.Output = None,
) -> None:
    """Heatmap of tables × days: published, missing, stale, failed or quarantined; paused tables marked.

    Reads Iceberg metadata, file listings and the state DB — never data files. Without --start the
    last 14 days with data are shown; ┊ marks skipped days (no data, none expected). A pause is a
    marker beside the table (‖), so missing, stale and failed days stay visible while paused. Stale
    is what `repair --stale` rebuilds; ▣ is a published day whose bad records went to quarantine.<table>.
    Example: [bold]lakemend status --layer silver --start 2025-10-20 --end 2025-10-27[/]
    """
    from lakemend.dates import parse_day
    from lakemend.ops.heatmap import build_heatmap

    out = context.output(output)
    if layer and layer not in ("bronze", "silver", "gold"):
        raise UsageError(f"--layer {layer!r} is not a layer", "use bronze, silver or gold")
    lake = context.open_lake()
    specs = lake.project.ordered
    if layer:
        specs = [s for s in specs if s.layer == layer]
    if table:
        specs = [spec for spec in context.tables(lake, table) if spec in specs]
    heat = build_heatmap(lake, specs, parse_day(start, "--start") if start else None, parse_day(end, "--end") if end else None)
    pauses = heat.pauses
    out.document({"days": heat.days, "tables": {t: {str(d): s for d, s in row.items()} for t, row in heat.cells.items()},
                  "totals": {**heat.totals(), "records_quarantined": heat.quarantined_record_total()},
                  "paused": {t: p["reason"] for t, p in pauses.items()},
                  "tables_paused": heat.paused,
                  "records_quarantined": {t: {str(d): n for d, n in row.items()} for t, row in heat.records_quarantined.items()}})
    if out.is_json:
        return
    for line in render_heatmap(heat, out.console.width):
        out.text(line, soft_wrap=True)
    for name, flag in pauses.items():
        out.text(f"paused: {'every table' if name == '*' else escape(name)} — {escape(flag['reason'])} "
                 f"(since {flag['since']:%Y-%m-%d %H:%M} UTC; writes refused until lakemend resume)", soft_wrap=True)


def render_heatmap(heat, width: int) -> list[str]:  # noqa: ANN001 - ops.heatmap.Heatmap
    """The heatmap as lines of rich markup that fit ``width`` columns: table names in full; three
    columns per day with its day of month when they fit, else one (a day label every Monday);
    ┊ where days are skipped; the oldest days left out (and said so) when even that is too wide."""
    from lakemend.ops.heatmap import GAP_SYMBOL, PAUSED_SYMBOL, RECORDS_SYMBOL, STATES, SYMBOLS

    names = list(heat.cells)
    if not names or not heat.days:
        return ["No partitions to show (no data and none expected for these tables and days)."]
    name_width = max(len(n) for n in names)
    prefix = name_width + 3  # the name, the pause marker, a space
    days = list(heat.days)

    def first_fitting(cell: int) -> int:
        """Where the longest run of the last days that fits ``width`` starts (``len(days)``: none fits)."""
        gap = 1 if cell == 1 else 2
        used, start = prefix, len(days)
        while start > 0:
            more = cell + (gap if start < len(days) and (days[start] - days[start - 1]).days > 1 else 0)
            if used + more > width:
                break
            used, start = used + more, start - 1
        return start

    cell = 3 if first_fitting(3) == 0 else 1
    left_out = min(first_fitting(cell), len(days) - 1)  # the last day at least
    days = days[left_out:]
    gap_before = {i for i in range(1, len(days)) if (days[i] - days[i - 1]).days > 1}
    gap = GAP_SYMBOL if cell == 1 else f"{GAP_SYMBOL} "

    months, labels, position = [], [], 0
    month_free = day_free = 0
    pending = ""  # a month whose label did not fit at its first day: shown at its first day with room
    for i, day in enumerate(days):
        if i in gap_before:
            months.append(" " * len(gap))
            labels.append(" " * len(gap))
            position += len(gap)
        if i == 0 or (day.year, day.month) != (days[i - 1].year, days[i - 1].month):
            pending = f"{day:%Y-%m}"
        month_text = pending if pending and position >= month_free else ""
        if month_text:
            month_free, pending = position + len(month_text) + 1, ""
        if cell == 3:
            labels.append(f"{day.day:02d} ")
        else:
            tick = i == 0 or i in gap_before or day.weekday() == 0
            labels.append(f"{day.day:02d}" if tick and position >= day_free else "")
            if labels[-1]:
                day_free = position + 3
        months.append(month_text)
        position += cell

    lines = ["Partitions (tables × days, UTC)", " " * prefix + _place(months, days, gap_before, cell, gap),
             " " * prefix + _place(labels, days, gap_before, cell, gap)]
    for name in names:
        row = heat.cells[name]
        marker = f"[{PAUSED_SYMBOL[1]}]{PAUSED_SYMBOL[0]}[/]" if name in heat.paused else " "
        cells = []
        for i, day in enumerate(days):
            if i in gap_before:
                cells.append(f"[dim]{gap}[/]")
            state = row.get(day)
            symbol, style = SYMBOLS.get(state, (" ", ""))
            if state == "published" and heat.records_quarantined.get(name, {}).get(day):
                symbol, style = RECORDS_SYMBOL
            text = symbol if cell == 1 else f" {symbol} "
            cells.append(f"[{style}]{text}[/]" if state else " " * cell)
        lines.append(f"{escape(name).ljust(name_width + len(escape(name)) - len(name))} {marker} " + "".join(cells).rstrip())
    totals = heat.totals()
    label = {"quarantined": "partition quarantined"}
    legend = [f"[{SYMBOLS[s][1]}]{SYMBOLS[s][0]}[/] {label.get(s, s)} {totals[s]}" for s in STATES]
    records = heat.quarantined_record_total()
    with_records = sum(1 for row in heat.records_quarantined.values() for d in row if d in days)
    legend.insert(1, f"[{RECORDS_SYMBOL[1]}]{RECORDS_SYMBOL[0]}[/] with quarantined records {with_records}")
    lines += _packed(legend, width)
    notes = []
    if records:
        where = ", ".join(f"{t} {d:%m-%d} {n:,}" for t, row in heat.records_quarantined.items() for d, n in sorted(row.items()))
        notes.append(f"records quarantined: {records:,} ({where if len(where) <= 160 else where[:157] + '…'}; "
                     f"see lakemend query \"SELECT * FROM quarantine.<table>\")")
    if gap_before:
        notes.append(f"{GAP_SYMBOL} days skipped (no data, none expected)")
    if heat.paused:
        notes.append(f"[{PAUSED_SYMBOL[1]}]{PAUSED_SYMBOL[0]}[/] paused (cells keep their state)")
    if left_out:
        notes.append(f"the oldest {left_out} of {len(heat.days)} days are left out to fit {width} columns "
                     f"(narrow --start/--end, or widen the terminal)")
    return lines + notes


def _packed(items: list[str], width: int) -> list[str]:
    """Legend items (rich markup) joined on as few lines of ``width`` columns as they fit."""
    from rich.text import Text

    lines: list[str] = []
    used = 0
    for item in items:
        size = Text.from_markup(item).cell_len
        if lines and used + 2 + size <= width:
            lines[-1] += "  " + item
            used += 2 + size
        else:
            lines.append(item)
            used = size
    return lines


def _place(parts: list[str], days: list, gap_before: set[int], cell: int, gap: str) -> str:
    """Header labels at their day's column: each part starts where its day's cell starts (a gap
    column between), and is dropped where the previous label still runs."""
    text = ""
    column = 0
    index = 0
    for i in range(len(days)):
        if i in gap_before:
            index += 1  # the gap's placeholder
            column += len(gap)
        part = parts[index].rstrip() if cell == 1 else parts[index]
        index += 1
        if part.strip() and len(text) <= column:
            text += " " * (column - len(text)) + part
        column += cell
    return text.rstrip()


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
