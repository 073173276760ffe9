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
