"""How the CLI shows things: one :class:`Output` for every command, and the renderers of the
library's results that several commands print (backfill plans, row-level diffs, partition jobs).

A command asks :func:`lakemend.cli.context.output` for an ``Output`` in the format the user chose
and writes everything through it. Text mode prints tables and messages to stdout; JSON mode
prints exactly one JSON document to stdout and nothing else. Errors go to stderr in both:
``Error: <what> — <how to fix>`` as text, ``{"error": ..., "fix": ..., "exit_code": ...}`` as JSON.
(The model: pyiceberg's ``cli/output.py``.) The library's types are imported for type checking
only, so ``lakemend --help`` stays instant.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from lakemend.build.diff import PartitionDiff
    from lakemend.iceberg.catalog import SchemaChange
    from lakemend.ops.plans import BackfillPlan
    from lakemend.ops.runner import ProgressHook, RunReport

FORMATS = ("text", "json")


PIPE_WIDTH = 120


class _Environ(Mapping[str, str]):
    """``os.environ`` as rich reads it for the console's size, at every print: ``$COLUMNS`` when
    set; else rich asks the standard streams' terminal (output piped from a terminal — ``| less``,
    ``| grep`` — gets that terminal's width); with no terminal at all (CI logs, cron mail) 120
    columns instead of rich's 80. Never a fixed 200."""

    def __getitem__(self, key: str) -> str:
        if key == "COLUMNS" and key not in os.environ and not _any_terminal():
            return str(PIPE_WIDTH)
        return os.environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def _any_terminal() -> bool:
    for fd in (0, 1, 2):
        try:
            os.get_terminal_size(fd)
            return True
        except OSError:
            continue
    return False


def _console(**kwargs: Any) -> Console:
    # No emoji codes: a value, name or error that holds ":name:" is printed as it is (and rich's
    # emoji table, 5 ms of every command's start, is not imported).
    made = Console(highlight=False, emoji=False, _environ=_Environ(), **kwargs)
    made.width = None  # type: ignore[assignment] - decided at each print (rich fixed it from $COLUMNS at creation)
    return made


console = _console()
err_console = _console(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def to_json(payload: Any, *, indent: int | None = 2) -> str:
    """Dates as ISO strings, decimals as strings, bytes as hex; anything else by ``str``."""
    return json.dumps(payload, default=_default, indent=indent)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(_default(value))


NAME_WIDTH = 40
"""Table names up to this wide are never folded."""


def rich_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A table whose ``table`` column keeps its width: at 100 columns the other columns fold, never
    the name into ``gold.daily_reven`` / ``ue``."""
    cells = [[_cell(v) for v in row] for row in rows]
    table = Table(title=title, show_lines=False, header_style="bold")
    for index, column in enumerate(columns):
        values = [row[index] for row in cells if index < len(row)]
        widest = max((len(v) for v in values), default=0)
        if column.split()[-1:] == ["table"] and widest <= NAME_WIDTH and not any(" " in v for v in values):
            table.add_column(column, no_wrap=True, min_width=max(widest, len(column)))
        else:
            table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*[escape(v) for v in row])
    return table


class Output:
    """Where one command's results go, in the format the user chose.

    Text-mode methods (:meth:`text`, :meth:`table`, :meth:`note`, :meth:`problem`) do nothing in JSON mode and
    :meth:`document` does nothing in text mode, so a command writes both and each mode gets its
    own. :meth:`document` may be called once: a second JSON document is a bug.
    """

    def __init__(self, format: str = "text", *, target: Console | None = None) -> None:  # noqa: A002
        if format not in FORMATS:
            raise ValueError(f"unknown output format {format!r}")
        self.format = format
        self.console = target or console
        self._documents = 0

    @property
    def is_json(self) -> bool:
        return self.format == "json"

    def for_person(self) -> Output:
        """Text on stderr: what a person must see before answering a question in JSON mode."""
        return Output("text", target=err_console)

    # ----- text mode ------------------------------------------------------------------------------------

    def text(self, message: Any, **kwargs: Any) -> None:
        """A message or a rich renderable (text mode only)."""
        if not self.is_json:
            self.console.print(message, **kwargs)

    def table(self, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table (text mode only); see :meth:`rows` for a table that is also the JSON document."""
        if not self.is_json:
            self.console.print(rich_table(title, columns, rows))

    def note(self, message: str) -> None:
        """A remark for the person on stderr, not part of the result (text mode only)."""
        if not self.is_json:
            err_console.print(message, markup=False, soft_wrap=True)

    def problem(self, message: str) -> None:
        """``Error: <message>`` on stderr for one of several failures the command reports before it
        exits 1 (text mode only: in JSON mode the document carries them)."""
        if not self.is_json:
            err_console.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)

    # ----- JSON mode -----------------------------------------------------------------------------------

    def document(self, payload: Any) -> None:
        """The command's one JSON document on stdout (JSON mode only)."""
        if not self.is_json:
            return
        self._documents += 1
        if self._documents > 1:
            raise RuntimeError("a command printed a second JSON document; --output json promises exactly one")
        sys.stdout.write(to_json(payload) + "\n")
        sys.stdout.flush()

    # ----- both -----------------------------------------------------------------------------------------

    def rows(self, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A listing: a table as text, a list of objects (one per row) as the JSON document."""
        self.table(title, columns, rows)
        self.document([dict(zip(columns, row, strict=True)) for row in rows])

    def raw(self, text: str) -> None:
        """Text in a format of its own (Prometheus exposition, JSON lines of a log), as it is."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def error(self, what: str, fix: str | None = None, exit_code: int = 1) -> None:
        """The command's error, once, on stderr: a JSON object in JSON mode, else one ``Error:`` line."""
        if self.is_json:
            sys.stderr.write(to_json({"error": what, "fix": fix, "exit_code": exit_code}, indent=None) + "\n")
            sys.stderr.flush()
            return
        message = f"{what} — {fix}" if fix else what
        err_console.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)


