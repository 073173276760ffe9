"""What every command shares: the global settings, the lake, the output, table lookup, and the
two questions a command may ask a person (a reason, a confirmation).

Only the CLI talks to people: the library never prompts or prints, it takes the answers as
arguments. Heavy libraries are imported inside functions so ``lakemend --help`` stays instant.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lakemend.cli.output import FORMATS, Output
from lakemend.errors import UsageError

if TYPE_CHECKING:
    from lakemend.lake import Lake
    from lakemend.project.project import TableSpec


@dataclass
class Settings:
    """The global options of one invocation (``lakemend --project/-C --output --debug``)."""

    project: Path | None = None
    profile: str | None = None
    """``--profile NAME`` (else ``$LAKEMEND_PROFILE``): which ``profiles:`` entry of lakemend.yaml applies."""
    output: str = "text"
    """The format in effect: the global ``--output``, replaced by a command's own ``--output``."""
    debug: bool = False


settings = Settings()


def reset(*, output: str = "text", debug: bool = False) -> None:
    """A new invocation (the tests run many in one process): forget the previous one's options."""
    settings.project, settings.output, settings.debug = None, output, debug
    settings.profile = None


class _WarningsToStderr(logging.Handler):
    """Shows the library's warnings (``lakemend`` logger) as ``Warning: <text>`` on the stderr of
    the moment (looked up per record, so redirected or captured stderr receives them)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"Warning: {record.getMessage()}\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - a warning that cannot be shown must not fail anything
            self.handleError(record)


def show_library_warnings() -> None:
    """Route the ``lakemend`` logger's warnings to stderr (idempotent)."""
    logger = logging.getLogger("lakemend")
    if not any(isinstance(h, _WarningsToStderr) for h in logger.handlers):
        logger.addHandler(_WarningsToStderr(logging.WARNING))
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def check_format(value: str) -> str:
    if value not in FORMATS:
        if "." in value or "/" in value:  # -o named the file on report / incident close before lakemend 0.x
            raise UsageError(f"-o is the output format (text or json), not a file: {value!r}",
                             f"write the file with --out {value} (or -f {value})")
        raise UsageError(f"--output {value!r} is not supported", "use --output text or --output json")
    return value


def output(value: str | None = None) -> Output:
    """The command's output: its own ``--output``, else the global one. Errors follow it too."""
    settings.output = check_format(value or settings.output)
    return Output(settings.output)


def open_lake(*, read_only: bool = False) -> Lake:
    """The project of ``--project``, else ``$LAKEMEND_PROJECT`` or the nearest folder upwards
    (``read_only`` for dry runs: a lake never built stays unbuilt, see ``Lake.read_only``)."""
    from lakemend.lake import Lake
    from lakemend.project.project import find_project_root

    root = settings.project.resolve() if settings.project else find_project_root()
    if settings.project and not (root / "lakemend.yaml").is_file():
        raise UsageError(f"--project {settings.project}: no lakemend.yaml there", "point --project at a lakemend project folder")
    return Lake.open(root, profile=settings.profile, read_only=read_only)


def tables(lake: Lake, names: str | list[str] | tuple[str, ...] | None) -> list[TableSpec]:
    """Every ``--table NAME`` given (full or unique short name, see ``Project.find_table``; a
    repeated option is honoured each time), in dependency order; none: every table."""
    if not names:
        return lake.project.ordered
    wanted = {lake.project.find_table(name).qualified for name in ([names] if isinstance(names, str) else names)}
    return [spec for spec in lake.project.ordered if spec.qualified in wanted]


def resolve_reason(given: str | None, out: Output, *, interactive: bool | None = None) -> str:
    """``--reason``, else ``$LAKEMEND_REASON``, else ask on a terminal; refuse without one."""
    reason = (given or os.environ.get("LAKEMEND_REASON") or "").strip()
    if reason:
        return reason
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        import typer

        # In JSON mode stdout carries the one document: ask on stderr.
        reason = typer.prompt("Why are you running this? (stored in the ledger)", err=out.is_json).strip()
        if reason:
            return reason
    raise UsageError("a reason is required for backfills (runbook: document backfill reason)",
                     'pass --reason "..." or set LAKEMEND_REASON')


def on_terminal() -> bool:
    """A person is at the keyboard: stdin and stdout are terminals (not a script, pipe or CI)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm_apply(yes: bool, out: Output, *, interactive: bool | None = None) -> bool:
    """After a printed plan, on a terminal: "Apply? [y/N]" (default No). Without a terminal, or
    with ``--yes``, or with ``--output json``, apply without asking — the runbook scripts run unattended. A "no" prints
    "Nothing changed." on stderr and the caller exits 1, as after every declined confirmation
    (like ``terraform apply``: a script can tell that nothing was applied)."""
    if yes or out.is_json:  # JSON is read by a program: it gets today's unattended behaviour
        return True
    if interactive is None:
        interactive = on_terminal()
    if not interactive:
        return True
    import typer

    if typer.confirm("Apply?", default=False, err=True):
        return True
    out.note("Nothing changed.")
    return False


def confirm_destructive(question: str, yes: bool, out: Output, *, show_plan: Callable[[Output], None] | None = None,
                        refusal: str = "this command changes published data and there is no terminal to confirm on",
                        fix: str = "rerun with --yes once you have read the plan") -> bool:
    """Destructive commands ask, default No; ``--yes`` skips the question; no terminal and no
    ``--yes``: refuse (exit 2). A "no" prints "Nothing changed." (text mode; the JSON document
    says it) and the caller exits 1. The question goes to stderr; in JSON mode so does the plan
    (``show_plan``), since stdout keeps its one document."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(refusal, fix)
    import typer

    if out.is_json and show_plan is not None:
        show_plan(out.for_person())
    if typer.confirm(question, default=False, err=True):
        return True
    out.note("Nothing changed.")
    return False
