"""The on-call details of issue 12: a blank project, clear errors for a damaged day, an empty
quarantine table, the masking key's file, the confirmation after a plan, piped output width."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakemend.errors import ConfigError
from lakemend.project.config import MaskingConfig, mask_key

from tests.conftest import build
from tests.support import state_dump

LAKEMEND = [sys.executable, "-m", "lakemend"]


def env_without_lakemend(**extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_") and k != "COLUMNS"} | extra


# ----- lakemend init DIR: a blank project ----------------------------------------------------------------


def uncomment(template: str) -> str:
    """The blank lakemend.yaml with its commented examples switched on."""
    lines = []
    for line in template.splitlines():
        if line in ("sources: {}", "silver: {}", "gold: {}"):
            line = line.removesuffix(" {}")
        elif line.startswith("#   "):
            line = line[2:]
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_init_without_example_makes_a_blank_project_that_becomes_a_lake(tmp_path: Path, cli) -> None:  # noqa: ANN001
    result = cli("init", str(tmp_path / "mine"), cwd=tmp_path)
    assert result.code == 0, result.err
    root = tmp_path / "mine"
    for name in ("lakemend.yaml", ".gitignore", "aws/scripts/backfill_bronze_for_date.sh",
                 "aws/scripts/rebuild_silver_for_date.sh", "aws/scripts/refresh_gold_for_date.sh", "aws/scripts/_lakemend.sh"):
        assert (root / name).is_file(), name
    for folder in ("landing", "models/silver", "models/gold", "contracts"):
        assert (root / folder).is_dir(), folder
    assert not list((root / "landing").iterdir()) and not list((root / "models" / "silver").iterdir())
    key = root / ".lakemend" / "mask.key"
    assert len(key.read_text().strip()) >= 32 and key.stat().st_mode & 0o777 == 0o600
    assert ".lakemend/" in (root / ".gitignore").read_text().splitlines()
    listing = cli("ls", "--output", "json", cwd=root)
    assert (listing.code, json.loads(listing.out)) == (0, [])
    empty_run = cli("run", "--date", "2025-10-20", cwd=root)
    assert empty_run.code == 2 and "the project defines no tables yet" in empty_run.err

    # its commented examples, switched on, are a working lake
    text = (root / "lakemend.yaml").read_text()
    (root / "lakemend.yaml").write_text(uncomment(text))
    for path, sql in re.findall(r"sql: (models/\S+\.sql)\s+# (SELECT .*)", text):
        (root / path).write_text(sql + "\n")
    contract = re.search(r"contract: (contracts/\S+\.yaml)\s+# (.*)", text)
    assert contract is not None
    (root / contract.group(1)).write_text(contract.group(2) + "\n")
    day = root / "landing" / "orders" / "2025-10-26"
    day.mkdir(parents=True)
    (day / "export-1.csv").write_text(
        "order_id,email,amount,ordered_at\n"
        "o-1,Ada@Example.com,12.50,2025-10-26T09:00:00Z\n"
        "o-2,bob@example.com,7.25,2025-10-26T10:00:00+02:00\n")
    listed = json.loads(cli("ls", "--output", "json", cwd=root).out)
    assert [t["table"] for t in listed] == ["bronze.orders", "silver.orders_clean", "gold.revenue_by_customer"]
    built = cli("run", "--date", "2025-10-26", "--output", "json", cwd=root)
    assert built.code == 0, built.err
    assert [j["status"] for j in json.loads(built.out)["jobs"]] == ["succeeded"] * 3
    rows = json.loads(cli("query", "SELECT email, orders, revenue FROM gold.revenue_by_customer ORDER BY revenue",
                          "--output", "json", cwd=root).out)
    assert [(r["orders"], r["revenue"]) for r in rows] == [(1, "7.25"), (1, "12.50")]
    assert all("@" not in r["email"] for r in rows)  # hashed


def test_init_refuses_an_existing_project(tmp_path: Path, cli) -> None:  # noqa: ANN001
    assert cli("init", str(tmp_path / "p"), cwd=tmp_path).code == 0
    again = cli("init", str(tmp_path / "p"), cwd=tmp_path)
    assert again.code == 2 and "already holds a lakemend project" in again.err


# ----- query: a damaged day, an empty quarantine ---------------------------------------------------------


def test_query_on_a_day_whose_file_is_missing_points_to_verify_and_repair(example: Path, cli) -> None:  # noqa: ANN001
    assert build(example, *_days("2025-10-20", "2025-10-21")).failed == []
    [victim] = list((example / "lake" / "silver" / "orders_clean").glob("day=2025-10-21/*.parquet"))
    victim.unlink()
    result = cli("query", "SELECT count(*) AS n FROM silver.orders_clean", cwd=example)
    assert result.code == 1
    assert result.err.startswith("Error: cannot read silver.orders_clean: a data file is missing or damaged (")
    assert "lakemend verify --table silver.orders_clean" in result.err and "lakemend repair --missing" in result.err
    assert "unexpected" not in result.err and "report it" not in result.err


def test_query_on_a_truncated_file_points_to_verify(example: Path, cli) -> None:  # noqa: ANN001
    assert build(example, *_days("2025-10-20", "2025-10-20")).failed == []
    [victim] = list((example / "lake" / "bronze" / "orders").glob("day=2025-10-20/*.parquet"))
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    result = cli("query", "SELECT count(*) FROM bronze.orders", cwd=example)
    assert result.code == 1
    assert "a data file is missing or damaged" in result.err and "lakemend verify --table bronze.orders" in result.err


def test_counting_an_empty_quarantine_on_a_clean_lake(example: Path, cli) -> None:  # noqa: ANN001
    assert build(example, *_days("2025-10-20", "2025-10-20")).failed == []
    result = cli("query", "SELECT count(*) AS n FROM quarantine.orders_clean", "--output", "json", cwd=example)
    assert result.code == 0, result.err
    assert json.loads(result.out) == [{"n": 0}]
    unknown = cli("query", "SELECT count(*) FROM quarantine.nothing", cwd=example)
    assert unknown.code == 2 and "no table quarantine.nothing" in unknown.err


def _days(first: str, last: str):  # noqa: ANN202
    import datetime as dt

    return dt.date.fromisoformat(first), dt.date.fromisoformat(last)


# ----- the masking key --------------------------------------------------------------------------------


def test_a_missing_masking_key_names_the_configured_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAKEMEND_MASK_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        mask_key(MaskingConfig(key_file=".lakemend/mask.key"), tmp_path)
    message = str(caught.value)
    assert f"key_file {tmp_path / '.lakemend/mask.key'} does not exist" in message
    assert "$LAKEMEND_MASK_KEY is not set" in message


# ----- Apply? [y/N] on a terminal ---------------------------------------------------------------------------


def run_on_terminal(args: list[str], cwd: Path, answer: bytes, env: dict[str, str],
                    question: bytes = b"Apply? [y/N]") -> tuple[int, str]:
    """Run with stdin and stdout on a pseudo-terminal, answer the first question, return (code, output)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdin=follower, stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    seen, answered, deadline = b"", False, time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if not answered and question in seen:
                os.write(leader, answer)
                answered = True
        elif process.poll() is not None:
            break
    code = process.wait(timeout=60)
    os.close(leader)
    return code, seen.decode(errors="replace")


