"""The installed entry point, help texts, and the runbook scripts copied by init."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LAKEMEND = [sys.executable, "-m", "lakemend"]
COMMANDS = ["init", "generate", "run", "query", "runs"]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | env
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str, tmp_path: Path) -> None:
    result = run([*LAKEMEND, command, "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    if command != "runs":
        assert "Example" in result.stdout


def test_help_does_not_import_the_heavy_libraries(tmp_path: Path) -> None:
    code = "import sys; from lakemend.cli.app import app; assert 'pyiceberg' not in sys.modules and 'duckdb' not in sys.modules"
    assert run([sys.executable, "-c", code], tmp_path).returncode == 0


def test_init_scaffolds_project_scripts_and_secret(tmp_path: Path) -> None:
    result = run([*LAKEMEND, "init", "proj", "--example", "company", "--rows", "20"], tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "proj"
    for name in ("lakemend.yaml", "models/silver/orders_clean.sql", "contracts/orders_clean.yaml", ".gitignore",
                 "aws/scripts/backfill_bronze_for_date.sh", "aws/scripts/rebuild_silver_for_date.sh",
                 "aws/scripts/refresh_gold_for_date.sh"):
        assert (root / name).is_file(), name
    assert os.access(root / "aws/scripts/backfill_bronze_for_date.sh", os.X_OK)
    assert len((root / ".lakemend/mask.key").read_text().strip()) >= 32
    assert sorted(p.name for p in (root / "landing/orders").iterdir())[0] == "2025-10-20"
    again = run([*LAKEMEND, "init", "proj"], tmp_path)
    assert again.returncode == 2 and "already holds a lakemend project" in again.stderr


def test_scripts_refuse_without_a_project(tmp_path: Path) -> None:
    script = Path(__file__).parents[2] / "aws" / "scripts" / "rebuild_silver_for_date.sh"
    result = run(["bash", str(script), "--table", "orders_clean", "--date", "2025-10-26"], tmp_path)
    assert result.returncode == 2 and "no lakemend.yaml" in result.stderr
