"""The ``lakemend`` command line: the command groups wired together, and the one error boundary.

Each command lives in a module of its group (pipeline, runs, backfill, recovery, ops, dq,
incident, lineage, logs, report, vacuum); they share only :mod:`~lakemend.cli.context`,
:mod:`~lakemend.cli.options` and :mod:`~lakemend.cli.output`, never each other. Heavy libraries
(pyiceberg, DuckDB, pyarrow) are imported inside commands so that ``lakemend --help`` stays instant.
"""

from __future__ import annotations

import copy
import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

from lakemend.cli import (
    backfill,
    context,
    dq,
    incident,
    lineage,
    logs,
    ls,
    ops,
    pipeline,
    recovery,
    report,
    runs,
    vacuum,
)
from lakemend.cli import aws as aws_cli
from lakemend.cli.output import Output
from lakemend.errors import LakemendError
from lakemend.interrupts import interrupts_remembered

app = typer.Typer(
    name="lakemend",
    help="Safe backfill and recovery for a medallion data lake (bronze → silver → gold) on Apache Iceberg.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from lakemend import __version__

        print(f"lakemend {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    project: Annotated[
        Optional[Path], typer.Option("--project", "-C", help="Project folder (default: $LAKEMEND_PROJECT or the current folder).")
    ] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", help="text (default) or json, for every command; json prints exactly one JSON document.",
        show_default=False)] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_show_version,
                                          help="Print lakemend's version and exit.")] = False,
    profile: Annotated[Optional[str], typer.Option(
        "--profile", help="A profile of lakemend.yaml (profiles: NAME) to run with (default: $LAKEMEND_PROFILE, else the top-level settings).",
        show_default=False)] = None,
) -> None:
    context.settings.project = project
    context.settings.profile = profile
    if output:
        context.settings.output = context.check_format(output)
    context.settings.debug = debug or context.settings.debug


for command in (pipeline.init, pipeline.generate, pipeline.run, pipeline.query):
    app.command()(command)
app.add_typer(runs.runs_app, name="runs")
runs.runs_app.command("resume")(backfill.runs_resume)
runs.runs_app.command("logs")(logs.runs_logs)
app.add_typer(backfill.backfill_app, name="backfill")
app.add_typer(backfill.rebuild_app, name="rebuild")
app.add_typer(backfill.refresh_app, name="refresh")
app.add_typer(incident.incident_app, name="incident")
app.add_typer(dq.dq_app, name="dq")
app.add_typer(aws_cli.aws_app, name="aws")
for command in (ops.pause, ops.resume, ops.status, ops.metrics, recovery.gaps, recovery.late, recovery.verify,
                backfill.repair, recovery.quarantine, recovery.rollback, vacuum.vacuum, report.report, lineage.lineage):
    app.command()(command)
app.command("ls")(ls.ls)
app.command("tags")(ls.tags)


# ----- the error boundary --------------------------------------------------------------------------------


