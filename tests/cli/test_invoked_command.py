"""Only the invoked command is turned into click's objects (``cli.app.app_for``): what a person
sees must not depend on it — every command's and group's help, and a usage error, read the same
from the pruned app as from the whole one."""

from __future__ import annotations

import pytest
import typer
from typer.main import get_command_name
from typer.testing import CliRunner

from lakemend.cli.app import app, app_for, invoked

NAMES = [c.name or get_command_name(c.callback.__name__) for c in app.registered_commands] + \
    [g.name for g in app.registered_groups]


@pytest.mark.parametrize(("args", "name"), [
    (["status"], "status"),
    (["-C", "lake", "--output", "json", "gaps"], "gaps"),
    (["--output=json", "--debug", "backfill", "bronze", "orders"], "backfill"),
    (["--profile", "prod", "runs", "logs", "R"], "runs"),
    (["--help"], None), (["--version", "status"], None), ([], None), (["-Clake", "status"], None), (["--", "status"], None),
])
def test_the_invoked_command_is_found_past_lakemends_own_options(args: list[str], name: str | None) -> None:
    assert invoked(args) == name


def test_the_app_keeps_only_the_named_command_or_group() -> None:
    pruned = app_for(["-C", "lake", "status"])
    assert [c.callback.__name__ for c in pruned.registered_commands] == ["status"] and not pruned.registered_groups
    pruned = app_for(["backfill", "bronze"])
    assert not pruned.registered_commands and [g.name for g in pruned.registered_groups] == ["backfill"]
    assert app_for(["--help"]) is app and app_for(["no-such-command"]) is app and app_for([]) is app
    assert len(app.registered_commands) + len(app.registered_groups) == len(NAMES)  # the whole app is untouched


def _invoke(target: typer.Typer, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(target, args, prog_name="lakemend", env={"COLUMNS": "120"})
    return result.exit_code, result.output


@pytest.mark.parametrize("name", NAMES)
def test_a_commands_help_reads_the_same_from_the_pruned_app(name: str) -> None:
    args = [name, "--help"]
    assert app_for(args) is not app
    assert _invoke(app_for(args), args) == _invoke(app, args)


def test_a_usage_error_reads_the_same_from_the_pruned_app() -> None:
    args = ["status", "--no-such-option"]
    code, text = _invoke(app_for(args), args)
    assert code == 2 and "No such option" in text
    assert (code, text) == _invoke(app, args)