# ----- backfill plans and diffs ----------------------------------------------------------------------


def plan_json(plan: BackfillPlan) -> dict[str, Any]:
    return {
        "command": plan.command, "tables": plan.tables, "days": plan.days, "downstream": plan.downstream,
        "resume_of": plan.resume_of, "restore_points": [{"table": t, "snapshot_id": s} for t, s in plan.restore_points],
        "partitions": [{"table": p.table, "day": p.day, "role": p.role, "resumed": p.resumed,
                        "rows_read_estimate": p.reads.rows, "bytes_read_estimate": p.reads.bytes,
                        "rows_now": p.now.rows, "bytes_now": p.now.bytes} for p in plan.partitions],
    }


def print_plan(plan: BackfillPlan, out: Output) -> None:
    """The plan as text: one line per partition, what resumes, and the restore points."""
    from lakemend.units import human_bytes

    rows = [
        [p.table, p.day, p.role, "skip (resumed)" if p.resumed else "rebuild",
         "?" if p.reads.rows < 0 else p.reads.rows, human_bytes(p.reads.bytes), p.now.rows, human_bytes(p.now.bytes)]
        for p in plan.partitions
    ]
    out.table(f"Plan: {plan.command} — {len(plan.todo)} partition(s)", ["table", "day", "role", "action", "rows read (est)",
              "bytes read (est)", "rows now", "bytes now"], rows)
    if plan.resume_of:
        out.text(f"Resuming run {plan.resume_of}: {len(plan.partitions) - len(plan.todo)} partition(s) it published are kept.")
    tags = ", ".join(f"{t} @ {s}" if s is not None else f"{t}: new table, nothing to restore" for t, s in plan.restore_points)
    out.text(f"Restore point: each table's current snapshot is tagged pre-<run_id> before its first publish ({tags}).")


def schema_change_json(change: SchemaChange, allow: bool) -> dict[str, Any]:
    """A table's schema change in a dry run: its columns, and whether the write would refuse it."""
    refusal = change.refusal(allow)
    return {**change.as_dict(), "refused": refusal is not None, "error": str(refusal) if refusal else None}


def print_schema_change(change: SchemaChange, allow: bool, out: Output) -> None:
    """One table's schema change in a dry run, and what the write would do with it."""
    out.text(f"[bold]Schema change: {escape(change.table)}[/] — {escape(change.describe())}")
    refusal = change.refusal(allow)
    if change.changed:
        out.text("  the write would be refused: Iceberg cannot change these types in place "
                 "(not even with --allow-schema-change)")
    elif refusal is not None:
        out.text("  the write would be refused: removed or renamed columns need --allow-schema-change")
    else:
        note = "; days not rebuilt read NULL for added columns" if change.added else ""
        out.text(f"  the write evolves the table's schema (Iceberg schema evolution){note}")


def diff_json(diff: PartitionDiff) -> dict[str, Any]:
    return dict(diff.__dict__)


def print_diff(diff: PartitionDiff, out: Output) -> None:
    """One partition's row-level diff as text: counts, changed columns, sample rows."""
    head = (f"[bold]{diff.table} {diff.day}[/]: {diff.rows_now} → {diff.rows_new} rows; "
            f"+{diff.added} added, -{diff.removed} removed, ~{diff.changed} changed")
    if diff.unchanged:
        head += " (no change)"
    out.text(head)
    if diff.column_changes:
        out.text("  changed columns: " + ", ".join(f"{c} ({n})" for c, n in diff.column_changes.items()))
    for sample in diff.samples:
        out.text("  " + "; ".join(f"{k}={v}" for k, v in sample.items()), markup=False)