def _click_exceptions() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(usage errors, other click errors, aborts, exits) of typer's bundled click (typer >= 0.2x)
    and of the click package (older typer), whichever are installed. The click package is not
    imported for typer that bundles its own (it would only cost start-up): its exceptions are
    taken only when something already loaded it."""
    usage: list[type] = []
    other: list[type] = []
    aborts: list[type] = [typer.Abort]
    exits: list[type] = [typer.Exit]
    for name in ("typer._click.exceptions", "click.exceptions"):
        if name == "click.exceptions" and usage and "click" not in sys.modules:
            continue
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        usage.append(module.UsageError)
        other.append(module.ClickException)
        aborts += [getattr(module, "Abort", typer.Abort)]
        exits += [getattr(module, "Exit", typer.Exit)]
    return tuple(usage), tuple(other), tuple(aborts), tuple(exits)


USAGE_ERRORS, CLICK_ERRORS, ABORTS, EXITS = _click_exceptions()
INTERRUPTED = 130


def requested_format(args: list[str]) -> str:
    """The ``--output`` the arguments ask for (global or the command's), known before parsing so
    that even a usage error is reported in that format."""
    chosen = "text"
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("--output", "-o") and i + 1 < len(args):
            chosen = args[i + 1]
        elif arg.startswith("--output="):
            chosen = arg.split("=", 1)[1]
    return chosen if chosen in ("text", "json") else "text"


GLOBAL_OPTIONS = ("--project", "-C", "--profile", "--debug")
"""Options of ``lakemend`` itself (``--output`` is also every command's own)."""

_GLOBAL_VALUES = ("--project", "-C", "--output", "-o", "--profile")
"""The options of ``lakemend`` itself that take a value."""


def invoked(args: list[str]) -> str | None:
    """The command (or command group) the arguments name, past lakemend's own options; None for
    ``--help``, ``--version``, no command, or an option lakemend does not have before it."""
    values = False
    for arg in args:
        if values:
            values = False
        elif arg in _GLOBAL_VALUES:
            values = True
        elif arg == "--debug" or (arg.startswith("--") and arg.split("=", 1)[0] in _GLOBAL_VALUES):
            continue
        elif arg.startswith("-"):
            return None
        else:
            return arg
    return None


def app_for(args: list[str]) -> typer.Typer:
    """The app with only the command the arguments name, when they name one of its commands (typer
    turns every command's signature into click parameters at each start: 24 ms for all of them);
    else the whole app, whose help lists them all and whose errors suggest names."""
    from typer.main import get_command_name

    name = invoked(args)
    commands = [c for c in app.registered_commands if (c.name or get_command_name(c.callback.__name__)) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    pruned = copy.copy(app)
    pruned.registered_commands, pruned.registered_groups = commands, groups
    return pruned


def _usage_error(exc: Any, out: Output) -> None:
    """One ``Error:`` line (or the JSON error): what is wrong and where to look; a global option
    given after the command says to move it."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # a group without its command: its help, as click shows it
        if out.is_json:
            out.error("missing command", f"see {exc.ctx.command_path} --help", 2)
        else:
            exc.show(file=sys.stderr)
        return
    message = (exc.format_message() or "missing command").strip().rstrip(".")
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "lakemend"
    name = getattr(exc, "option_name", None)
    if name in GLOBAL_OPTIONS and path != "lakemend":
        command = path.removeprefix("lakemend ")
        fix = f"{name} is an option of lakemend itself: give it before the command (lakemend {name} … {command})"
    else:
        fix = f"see {path} --help"
    out.error(message, fix, 2)


def _interrupted(out: Output) -> None:
    """Ctrl-C: one line naming the run it stopped (closed ``interrupted`` in the ledger) and how to
    pick it up again."""
    job = sys.modules.get("lakemend.ops.job")  # imported only by commands that open runs
    stopped = list(getattr(job, "interrupted_runs", []))
    if stopped:
        last = stopped[-1]
        what = f"interrupted: run {last.run_id} ({last.command}) stopped"
        fix = f"{last.resume} to resume; partitions it published are kept"
    else:
        what, fix = "interrupted before any run started: nothing was changed", "rerun the same command"
    out.error(what, fix, INTERRUPTED)


def _exit_now_if_threads_linger(argv: list[str] | None) -> None:
    """After Ctrl-C a job may still run in a worker thread (its ledger row is already closed):
    leave now instead of waiting for it (a day is published atomically, as after a kill). Only
    in a real process: the tests call ``main`` in-process."""
    import threading

    if argv is None and any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        _exit_process(INTERRUPTED)


def _exit_process(status: int) -> NoReturn:
    """Flush what was printed and end the process now, skipping the interpreter's teardown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): nothing more can be said there
            pass
    os._exit(status)


def prefer_returning_arrow_memory() -> None:
    """Ask pyarrow (not imported yet) for its jemalloc pool, which gives freed memory back to the
    system within about a second. Its default, mimalloc, keeps it for reuse, so the tables a run
    built earlier stay under the next one's peak (one 1M-row day: peak RSS 780–858 MB with
    mimalloc, 711–765 MB with jemalloc; a 26-day run takes 1–2 % longer for it). pyarrow's Linux
    wheels include jemalloc; an ``ARROW_DEFAULT_MEMORY_POOL`` already set wins."""
    if sys.platform.startswith("linux"):
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: every error is reported once on stderr (``Error: <what> — <how to fix>``, or a
    JSON object with ``--output json``) and ends with its exit code: 1 failure, 2 usage error.

    ``argv`` None is the ``lakemend`` process itself, which then leaves without Python's teardown
    (:func:`_leave`); the tests pass ``argv`` and get ``SystemExit``."""
    if argv is not None:
        _run(argv)
        return
    try:
        _run(None)
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """End the process with ``code`` (as ``sys.exit`` takes it) once the command is done, without
    tearing down the interpreter: freeing hundreds of imported modules object by object costs
    0.15–0.25 CPU s, more than many commands' own work. The rest of a normal exit happens, in its
    order: other non-daemon threads are waited for (``threading._shutdown``), the state DB's
    connections and readers are closed (SQLite folds its write-ahead log into the file), ``atexit`` handlers
    run (log shipping, logging, temporary folders), output is flushed."""
    import atexit
    import threading

    if isinstance(code, str):  # sys.exit("message") prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    status = 0 if code is None else code if isinstance(code, int) else 1
    wait_for_threads = getattr(threading, "_shutdown", None)
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if wait_for_threads is None or run_exit_handlers is None:  # another Python: the normal exit
        sys.exit(status)
    if sys.getprofile() is not None or sys.gettrace() is not None:  # python -m cProfile -o, a debugger:
        sys.exit(status)  # they write their results once lakemend returns
    wait_for_threads()
    store = sys.modules.get("lakemend.state.store")
    if store is not None:
        store.close_open_stores()
    reads = sys.modules.get("lakemend.state.sqlite_reads")
    if reads is not None:
        reads.close_open_reads()
    run_exit_handlers()
    _exit_process(status)


def _run(argv: list[str] | None) -> None:
    """:func:`main`'s body: the command, its errors reported, ``SystemExit`` with its code."""
    prefer_returning_arrow_memory()
    args = list(sys.argv[1:] if argv is None else argv)
    context.reset(output=requested_format(args), debug="--debug" in args or os.environ.get("LAKEMEND_DEBUG") == "1")
    context.show_library_warnings()
    job = sys.modules.get("lakemend.ops.job")
    if job is not None:  # a new invocation in the same process (the tests): name only this one's runs
        job.interrupted_runs.clear()

    def out() -> Output:  # the format in effect when the error happened
        return Output(context.settings.output)

    try:
        with interrupts_remembered():
            result = app_for(args)(args=args, prog_name="lakemend", standalone_mode=False)
    except USAGE_ERRORS as exc:
        _usage_error(exc, out())
        sys.exit(2)
    except CLICK_ERRORS as exc:
        out().error(exc.format_message(), None, exc.exit_code)
        sys.exit(exc.exit_code)
    except ABORTS as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # Ctrl-C at a prompt (click turns it into Abort)
            _interrupted(out())
            sys.exit(INTERRUPTED)
        out().error("no answer: input ended at a question", "pass the answer as an option (--reason, --yes)", 1)
        sys.exit(1)
    except EXITS as exc:
        sys.exit(exc.exit_code)
    except LakemendError as exc:
        if context.settings.debug:
            traceback.print_exc()
        out().error(exc.what, exc.fix, exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        result = INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one boundary for bugs
        if context.settings.debug:
            traceback.print_exc()
        out().error(f"unexpected {type(exc).__name__}: {exc}", "rerun with --debug and report it", 1)
        sys.exit(1)
    if result == INTERRUPTED:  # typer turns Ctrl-C into exit code 130
        _interrupted(out())
        _exit_now_if_threads_linger(argv)
    if isinstance(result, int) and result:
        sys.exit(result)


if __name__ == "__main__":
    main()
