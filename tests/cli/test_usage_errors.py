"""Usage errors are one ``Error:`` line and exit 2 with the typer installed (0.2x bundles its own
click, whose exceptions are not the click package's); ``--version``; and the smaller on-call
fixes of issue 12: ``dq check --failed`` and its summary, and no restore point claimed by a run
that published nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from support import break_first_row

from lakemend import __version__

CASES = {
    "unknown option": (["status", "--bogus"], "No such option: --bogus — see lakemend status --help"),
    "unknown command": (["bogus"], "No such command 'bogus' — see lakemend --help"),
    "misspelt command": (["rebuld"], "No such command 'rebuld'"),
    "missing argument": (["runs", "resume"], "Missing argument"),
    "missing option": (["rebuild", "silver"], "Missing option '--table'"),
    "bad value": (["backfill", "bronze", "orders", "--max-parallel", "many"], "Invalid value for '--max-parallel'"),
    "global option after the command": (
        ["status", "--project", "."], "--project is an option of lakemend itself: give it before the command "
                                      "(lakemend --project … status)"),
    "global short option after a subcommand": (
        ["runs", "logs", "x", "-C", "."], "-C is an option of lakemend itself: give it before the command "
                                          "(lakemend -C … runs logs)"),
}


def test_the_installed_typer_is_the_newest_the_project_allows() -> None:
    """pyproject caps typer below 0.30: the suite runs on the 0.29 line (its bundled click)."""
    major, minor = (int(p) for p in typer.__version__.split(".")[:2])
    assert (major, minor) >= (0, 29)


@pytest.mark.parametrize("name", list(CASES))
def test_usage_error_is_one_line_and_exit_2(cli, tmp_path: Path, name: str) -> None:  # noqa: ANN001
    args, expected = CASES[name]
    result = cli(*args, cwd=tmp_path)
    assert result.code == 2, (result.out, result.err)
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    assert expected in lines[0]
    assert "unexpected" not in lines[0] and "report it" not in lines[0]


def test_usage_error_in_json(cli, tmp_path: Path) -> None:  # noqa: ANN001
    result = cli("-o", "json", "status", "--bogus", cwd=tmp_path)
    assert result.code == 2 and result.out == ""
    assert json.loads(result.err) == {"error": "No such option: --bogus", "fix": "see lakemend status --help", "exit_code": 2}


def test_version(cli, tmp_path: Path) -> None:  # noqa: ANN001
    result = cli("--version", cwd=tmp_path)
    assert (result.code, result.out, result.err) == (0, f"lakemend {__version__}\n", "")


def test_usage_errors_of_a_real_process(tmp_path: Path) -> None:
    """The console entry point itself (not main() in-process): same line, same code."""
    done = subprocess.run([sys.executable, "-m", "lakemend", "status", "--project", "."], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("Error:") == 1 and "give it before the command" in done.stderr
    done = subprocess.run([sys.executable, "-m", "lakemend", "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, f"lakemend {__version__}")


def test_input_ending_at_a_question_is_not_a_crash(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """A prompt whose stdin ends (EOF): one line saying to pass the answer as an option, exit 1."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("lakemend.cli.context.on_terminal", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    result = cli("pause", "--all", cwd=example)
    assert result.code == 1, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: no answer: input ended at a question — pass the answer as an option (--reason, --yes)"]


def test_dq_check_failed_filter_and_summary(built_copy: Path, cli) -> None:  # noqa: ANN001
    break_first_row(built_copy, "2025-10-21")
    full = cli("dq", "check", "--table", "silver.orders_clean", "--date", "2025-10-21", cwd=built_copy)
    assert full.code == 1
    summary = full.out.split("Failed checks (2):", 1)[1]  # after the table: the failures alone
    assert "min(amount)" in summary and "accepted_values(currency)" in summary and "pass" not in summary
    only = cli("dq", "check", "--table", "silver.orders_clean", "--date", "2025-10-21", "--failed", "-o", "json",
               cwd=built_copy)
    assert only.code == 1
    assert {r["check"] for r in json.loads(only.out)} == {"min(amount)", "accepted_values(currency)"}
    assert "required" in cli("dq", "check", "--help").out
    missing = cli("dq", "check", cwd=built_copy)
    assert missing.code == 2 and "no day given" in missing.err


def test_a_run_that_published_nothing_claims_no_restore_point(built_copy: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LAKEMEND_REASON", "again")
    again = cli("run", "--date", "2025-10-21", cwd=built_copy)
    assert again.code == 0, again.err
    text = " ".join(again.out.split())
    assert "restore point tag" not in text and "no restore point" in text
    rebuilt = cli("rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-21", "--yes", cwd=built_copy)
    assert rebuilt.code == 0, rebuilt.err
    text = " ".join(rebuilt.out.split())
    assert "restore point tag pre-" in text and "on 1 table(s)" in text


@pytest.fixture
def built_copy(example: Path) -> Path:
    """The example built for 2025-10-20 and 21."""
    import datetime as dt

    from conftest import START, build

    assert not build(example, START, START + dt.timedelta(days=1)).failed
    return example


