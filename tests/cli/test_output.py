"""One output interface: every command's ``--output json`` is exactly one JSON document on stdout,
errors are printed once (a JSON object on stderr in JSON mode), and a short table name that two
tables share is refused naming both.

The commands are discovered from the typer app: a new command fails
``test_every_command_has_a_json_case`` until it gets a case below.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from conftest import START, build
from support import configure

from lakemend.cli.app import app
from lakemend.errors import UsageError
from lakemend.lake import Lake
from lakemend.project.project import load_project

DAY1, DAY2, DAY3 = START, START + dt.timedelta(days=1), START + dt.timedelta(days=2)


def commands() -> dict[str, list[str]]:
    """Every command path (``runs``, ``runs logs``, ``dq check`` ...) and its option names."""
    found: dict[str, list[str]] = {}

    def walk(cmd, prefix: str) -> None:  # noqa: ANN001
        for name, sub in getattr(cmd, "commands", {}).items():
            path = f"{prefix} {name}".strip()
            if getattr(sub, "commands", None):
                walk(sub, path)
                if not sub.invoke_without_command:
                    continue
            found[path] = [opt for param in sub.params for opt in getattr(param, "opts", [])]

    walk(typer.main.get_command(app), "")
    return found


COMMANDS = commands()


# ----- the lakes the cases run against ----------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    """Landing data for three days, the first two built by two runs; shared by the cases that
    write without destroying (dry runs, checks, a resumed backfill)."""
    root = tmp_path_factory.mktemp("json-scratch") / "company"
    shutil.copytree(_pristine_example, root, symlinks=True)
    for source in (root / "landing").iterdir():
        for folder in source.rglob("20*"):
            if folder.is_dir() and folder.name > DAY3.isoformat():
                shutil.rmtree(folder)
    for day in (DAY1, DAY2):
        assert not build(root, day, day).failed
    return root


@pytest.fixture
def fresh(example: Path) -> Path:
    """Two days built by two runs, for one destructive command."""
    for day in (DAY1, DAY2):
        assert not build(example, day, day).failed
    return example


def newest_run(root: Path) -> str:
    return Lake.open(root).state.list_jobs(limit=1)[0]["run_id"]


def interrupted_rebuild(root: Path, cli) -> list[str]:  # noqa: ANN001
    """A rebuild that failed on a broken model, the model fixed again: ``runs resume`` it."""
    model = root / "models" / "silver" / "orders_clean.sql"
    good = model.read_text()
    model.write_text(good + "\nWHERE no_such_column IS NOT NULL\n")
    try:
        failed = cli("rebuild", "silver", "--table", "orders_clean", "--date", str(DAY2), "--reason", "test", cwd=root)
        assert failed.code == 1, failed.err
    finally:
        model.write_text(good)
    return ["runs", "resume", json.loads(cli("runs", "--status", "failed", "-o", "json", cwd=root).out)[0]["run_id"]]


def note_on_an_open_incident(root: Path, cli) -> list[str]:  # noqa: ANN001
    assert cli("incident", "open", "--title", "orders re-sent", cwd=root).code == 0
    return ["incident", "note", "INC-0001", "paused silver.orders_clean"]


def close_the_open_incident(root: Path, cli) -> list[str]:  # noqa: ANN001
    assert cli("incident", "open", "--title", "orders re-sent", cwd=root).code == 0
    return ["incident", "close", "--summary", "fixed", "--out", str(root / "postmortem.md")]


def resume_every_pause(root: Path, cli) -> list[str]:  # noqa: ANN001
    assert cli("pause", "--all", "--reason", "stop", cwd=root).code == 0
    return ["resume", "--all"]


@dataclass(frozen=True)
class Case:
    lake: str
    """The fixture to run in: built_example (read-only!), scratch, fresh, example or tmp_path."""
    args: Callable[[Path, object], list[str]]
    """The command line (without --output), given the lake's folder and the cli fixture."""
    code: int = 0


