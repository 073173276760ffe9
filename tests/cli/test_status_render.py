"""``lakemend status`` as a person reads it: rendered by a real process at 100 and 200 columns
(full table names, day labels, one-character cells and marked gaps for long windows), stale days
as ``repair --stale`` sees them, quarantined records, and pauses that hide nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build
from hypothesis import given, settings
from hypothesis import strategies as st
from support import configure

TABLES = ["bronze.hubspot_contacts", "bronze.orders", "silver.customers_clean", "silver.orders_clean",
          "gold.customer_orders", "gold.daily_revenue"]


def lakemend(root: Path, *args: str, columns: int = 100) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")}
    env |= {"COLUMNS": str(columns), "LAKEMEND_REASON": "status test"}
    done = subprocess.run([sys.executable, "-m", "lakemend", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    return done.returncode, done.stdout, done.stderr


def rows_of(text: str) -> dict[str, str]:
    """Table name → the cells after it (a row starts with the table's full name)."""
    rows = {}
    for line in text.splitlines():
        for name in TABLES:
            if line.startswith(name + " "):
                rows[name] = line[len(name):]
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    """The example built for 2025-10-20 … 27, owned by this module (the tests below change it in order)."""
    import shutil

    root = tmp_path_factory.mktemp("status") / "company"
    shutil.copytree(_pristine_example, root, symlinks=True)
    assert not build(root).failed
    return root


@pytest.mark.parametrize("columns", [100, 200])
def test_default_window_has_full_names_and_day_labels(built: Path, columns: int) -> None:
    code, out, err = lakemend(built, "status", columns=columns)
    assert code == 0, err
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), [line for line in lines if len(line) > columns]
    assert set(rows_of(out)) == set(TABLES)  # every name in full, none cut to "bron…"
    header = next(i for i, line in enumerate(lines) if "2025-10" in line)
    assert lines[header + 1].split() == ["20", "21", "22", "23", "24", "25", "26", "27"]
    for cells in rows_of(out).values():
        assert cells.split() == ["■"] * 8
    assert "published 48" in out and "stale 0" in out and "missing 0" in out


@pytest.mark.parametrize("columns", [100, 200])
def test_a_60_day_window_has_one_character_cells_labels_and_marked_gaps(built: Path, columns: int) -> None:
    """A calendar of weekdays over 60 days: weekends are not expected, so each is a marked gap."""
    configure(built, calendar={"start": "2025-09-01", "end": "2025-10-30", "weekdays_only": True})
    try:
        code, out, err = lakemend(built, "status", "--start", "2025-09-01", "--end", "2025-10-30", columns=columns)
    finally:
        path = built / "lakemend.yaml"
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.pop("calendar", None)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert code == 0, err
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), [line for line in lines if len(line) > columns]
    rows = rows_of(out)
    assert set(rows) == set(TABLES)
    # shown: the expected weekdays and the days with data (10-20 … 27, a weekend among them)
    window = [dt.date(2025, 9, 1) + dt.timedelta(days=i) for i in range(60)]
    shown = [d for d in window if d.weekday() < 5 or dt.date(2025, 10, 20) <= d <= dt.date(2025, 10, 27)]
    gaps = sum(1 for a, b in zip(shown, shown[1:]) if (b - a).days > 1)
    assert gaps == 7
    for name, cells in rows.items():
        symbols = cells.replace(" ", "")
        assert symbols.count("┊") == gaps, (name, cells)
        assert len(symbols.replace("┊", "")) == len(shown)  # one character per day
    months = next(line for line in lines if "2025-09" in line)
    assert "2025-10" in months
    labels = lines[lines.index(months) + 1].split()
    assert labels[0] == "01" and "27" in labels  # Mondays are labelled: 09-01 … 10-27
    assert "┊ days skipped" in out
    # the days before the data landed are missing (expected by the calendar), the built ones published
    assert rows["bronze.orders"].replace(" ", "").replace("┊", "").endswith("■" * 8 + "···")