# ----- partition jobs ------------------------------------------------------------------------------------


@contextmanager
def progress_bar(out: Output, total: int, description: str) -> Iterator[Callable[..., None]]:
    """A progress bar over ``total`` steps while the block runs, on a terminal in text mode only;
    yields its update: ``update(advance=1, description=..., failed=..., total=...)``."""
    if out.is_json or not out.console.is_terminal:  # nothing would be shown: no bar, no refresh thread
        yield lambda **fields: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    # Plain text columns (no markup, so no emoji codes either): a table name is shown as it is.
    progress = Progress(
        TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[failed]}", style="red", markup=False), TimeElapsedColumn(),
        TextColumn("ETA", markup=False), TimeRemainingColumn(), console=out.console, transient=True,
    )
    with progress:
        task = progress.add_task(description, total=total, failed="")
        yield lambda **fields: progress.update(task, **fields)


def with_progress(total: int, out: Output, work: Callable[[ProgressHook], RunReport]) -> RunReport:
    """Run ``work`` with a progress bar fed by its job events (text mode), then print the summary."""
    failures = 0
    with progress_bar(out, total, "planning") as update:

        def on_event(event: str, payload: Any) -> None:
            nonlocal failures
            if event == "start":  # payload: the runner's Decision
                update(description=f"{payload.spec.qualified} {payload.day}")
            else:  # a JobResult, or a skipped Decision: both count towards the total
                if getattr(payload, "status", "succeeded") != "succeeded":
                    failures += 1
                update(advance=1, failed=f"{failures} failed" if failures else "")

        report = work(on_event)
    print_summary(report, out)
    return report


def summary_json(report: RunReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "seconds": round(report.seconds, 3),
        "tables": {t: dict(v) for t, v in _per_table(report).items()},
        "jobs": [{"table": r.table, "day": r.day, "status": r.status, "why": r.why, "rows_read": r.rows_read,
                  "rows_written": r.rows_written, "rows_quarantined": r.rows_quarantined,
                  "rows_deduplicated": r.rows_deduplicated, "error": r.error,
                  "schema_change": r.schema_change.as_dict() if r.schema_change else None} for r in report.results],
    }


def _per_table(report: RunReport) -> dict[str, dict[str, int]]:
    per_table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for result in report.results:
        row = per_table[result.table]
        row["built" if result.status == "succeeded" else "failed"] += 1
        for name in ("rows_read", "rows_written", "rows_quarantined", "rows_deduplicated"):
            row[name] += getattr(result, name)
    for decision in report.skipped:
        per_table[decision.spec.qualified][decision.action] += 1
    return per_table


def print_summary(report: RunReport, out: Output) -> None:
    """The run's numbers per table, its failures, and where to look next."""
    out.document(summary_json(report))
    columns = ["table", "built", "skipped", "no input", "failed", "rows read", "written", "quarantined", "deduplicated"]
    rows = [
        [table, v["built"], v["up-to-date"] + v["resumed"], v["no-input"] + v["blocked"], v["failed"], v["rows_read"], v["rows_written"],
         v["rows_quarantined"], v["rows_deduplicated"]]
        for table, v in _per_table(report).items()
    ]
    out.table(f"Run {report.run_id}", columns, rows)
    built = sum(1 for r in report.results if r.status == "succeeded")
    up_to_date = sum(1 for d in report.skipped if d.action == "up-to-date")
    resumed = sum(1 for d in report.skipped if d.action == "resumed")
    resumed_text = f", {resumed} already published by the interrupted attempt" if resumed else ""
    # the restore point exists only where a publish replaced an earlier state (see iceberg/publish)
    tagged = sorted({r.table for r in report.results if r.status == "succeeded" and r.snapshot_before is not None})
    restore = (f", restore point tag pre-{report.run_id} on {len(tagged)} table(s)" if tagged
               else ", no restore point: nothing published replaced an earlier state")
    out.text(
        f"{built} partition(s) built, {up_to_date} up to date{resumed_text}, {len(report.failed)} failed "
        f"in {report.seconds:.1f} s (run {report.run_id}{restore})"
    )
    for result in report.results:
        if result.schema_change:
            out.text(f"Schema of {escape(result.table)} evolved: {escape(result.schema_change.describe())}")
    for result in report.failed:
        prefix = f"{result.table} {result.day}"
        out.problem(result.error if (result.error or "").startswith(prefix) else f"{prefix}: {result.error}")
    if report.failed:
        out.text(f"See the ledger: lakemend runs --run {report.run_id} --status failed")