CASES: dict[str, Case] = {
    "init": Case("tmp_path", lambda root, cli: ["init", str(root / "new"), "--no-data"]),
    "generate": Case("example", lambda root, cli: ["generate", "--start", "2025-10-28", "--end", "2025-10-28", "--rows", "10"]),
    "run": Case("scratch", lambda root, cli: ["run", "--date", str(DAY1)]),
    "query": Case("built_example", lambda root, cli: ["query", "SELECT day, COUNT(*) AS n FROM bronze.orders GROUP BY day"]),
    "runs": Case("built_example", lambda root, cli: ["runs", "--table", "orders_clean", "--limit", "3"]),
    "runs resume": Case("scratch", interrupted_rebuild),
    "runs logs": Case("built_example", lambda root, cli: ["runs", "logs", newest_run(root)]),
    "backfill bronze": Case("example", lambda root, cli: ["backfill", "bronze", "orders", str(DAY1), "--dry-run"]),
    "rebuild silver": Case("scratch", lambda root, cli: ["rebuild", "silver", "--table", "orders_clean", "--date", str(DAY2), "--dry-run"]),
    "refresh gold": Case("scratch", lambda root, cli: ["refresh", "gold", "--table", "all", "--date", str(DAY1), "--dry-run"]),
    "incident open": Case("example", lambda root, cli: ["incident", "open", "--title", "orders re-sent twice"]),
    "incident note": Case("example", note_on_an_open_incident),
    "incident close": Case("example", close_the_open_incident),
    "incident list": Case("built_example", lambda root, cli: ["incident", "list"]),
    "dq check": Case("scratch", lambda root, cli: ["dq", "check", "--table", "orders_clean", "--date", str(DAY1)]),
    "pause": Case("example", lambda root, cli: ["pause", "--table", "orders_clean", "--reason", "checking duplicates"]),
    "resume": Case("example", resume_every_pause),
    "status": Case("built_example", lambda root, cli: ["status", "--layer", "silver"]),
    "metrics": Case("built_example", lambda root, cli: ["metrics"]),
    "gaps": Case("built_example", lambda root, cli: ["gaps"]),
    "late": Case("built_example", lambda root, cli: ["late"]),
    "verify": Case("built_example", lambda root, cli: ["verify", "--table", "silver.orders_clean", "--date", str(DAY1)]),
    "repair": Case("scratch", lambda root, cli: ["repair", "--missing", "--dry-run"]),
    "quarantine": Case("fresh", lambda root, cli: ["quarantine", "--table", "bronze.orders", "--date", str(DAY2),
                                                   "--reason", "truncated file", "--yes"]),
    "rollback": Case("fresh", lambda root, cli: ["rollback", "--table", "silver.orders_clean", "--to", f"pre-{newest_run(root)}",
                                                 "--reason", "bad rebuild", "--yes"]),
    "vacuum": Case("built_example", lambda root, cli: ["vacuum", "--older-than", "0d", "--dry-run"]),
    "report": Case("scratch", lambda root, cli: ["report", "--out", str(root / "report.html")]),
    "lineage": Case("built_example", lambda root, cli: ["lineage", "--date", str(DAY1), "--table", "orders_clean"]),
    "ls": Case("built_example", lambda root, cli: ["ls", "--select", "silver.*+"]),
    "tags": Case("built_example", lambda root, cli: ["tags", "silver.orders_clean", "gold.daily_revenue"]),
}
ELSEWHERE = {"aws check": "test_check_reports_what_is_missing_then_passes",
             "aws package": "test_package_dry_run_uploads_nothing_and_package_uploads"}
"""Commands whose ``-o json`` needs AWS on moto: their one document is parsed by these tests in test_aws.py."""
STREAMS = {"runs logs"}
"""Commands whose JSON is a stream of documents, one per line (JSON Lines: ``--follow`` prints as the run writes)."""


def test_every_command_has_a_json_case() -> None:
    assert len(COMMANDS) >= 25
    assert sorted(set(COMMANDS) - set(CASES) - set(ELSEWHERE)) == [], "give the new command a case in CASES"
    from cli import test_aws

    assert all(hasattr(test_aws, name) for name in ELSEWHERE.values())
    assert sorted(set(CASES) - set(COMMANDS)) == []
    assert [path for path, opts in COMMANDS.items() if "--output" not in opts] == []


@pytest.mark.parametrize("path", sorted(set(COMMANDS) - set(ELSEWHERE)))
def test_output_json_is_exactly_one_document(path: str, request: pytest.FixtureRequest, cli) -> None:  # noqa: ANN001
    case = CASES.get(path)
    if case is None:
        pytest.fail(f"no case for the command {path!r}: add one to CASES")
    root = request.getfixturevalue(case.lake)
    args = case.args(root, cli)
    result = cli(*args, "--output", "json", cwd=root)
    assert result.code == case.code, (args, result.out[-2000:], result.err[-2000:])
    assert "Error" not in result.err, result.err
    if path in STREAMS:
        lines = result.out.splitlines()
        assert lines and all(isinstance(json.loads(line), dict) for line in lines)
        return
    document = json.loads(result.out)  # the whole of stdout: one document, nothing before or after
    assert document is not None


