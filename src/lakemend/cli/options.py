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

Table = Annotated[Optional[list[str]], typer.Option(
    "--table", metavar="TABLE",
    help="layer.table or a table name that is unique across layers; repeatable (default: every table).")]
"""``--table`` given any number of times: every one is honoured (see ``context.tables``)."""
RequiredTable = Annotated[str, typer.Option(
    "--table", metavar="TABLE", help="layer.table or a table name that is unique across layers (one table).")]
Select = Annotated[Optional[list[str]], typer.Option(
    "--select", "-s", metavar="SELECTOR",
    help="Only these tables; repeatable: a name (orders_clean, silver.orders_clean), a layer (silver), a glob "
         "(silver.*), +T (T and everything upstream of it), T+ (T and everything downstream) (default: every table).")]
Exclude = Annotated[Optional[list[str]], typer.Option(
    "--exclude", metavar="SELECTOR", help="Tables to leave out, same forms as --select; repeatable.")]

Date = Annotated[Optional[str], typer.Option("--date", metavar="DAY", help="One day, YYYY-MM-DD.")]
Start = Annotated[Optional[str], typer.Option("--start", metavar="DAY", help="First day of a range, YYYY-MM-DD.")]
End = Annotated[Optional[str], typer.Option("--end", metavar="DAY", help="Last day of a range, YYYY-MM-DD (inclusive).")]

Reason = Annotated[Optional[str], typer.Option(
    "--reason", help="Why (stored in the ledger); else $LAKEMEND_REASON, else a prompt on a terminal.")]
Yes = Annotated[bool, typer.Option(
    "--yes", "-y", help="Do not ask for confirmation (required without a terminal); commands that never ask accept it "
                        "for uniform scripting.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan (and the row-level diff); write nothing.")]
def _at_least_one(value: Optional[int]) -> Optional[int]:
    """``--max-parallel`` below 1 is a usage error on one line (click's range check prints a usage block)."""
    if value is not None and value < 1:
        raise UsageError(f"--max-parallel {value} is not a number of days to work on at once",
                         "use 1 or more (default: the number of cores)")
    return value


MaxParallel = Annotated[Optional[int], typer.Option(
    "--max-parallel", callback=_at_least_one, help="Days of one table built at once, 1 or more (default: cores); each holds its day in memory.")]
VerifyParallel = Annotated[Optional[int], typer.Option(
    "--max-parallel", callback=_at_least_one,
    help="Days read at once, and the cores one big day's columns are read on, 1 or more (default: cores).")]
def _batch_days(value: Optional[int]) -> Optional[int]:
    """``--batch-days`` below 1 is a usage error on one line."""
    if value is not None and value < 1:
        raise UsageError(f"--batch-days {value} is not a number of days", "use 1 (day by day) or more (default: 31)")
    return value


BatchDays = Annotated[Optional[int], typer.Option(
    "--batch-days", callback=_batch_days,
    help="Days of one table built together and published in one commit (default 31; 1: day by day). A batched "
         "build equals a day-by-day one; a kill loses at most the batch being built.")]
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


def _readable_placeholders() -> None:
    """typer >= 0.2x shows an option's Python type as its placeholder — ``<bool>`` beside every
    flag (``--help`` included), ``<list[str]>`` beside a repeatable option. Show nothing beside a
    flag, the option's metavar when it has one, else click's name for the type (TEXT, INTEGER).
    Older typer (click's own help) has no such method and is left alone."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover - typer without its own core
        return
    for kind in (TyperOption, TyperArgument):
        original = getattr(kind, "display_type_rich", None)
        if original is not None and not getattr(original, "lakemend", False):
            kind.display_type_rich = _placeholder(original)  # type: ignore[method-assign]


def _placeholder(original):  # noqa: ANN001, ANN202 - wraps typer's method

    def display_type_rich(self, ctx):  # noqa: ANN001, ANN202 - typer's signature
        if self.metavar is not None:
            return self.metavar
        if getattr(self, "is_flag", False):
            return None
        label = original(self, ctx)
        if isinstance(label, str) and label.startswith("<"):
            inner = label.strip("<>").removeprefix("list[").rstrip("]").removesuffix("...")
            names = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH", "int range": "INTEGER",
                     "float range": "FLOAT"}
            return names.get(inner, inner.upper())
        return label

    display_type_rich.lakemend = True  # type: ignore[attr-defined]
    return display_type_rich


def _whole_sentences() -> None:
    """typer's rich help keeps the docstring's own line breaks inside a paragraph, so a sentence
    wrapped in the source breaks mid-line on screen. Join each paragraph's lines (a line starting
    ``Example:`` stays on a line of its own); ``\\b`` paragraphs are kept as written."""
    try:
        from typer import rich_utils
    except ImportError:  # pragma: no cover - typer without rich help
        return
    original = getattr(rich_utils, "_fix_linebreaks", None)
    if original is None or getattr(original, "lakemend", False):
        return

    def fix_linebreaks(paragraphs: list[str], markup_mode: object) -> str:
        joined = []
        for paragraph in paragraphs:
            if paragraph.startswith("\b"):
                joined.append(paragraph)
                continue
            lines: list[str] = []
            for line in paragraph.splitlines():
                if lines and not line.lstrip().startswith("Example:"):
                    lines[-1] += " " + line.strip()
                else:
                    lines.append(line.strip())
            joined.append("\n".join(lines))
        return original(joined, markup_mode)

    fix_linebreaks.lakemend = True  # type: ignore[attr-defined]
    rich_utils._fix_linebreaks = fix_linebreaks  # type: ignore[attr-defined]


def _shell_completion() -> None:
    """Register typer's bash / zsh / fish completion classes, so that
    ``eval "$(_LAKEMEND_COMPLETE=source_bash lakemend)"`` (zsh: ``source_zsh``, fish:
    ``source_fish``) completes commands and options. typer registers them only when its
    ``--install-completion`` options are on, and those are off: they would list under every
    command's global options and guess the shell from the parent process."""
    try:
        from typer.completion import completion_init
    except ImportError:  # pragma: no cover - typer without completion
        return
    completion_init()


def _whole_sentences_when_helping() -> None:
    """Apply :func:`_whole_sentences` when help is first rendered, not at import: typer's
    ``rich_utils`` loads rich's Markdown, traceback and pygments pieces (tens of milliseconds)
    that only help and typer's own error panels use."""
    try:
        from typer.core import TyperCommand, TyperGroup
    except ImportError:  # pragma: no cover - typer without its own core
        _whole_sentences()
        return
    for kind in (TyperCommand, TyperGroup):
        original = kind.__dict__.get("format_help")
        if original is None or getattr(original, "lakemend", False):
            continue

        def format_help(self, ctx, formatter, _original=original):  # noqa: ANN001, ANN202 - typer's signature
            _whole_sentences()
            return _original(self, ctx, formatter)

        format_help.lakemend = True  # type: ignore[attr-defined]
        kind.format_help = format_help  # type: ignore[method-assign]


_readable_placeholders()
_whole_sentences_when_helping()
_shell_completion()
