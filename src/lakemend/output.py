"""One output interface: rich tables for people, JSON for scripts; errors go to stderr."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

def _width(stream_is_tty: bool) -> int | None:
    """Pipes and CI logs get wide tables instead of rich's 80-column default."""
    return None if stream_is_tty else 200


console = Console(highlight=False, width=_width(sys.stdout.isatty()))
err_console = Console(stderr=True, highlight=False, width=_width(sys.stderr.isatty()))


def _default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=_default, indent=2) + "\n")


def emit_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], output: str) -> None:
    if output == "json":
        emit_json([dict(zip(columns, row, strict=True)) for row in rows])
        return
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[escape(_cell(v)) for v in row])
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(_default(value))


def error(message: str) -> None:
    err_console.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)