@pytest.mark.parametrize("path", ["status", "gaps", "late", "lineage", "vacuum", "runs", "verify"])
def test_the_global_output_option_works_for_every_command_too(path: str, built_example: Path, cli) -> None:  # noqa: ANN001
    args = CASES[path].args(built_example, cli)
    result = cli("--output", "json", *args, cwd=built_example)
    assert result.code == 0, result.err
    json.loads(result.out)


def test_rollback_with_nothing_to_do_prints_only_its_document(built_example: Path, cli) -> None:  # noqa: ANN001
    current = Lake.open(built_example).table("silver.orders_clean").current_snapshot().snapshot_id
    result = cli("rollback", "--table", "silver.orders_clean", "--to", str(current), "-o", "json", cwd=built_example)
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["days"] == [] and document["rolled_back"] is False and document["run_id"] is None
    text = cli("rollback", "--table", "silver.orders_clean", "--to", str(current), cwd=built_example)
    assert "Nothing to roll back" in text.out


def test_rollback_and_quarantine_documents_name_their_run(fresh: Path, cli) -> None:  # noqa: ANN001
    target = f"pre-{newest_run(fresh)}"
    rolled = json.loads(cli("rollback", "--table", "silver.orders_clean", "--to", target, "--reason", "bad",
                            "--yes", "-o", "json", cwd=fresh).out)
    assert rolled["rolled_back"] is True and rolled["days"] == [str(DAY2)] and rolled["run_id"]
    quarantined = json.loads(cli("quarantine", "--table", "bronze.orders", "--date", str(DAY1), "--reason", "bad",
                                 "--yes", "-o", "json", cwd=fresh).out)
    assert quarantined["quarantined"] is True and quarantined["table"] == "bronze.orders" and quarantined["run_id"]


# ----- errors ------------------------------------------------------------------------------------------


ERRORS = [
    (("status", "--table", "nope"), 2, "unknown table 'nope'"),  # a LakemendError from the library
    (("runs", "--status", "done"), 2, "--status 'done' is not a job status"),  # one from the command
    (("runs", "logs", "20200101T000000-nope00"), 2, "no run '20200101T000000-nope00'"),
    (("rebuild", "silver", "--table", "orders_clean", "--date", "2025-13-01"), 2, "invalid date '2025-13-01'"),
    (("runs", "--bogus"), 2, "No such option: --bogus"),  # a usage error from click, before the command runs
    (("rollback", "--table", "silver.orders_clean"), 2, "--to"),  # a missing option
]


@pytest.mark.parametrize(("args", "code", "message"), ERRORS)
@pytest.mark.parametrize("where", ["command", "global"])
def test_an_error_in_json_mode_is_one_json_object_on_stderr(
        built_example: Path, cli, args: tuple[str, ...], code: int, message: str, where: str) -> None:  # noqa: ANN001
    argv = [*args, "--output", "json"] if where == "command" else ["--output", "json", *args]
    result = cli(*argv, cwd=built_example)
    assert result.code == code, result.err
    assert result.out == ""
    assert "Error:" not in result.err and "Traceback" not in result.err
    error = json.loads(result.err)  # the whole of stderr: one object
    assert set(error) == {"error", "fix", "exit_code"} and error["exit_code"] == code
    assert message in error["error"]


@pytest.mark.parametrize(("args", "code", "message"), ERRORS)
def test_an_error_in_text_mode_is_one_error_line(built_example: Path, cli, args: tuple[str, ...], code: int, message: str) -> None:  # noqa: ANN001
    result = cli(*args, cwd=built_example)
    assert result.code == code and result.out == ""
    assert result.err.count("Error:") == 1 and message in result.err
    assert not result.err.lstrip().startswith("{")


def test_an_unsupported_output_format_is_a_usage_error(built_example: Path, cli) -> None:  # noqa: ANN001
    for argv in (["status", "--output", "yaml"], ["--output", "yaml", "status"]):
        result = cli(*argv, cwd=built_example)
        assert result.code == 2 and result.out == "", result.err
        assert result.err.count("Error:") == 1 and "--output 'yaml' is not supported — use --output text or --output json" in result.err


def test_an_error_outside_a_project_in_json_mode(tmp_path: Path, cli) -> None:  # noqa: ANN001
    result = cli("status", "-o", "json", cwd=tmp_path)
    assert result.code == 1 and result.out == ""
    error = json.loads(result.err)
    assert "no lakemend.yaml" in error["error"] and "lakemend init" in error["fix"]


