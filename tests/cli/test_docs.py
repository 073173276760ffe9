"""The docs are true: every command is documented, and the README's tour runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer.main

from lakemend.cli.app import app

ROOT = Path(__file__).parents[2]


def command_paths() -> list[str]:
    group = typer.main.get_command(app)
    paths = []

    def walk(cmd, prefix: str) -> None:  # noqa: ANN001
        for name, sub in getattr(cmd, "commands", {}).items():
            path = f"{prefix} {name}".strip()
            if getattr(sub, "commands", None):
                walk(sub, path)
                if sub.invoke_without_command:
                    paths.append(path)
            else:
                paths.append(path)

    walk(group, "")
    return paths


def test_every_command_is_in_the_command_reference() -> None:
    reference = (ROOT / "docs" / "commands.md").read_text()
    missing = [path for path in command_paths() if f"`lakemend {path}" not in reference]
    assert not missing, f"undocumented commands: {missing}"
    assert len(command_paths()) >= 13


def readme_tour() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    tour = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", tour, flags=re.S):
        for line in block.splitlines():
            if line.startswith("lakemend "):
                lines.append(shlex.split(line)[1:])
    return lines


def test_the_readme_tour_runs_as_written(tmp_path: Path, cli, monkeypatch) -> None:  # noqa: ANN001
    """On the project `make demo` makes (lakemend init with its default volume)."""
    monkeypatch.setenv("LAKEMEND_REASON", "README tour")
    assert cli("init", str(tmp_path / "demo-lake"), "--example", "company", cwd=tmp_path).code == 0
    steps = readme_tour()
    assert len(steps) >= 10
    for args in steps:
        result = cli(*args, cwd=tmp_path / "demo-lake")
        assert result.code == 0, (args, result.out[-2000:], result.err[-2000:])


# ----- docs/commands.md checked against --help -------------------------------------------------------------

PLACEHOLDER = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\]|[a-z]+ range)>")
GLOBAL_OPTIONS = {"--help", "--output", "--project", "--debug"}


def help_of(path: str, cli) -> str:  # noqa: ANN001
    result = cli(*path.split(), "--help")
    assert result.code == 0, (path, result.err)
    return result.out


def options_of(path: str) -> set[str]:
    """The long options of a command, from the click command typer builds (what --help lists)."""
    cmd = typer.main.get_command(app)
    for name in path.split():
        cmd = cmd.commands[name]
    return {opt for param in cmd.params for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")}


def test_help_shows_no_python_type_placeholders(cli) -> None:  # noqa: ANN001
    """typer >= 0.2x would show <bool> beside flags and <list[str]> beside repeatable options."""
    for path in ["", *command_paths()]:
        text = help_of(path, cli) if path else cli("--help").out
        found = PLACEHOLDER.findall(text)
        assert not found, f"lakemend {path} --help shows {found}"


def test_help_keeps_sentences_whole(cli, monkeypatch) -> None:  # noqa: ANN001
    """A docstring's source line breaks do not break sentences on screen (rich help joins them)."""
    monkeypatch.setenv("COLUMNS", "200")
    text = help_of("repair", cli)
    assert "the same way for --late, --stale" in " ".join(text.split())
    assert re.search(r"same way for\s*\n\s*--late", text) is None


def reference_rows() -> list[tuple[str, str]]:
    """(command path, first cell) of every table row of docs/commands.md naming a command."""
    paths = sorted(command_paths(), key=len, reverse=True)
    rows = []
    for line in (ROOT / "docs" / "commands.md").read_text().splitlines():
        match = re.match(r"\| `lakemend ([^`]*)`([^|]*(?:\\\|[^|]*)*)\|", line)
        if not match:
            continue
        cell = match.group(0)
        for path in paths:
            if match.group(1) == path or match.group(1).startswith(path + " "):
                rows.append((path, cell))
                break
    return rows


def test_the_options_the_reference_names_exist(cli) -> None:  # noqa: ANN001
    """Each option in a command's row of docs/commands.md is one its --help lists."""
    rows = reference_rows()
    assert len(rows) >= 25
    wrong = []
    for path, cell in rows:
        known = options_of(path) | GLOBAL_OPTIONS
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", cell):
            if option not in known:
                wrong.append(f"lakemend {path}: {option}")
    assert not wrong, f"docs/commands.md names options the commands do not have: {wrong}"


