"""The ``report`` command: one self-contained HTML file of the lake's state and history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lakemend.errors import UsageError
from lakemend.output import console


def report(
    start: Annotated[Optional[str], typer.Option("--start", help="First partition day (default: the last 30 days with data).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last partition day (inclusive).")] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="The HTML file to write (replaced if it exists).")] = Path("report.html"),
) -> None:
    """Write one self-contained HTML report: partition heatmap, DQ results, job charts, quarantine, runs with reasons, open incidents.

    The file loads nothing when opened (inline CSS and SVG, no script), so it can be mailed or attached to a ticket.
    Example: [bold]lakemend report --start 2025-10-20 --end 2025-10-27 -o report.html[/]
    """
    from lakemend.cli.app import _lake
    from lakemend.dates import parse_day
    from lakemend.ops.report import write_report

    first = parse_day(start, "--start") if start else None
    last = parse_day(end, "--end") if end else None
    if first and last and last < first:
        raise UsageError(f"--end {last} is before --start {first}", "swap them")
    target = out.expanduser().resolve()
    if target.is_dir():
        raise UsageError(f"-o {out} is a folder", "name the HTML file to write, e.g. -o report.html")
    data = write_report(_lake(), target, first, last)
    days = data.days
    span = f"{days[0]} … {days[-1]}" if days else "no days with data"
    size = target.stat().st_size
    console.print(f"Wrote {target} ({size / 1024:,.0f} KB): {len(data.heatmap.cells)} tables, {span}, "
                  f"{len(data.jobs)} partition job(s), {len(data.incidents)} open incident(s).", soft_wrap=True)