def test_a_failing_command_in_json_mode_still_prints_one_document(scratch: Path, cli) -> None:  # noqa: ANN001
    """A failure the command reports itself (exit 1) is in its document, not on stderr as text."""
    result = cli("dq", "check", "--table", "silver.orders_clean", "--date", str(DAY3), "-o", "json", cwd=scratch)
    assert result.code == 1
    assert any(not r["passed"] for r in json.loads(result.out))
    assert "Error" not in result.err


# ----- table names -------------------------------------------------------------------------------------


@pytest.fixture
def two_orders(example: Path) -> Path:
    """A project where ``orders`` names a bronze and a gold table."""
    configure(example, gold={"orders": {"sql": "models/gold/daily_revenue.sql", "depends_on": ["silver.orders_clean"],
                                        "unique_key": ["currency"]}})
    return example


def test_find_table_refuses_a_short_name_two_tables_share(two_orders: Path) -> None:
    project = load_project(two_orders)
    with pytest.raises(UsageError) as refused:
        project.find_table("orders")
    assert "bronze.orders" in str(refused.value) and "gold.orders" in str(refused.value)
    assert project.find_table("gold.orders").qualified == "gold.orders"
    assert project.find_table("orders_clean").qualified == "silver.orders_clean"


@pytest.mark.parametrize("args", [("status", "--table", "orders"), ("runs", "--table", "orders"),
                                  ("pause", "--table", "orders", "--reason", "x"), ("gaps", "--table", "orders"),
                                  ("vacuum", "--table", "orders", "--dry-run")])
def test_the_cli_refuses_a_short_name_two_tables_share(two_orders: Path, cli, args: tuple[str, ...]) -> None:  # noqa: ANN001
    result = cli(*args, cwd=two_orders)
    assert result.code == 2, (result.out, result.err)
    assert "ambiguous" in result.err and "bronze.orders" in result.err and "gold.orders" in result.err
    assert cli("status", "--table", "gold.orders", cwd=two_orders).code == 0


def test_values_are_printed_as_they_are(built_example: Path, cli) -> None:  # noqa: ANN001
    """Text that looks like rich's emoji codes or markup is data: printed unchanged."""
    result = cli("query", "SELECT ':smile: [b]x[/b]' AS v FROM bronze.orders LIMIT 1", cwd=built_example)
    assert result.code == 0, result.err
    assert ":smile: [b]x[/b]" in result.out


def test_a_rollback_plan_names_the_dependants_it_marks_stale(built_example: Path, cli) -> None:  # noqa: ANN001
    """Few are listed; many are summed up per table (a whole-table rollback marks every day's dependants)."""
    first = Lake.open(built_example).table("bronze.orders").history()[0].snapshot_id  # before any day
    result = cli("rollback", "--table", "bronze.orders", "--to", str(first), "--date", str(DAY1), "--reason", "r",
                 cwd=built_example)
    assert result.code == 2  # no terminal to confirm on: nothing rolled back
    assert "Dependants it marks stale (rebuild them after with lakemend repair --stale): " in result.out
    assert f"silver.orders_clean {DAY1}" in result.out and "3 day(s)" not in result.out
    whole = cli("rollback", "--table", "bronze.orders", "--to", str(first), "--reason", "r", cwd=built_example)
    days = sorted(Lake.open(built_example).state.partition_states("silver.orders_clean"))
    assert f"silver.orders_clean {len(days)} day(s) {days[0]} … {days[-1]}" in whole.out and len(days) > 2


@pytest.mark.parametrize("terminal", [True, False])
def test_the_progress_bar_is_drawn_only_on_a_terminal(terminal: bool) -> None:
    """A transient bar shows nothing on a file or pipe: there it is not drawn at all (no refresh thread)."""
    import io
    import threading

    from rich.console import Console

    from lakemend.cli.output import Output, with_progress
    from lakemend.ops.runner import RunReport

    out = Output("text", target=Console(file=io.StringIO(), force_terminal=terminal))
    drawing: list[bool] = []
    before = set(threading.enumerate())  # another test's bar may still be stopping: only this one's counts

    def work(hook) -> RunReport:  # noqa: ANN001 - the progress hook
        drawing.append(any(type(t).__name__ == "_RefreshThread" for t in set(threading.enumerate()) - before))
        return RunReport("r")

    with_progress(3, out, work)
    assert drawing == [terminal]