def test_every_option_is_documented() -> None:
    """Every long option of every command appears in docs/commands.md."""
    reference = (ROOT / "docs" / "commands.md").read_text()
    missing = [f"lakemend {path} {option}" for path in command_paths() for option in sorted(options_of(path))
               if option not in GLOBAL_OPTIONS and not re.search(rf"{re.escape(option)}(?![\w-])", reference)]
    assert not missing, f"options missing from docs/commands.md: {missing}"


# ----- the examples of the docs run as written --------------------------------------------------------------


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def runbook_sections() -> list[tuple[str, list[tuple[str, int]]]]:
    """(section title, [(command line, expected exit code)]) of docs/runbook.md; a trailing
    ``# exit N`` comment gives the exit code, else 0."""
    text = (ROOT / "docs" / "runbook.md").read_text()
    sections = []
    for chunk in text.split("\n## ")[1:]:
        title, _, body = chunk.partition("\n")
        lines = []
        for block in bash_blocks(body):
            for line in block.splitlines():
                command, _, comment = line.partition("#")
                if not command.strip():
                    continue
                code = re.match(r"\s*exit (\d)", comment)
                lines.append((command.strip(), int(code.group(1)) if code else 0))
        sections.append((title.strip(), lines))
    return sections


def damage(root: Path, title: str) -> None:
    """What each runbook scenario starts from."""
    from lakemend.examples.data import generate, parse_fault

    if title.startswith("Scenario 1"):
        for path in (root / "lake" / "bronze" / "orders").glob("day=2025-10-24/*.parquet"):
            path.unlink()
    elif title.startswith("Scenario 2"):
        [victim] = list((root / "lake" / "silver" / "orders_clean").glob("day=2025-10-21/*.parquet"))
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    elif title.startswith("Scenario 3"):
        import datetime as dt

        day = dt.date(2025, 10, 22)
        generate(root / "landing", day, day, rows=40, faults=[parse_fault("late:2025-10-22:hubspot")])


def test_the_runbook_doc_runs_as_written(example: Path, cli, monkeypatch) -> None:  # noqa: ANN001
    """Every command line of docs/runbook.md, section by section, from the damage each scenario
    describes; a line's ``# exit N`` comment is its expected exit code."""
    import os
    import subprocess
    import sys

    from tests.conftest import build

    assert not build(example).failed
    monkeypatch.setenv("LAKEMEND_REASON", "runbook doc test")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | {"LAKEMEND_REASON": "runbook doc test"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    sections = runbook_sections()
    assert [t for t, lines in sections if lines][:4] == ["Bronze layer backfill", "Silver rebuild, gold refresh",
                                                       "Scenario 1: missing partition", "Scenario 2: data corruption"]
    ran = 0
    for title, lines in sections:
        damage(example, title)
        for line, expected in lines:
            if line.startswith("./"):
                result = subprocess.run(line, shell=True, cwd=example, env=env, capture_output=True, text=True, timeout=300)
                code, out, err = result.returncode, result.stdout, result.stderr
            else:
                args = shlex.split(line)
                assert args[0] == "lakemend", line
                done = cli(*args[1:], cwd=example)
                code, out, err = done.code, done.out, done.err
            assert code == expected, (title, line, out[-1500:], err[-1500:])
            ran += 1
    assert ran >= 25


def test_the_inline_examples_of_the_command_reference_run(example: Path, cli) -> None:  # noqa: ANN001
    """The concrete examples in docs/commands.md's prose (not its placeholders: D, T, …)."""
    from tests.conftest import build

    assert not build(example).failed
    text = (ROOT / "docs" / "commands.md").read_text()
    examples = [m for m in re.findall(r"`(lakemend [^`]+)`", text)
                if re.search(r"\d{4}-\d{2}-\d{2}|--select|--table [a-z]", m) and not re.search(r"[A-Z]{2,}|…|\||\[|<", m)]
    assert "lakemend run --date 2025-10-26 --select 'silver.*+' --dry-run" in examples
    for line in examples:
        result = cli(*shlex.split(line)[1:], cwd=example)
        assert result.code == 0, (line, result.err[-1500:])