def test_a_plan_on_a_terminal_asks_before_applying(example: Path) -> None:
    assert build(example, *_days("2025-10-20", "2025-10-20")).failed == []
    env = env_without_lakemend(LAKEMEND_REASON="terminal test", COLUMNS="150")
    args = [*LAKEMEND, "rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-20"]
    before = state_dump(example)
    code, seen = run_on_terminal(args, example, b"n\n", env)
    assert code == 1, seen
    assert "Plan: rebuild silver" in seen and "Apply? [y/N]" in seen and "Nothing changed." in seen
    assert state_dump(example) == before
    code, seen = run_on_terminal(args, example, b"y\n", env)
    assert code == 0, seen
    assert "1 partition(s) built" in seen
    # no terminal (the runbook scripts): no question, applied
    piped = subprocess.run(args, cwd=example, env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert piped.returncode == 0 and "Apply?" not in piped.stdout + piped.stderr


def test_no_at_a_destructive_confirmation_says_nothing_changed(example: Path) -> None:
    assert build(example, *_days("2025-10-20", "2025-10-20")).failed == []
    env = env_without_lakemend(LAKEMEND_REASON="terminal test", COLUMNS="150")
    before = state_dump(example)
    code, seen = run_on_terminal([*LAKEMEND, "quarantine", "--table", "silver.orders_clean", "--date", "2025-10-20"],
                                 example, b"n\n", env, question=b"Quarantine this partition? [y/N]")
    assert code == 1, seen
    assert seen.rstrip().endswith("Nothing changed."), seen
    assert state_dump(example) == before


# ----- output width -------------------------------------------------------------------------------------


def test_piped_output_is_not_forced_to_200_columns(tmp_path: Path) -> None:
    code = "from lakemend.cli.output import console; print(console.width)"
    piped = subprocess.run([sys.executable, "-c", code], env=env_without_lakemend(), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, cwd=tmp_path, timeout=60)
    assert piped.stdout.strip() == "120", piped.stderr
    chosen = subprocess.run([sys.executable, "-c", code], env=env_without_lakemend(COLUMNS="90"), capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, cwd=tmp_path, timeout=60)
    assert chosen.stdout.strip() == "90"
