"""Options several commands share, defined once so they read and behave the same everywhere.

An option whose meaning differs in one command (``--reason`` of ``runs resume`` defaults to the
original run's reason) is defined in that command instead.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

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
MaxParallel = Annotated[Optional[int], typer.Option(
    "--max-parallel", min=1, help="Days of one table built at once (default: cores).")]
Force = Annotated[bool, typer.Option("--force", help="Run even on paused tables.")]
Downstream = Annotated[bool, typer.Option(
    "--downstream", help="Also rebuild every dependant partition (through same / window / upto).")]
Wait = Annotated[Optional[float], typer.Option(
    "--wait", help="Wait up to N seconds for another writer's lease instead of failing.")]
