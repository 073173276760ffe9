"""The ``report`` command: one self-contained HTML file of the lake's state and history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError


def report(
    start: opt.Start = None,
    end: opt.End = None,
    out_file: Annotated[Path, typer.Option("--out", "-f", help="The HTML file to write (replaced if it exists).")] = Path("report.html"),
    output: opt.Output = None,
) -> None:
    """Write one self-contained HTML report: partition heatmap, DQ results, job charts, quarantine, runs with reasons, open incidents.

    Without --start it covers the last 30 days with data. The file loads nothing when opened
    (inline CSS and SVG, no script), so it can be mailed or attached to a ticket.
    Example: [bold]lakemend report --start 2025-10-20 --end 2025-10-27 --out report.html[/]
    """
    from lakemend.dates import parse_day
    from lakemend.ops.report import write_report

    out = context.output(output)
    first = parse_day(start, "--start") if start else None
    last = parse_day(end, "--end") if end else None
    if first and last and last < first:
        raise UsageError(f"--end {last} is before --start {first}", "swap them")
    target = out_file.expanduser().resolve()
    if target.is_dir():
        raise UsageError(f"--out {out_file} is a folder", "name the HTML file to write, e.g. --out report.html")
    data = write_report(context.open_lake(), target, first, last)
    days = data.days
    size = target.stat().st_size
    out.document({"file": str(target), "bytes": size, "tables": len(data.heatmap.cells),
                  "first_day": days[0] if days else None, "last_day": days[-1] if days else None,
                  "jobs": len(data.jobs), "open_incidents": len(data.incidents)})
    span = f"{days[0]} … {days[-1]}" if days else "no days with data"
    out.text(f"Wrote {target} ({size / 1024:,.0f} KB): {len(data.heatmap.cells)} tables, {span}, "
             f"{len(data.jobs)} partition job(s), {len(data.incidents)} open incident(s).", soft_wrap=True)