def test_stale_days_are_the_ones_repair_plans(built: Path) -> None:
    code, _, err = lakemend(built, "backfill", "bronze", "orders", "2025-10-27")  # without --downstream
    assert code == 0, err
    code, out, err = lakemend(built, "-o", "json", "status")
    assert code == 0, err
    shown = {(t, d) for t, row in json.loads(out)["tables"].items() for d, s in row.items() if s == "stale"}
    code, out, err = lakemend(built, "-o", "json", "repair", "--stale", "--dry-run")
    assert code == 0, err
    planned = {(p["table"], p["day"]) for p in json.loads(out)["plan"]["partitions"]}
    assert shown and shown == planned
    code, out, _ = lakemend(built, "status")
    assert rows_of(out)["silver.orders_clean"].split()[-1] == "◐"
    assert f"stale {len(shown)}" in out


def test_pause_is_a_marker_beside_the_state(built: Path) -> None:
    code, _, err = lakemend(built, "pause", "--all", "--reason", "drill")
    assert code == 0, err
    try:
        code, out, err = lakemend(built, "-o", "json", "status")
        assert code == 0, err
        document = json.loads(out)
        states = {s for row in document["tables"].values() for s in row.values()}
        assert "paused" not in states and "stale" in states  # stale from the previous test stays visible
        assert set(document["tables_paused"]) == set(TABLES) and document["paused"] == {"*": "drill"}
        code, out, _ = lakemend(built, "status")
        rows = rows_of(out)
        assert all(cells.lstrip().startswith("‖") for cells in rows.values()), out
        assert rows["silver.orders_clean"].split()[-1] == "◐"
        assert "paused: every table — drill" in out
    finally:
        assert lakemend(built, "resume", "--all")[0] == 0


def test_quarantined_records_are_counted(example: Path) -> None:
    from lakemend.examples.data import generate, parse_fault

    generate(example / "landing", dt.date(2025, 10, 21), dt.date(2025, 10, 21), rows=120,
             faults=[parse_fault("malformed:2025-10-21:orders")])
    assert not build(example, dt.date(2025, 10, 20), dt.date(2025, 10, 22)).failed
    from lakemend.lake import Lake

    held = Lake.open(example).table("quarantine.orders").scan().to_arrow().num_rows
    assert held > 0
    code, out, err = lakemend(example, "-o", "json", "status")
    assert code == 0, err
    document = json.loads(out)
    assert document["totals"]["records_quarantined"] == held
    assert document["records_quarantined"]["bronze.orders"] == {"2025-10-21": held}
    code, out, _ = lakemend(example, "status")
    assert f"records quarantined: {held}" in out
    assert rows_of(out)["bronze.orders"].split()[1] == "▣"


def _fit_by_the_first_rule(days: list[dt.date], prefix: int, width: int) -> tuple[int, int]:
    """The cell width and how many of the oldest days the heatmap leaves out, as its first version
    found them: three columns a day if every day fits so, then drop the oldest day while the rest
    is too wide (quadratic, so the renderer no longer does it this way)."""
    def needed(shown: list[dt.date], cell: int) -> int:
        gaps = sum(1 for a, b in zip(shown, shown[1:]) if (b - a).days > 1)
        return prefix + cell * len(shown) + gaps * (1 if cell == 1 else 2)

    cell = 3 if needed(days, 3) <= width else 1
    shown = list(days)
    while len(shown) > 1 and needed(shown, cell) > width:
        shown.pop(0)
    return cell, len(days) - len(shown)


@given(offsets=st.sets(st.integers(0, 700), min_size=1, max_size=250), name=st.integers(1, 40),
       width=st.integers(10, 300))
@settings(max_examples=150, deadline=None)
def test_the_days_left_out_to_fit_the_width_are_the_oldest_ones_that_do_not_fit(offsets: set[int], name: int,
                                                                               width: int) -> None:
    import re

    from lakemend.cli.ops import render_heatmap
    from lakemend.ops.heatmap import Heatmap

    days = sorted(dt.date(2024, 1, 1) + dt.timedelta(days=o) for o in offsets)
    heat = Heatmap(days=tuple(days), cells={"t" * name: dict.fromkeys(days, "published")})
    text = "\n".join(render_heatmap(heat, width))
    found = re.search(r"the oldest (\d+) of (\d+) days are left out", text)
    cell, left_out = _fit_by_the_first_rule(days, name + 3, width)
    assert (int(found.group(1)) if found else 0) == left_out
    assert ("[green] ■ [/]" in text) == (cell == 3)  # three columns a day, or one
