"""``lakemend runs`` as a person reads it at 100 columns (a real process): one heading per run with
when it ended and why, a row per job whose names and numbers are never folded, and each failed
job's error in full below its run's table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def lakemend(root: Path, *args: str, columns: int = 100) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | {"COLUMNS": str(columns)}
    done = subprocess.run([sys.executable, "-m", "lakemend", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    return done.returncode, done.stdout, done.stderr


def test_a_failed_run_reads_at_100_columns(example: Path) -> None:
    model = example / "models" / "gold" / "daily_revenue.sql"
    model.write_text(model.read_text().replace("count(*)  ", "count(*) + CAST(currency || '!' AS INTEGER)", 1))
    code, _, err = lakemend(example, "run", "--start", "2025-10-20", "--end", "2025-10-21", "--reason", "nightly load")
    assert code == 1, err

    code, out, err = lakemend(example, "runs")
    assert code == 0, err
    lines = out.splitlines()
    assert all(len(line) <= 100 for line in lines), [line for line in lines if len(line) > 100]
    (job,) = json.loads(lakemend(example, "runs", "--limit", "1", "-o", "json")[1])
    heading = next(line for line in lines if line.startswith(job["run_id"]))
    assert "ended 20" in heading and "UTC" in heading and "reason: nightly load" in heading
    rows = [line.split("│")[1:-1] for line in lines if line.startswith("│")]
    assert len(rows) == 12  # 6 tables × 2 days, one line each: nothing folded onto a second line
    assert {cells[0].strip() for cells in rows} >= {"bronze.hubspot_contacts", "gold.daily_revenue"}
    assert all(cells[1].strip().startswith("2025-10-2") for cells in rows)
    errors = [line for line in lines if line.strip().startswith("error gold.daily_revenue")]
    assert len(errors) == 2 and all("Could not convert" in line or "Conversion Error" in line for line in errors), errors
