"""Options several commands share, defined once so they read and behave the same everywhere.

An option whose meaning differs in one command (``--reason`` of ``runs resume`` defaults to the
original run's reason) is defined in that command instead.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.errors import UsageError

Output = Annotated[Optional[str], typer.Option(
    "--output", "-o", help="text or json (default: the global --output); json prints exactly one JSON document.",
    show_default=False)]
OutputLong = Annotated[Optional[str], typer.Option(
    "--output", help="text or json (default: the global --output); json prints exactly one JSON document.",
    show_default=False)]
"""``--output`` without ``-o``, for the commands whose ``-o`` names the file they write."""

Table = Annotated[Optional[str], typer.Option(
    "--table", help="layer.table or a table name that is unique across layers (default: every table).")]
RequiredTable = Annotated[str, typer.Option("--table", help="layer.table or a table name that is unique across layers.")]

Date = Annotated[Optional[str], typer.Option("--date", help="One day, YYYY-MM-DD.")]
Start = Annotated[Optional[str], typer.Option("--start", help="First day of a range, YYYY-MM-DD.")]
End = Annotated[Optional[str], typer.Option("--end", help="Last day of a range, YYYY-MM-DD (inclusive).")]

Reason = Annotated[Optional[str], typer.Option(
    "--reason", help="Why (stored in the ledger); else $LAKEMEND_REASON, else a prompt on a terminal.")]
Yes = Annotated[bool, typer.Option(
    "--yes", "-y", help="Do not ask for confirmation (required without a terminal); commands that never ask accept it "
                        "for uniform scripting.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan (and the row-level diff); write nothing.")]
def _at_least_one(value: Optional[int]) -> Optional[int]:
    """``--max-parallel`` below 1 is a usage error on one line (click's range check prints a usage block)."""
    if value is not None and value < 1:
        raise UsageError(f"--max-parallel {value} is not a number of days to build at once",
                         "use 1 or more (default: the number of cores)")
    return value


MaxParallel = Annotated[Optional[int], typer.Option(
    "--max-parallel", callback=_at_least_one, help="Days of one table built at once, 1 or more (default: cores).")]
Force = Annotated[bool, typer.Option("--force", help="Run even on paused tables.")]
Downstream = Annotated[bool, typer.Option(
    "--downstream", help="Also rebuild every dependant partition (through same / window / upto).")]
Wait = Annotated[Optional[float], typer.Option(
    "--wait", help="Wait up to N seconds for another writer's lease instead of failing.")]
AllowSchemaChange = Annotated[bool, typer.Option(
    "--allow-schema-change",
    help="Let the write remove or rename columns of a table whose model's output changed (the table's schema is "
         "evolved; days not rebuilt read NULL for new columns). Added columns and Iceberg's safe widenings (int → "
         "long, float → double, wider decimals) need no flag; other type changes are refused even with it.")]
