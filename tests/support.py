"""Helpers shared by test modules in several folders (fixtures live in conftest.py)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from lakemend.lake import Lake, partition_day


def landed_order_records(root: Path, day: str) -> int:
    total = 0
    for path in sorted((root / "landing" / "orders" / day).glob("*.csv")):
        with path.open(newline="") as handle:
            total += sum(1 for _ in csv.DictReader(handle))
    return total


TOKEN = "tok-3f9a1c77e2b04d51a8c6"  # a notify target's bearer token


def configure(root: Path, **sections: Any) -> None:
    """Set top-level keys of the project's lakemend.yaml (dicts are merged into existing blocks)."""
    path = root / "lakemend.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in sections.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


META = {"_ingested_at", "_run_id", "run_id", "quarantined_at"}
Content = dict[tuple[str, dt.date], list[tuple]]


def content(root: Path) -> Content:
    """Every table's rows per day, without the columns that differ on every rebuild."""
    lake = Lake.open(root)
    out: Content = {}
    for namespace in ("bronze", "silver", "gold", "quarantine"):
        for _, name in lake.catalog.list_tables(namespace):
            data = lake.table(f"{namespace}.{name}").scan().to_arrow()
            keep = [c for c in data.column_names if c not in META]
            for row in data.select(keep).to_pylist():
                key = (f"{namespace}.{name}", partition_day(row["day"]))
                out.setdefault(key, []).append(tuple(str(row[c]) for c in keep))
    return {k: sorted(v) for k, v in out.items()}


def contact(i: int, **overrides: object) -> dict:
    """One HubSpot contact record as the example's landing JSONL carries it."""
    record = {
        "id": str(i),
        "properties": {"email": f"c{i}@example.com", "firstname": "Ada", "lastname": "L", "phone": "+1 415 555 0100",
                       "company": "Acme", "lifecyclestage": "lead", "createdate": "2025-11-02T08:00:00Z",
                       "lastmodifieddate": "2025-11-02T09:00:00Z"},
        "createdAt": "2025-11-02T08:00:00Z", "updatedAt": "2025-11-02T09:00:00Z", "archived": False,
    }
    record.update(overrides)
    return record


def state_dump(root: Path) -> list[str]:
    """The project's state DB as SQL text (to prove a dry run wrote nothing)."""
    import sqlite3

    con = sqlite3.connect(root / ".lakemend" / "state.db")
    try:
        return list(con.iterdump())
    finally:
        con.close()


def break_first_row(root: Path, day: str) -> None:
    """Rewrite the day's silver file: the first order gets a negative amount and an unknown currency."""
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = sorted((root / "lake" / "silver" / "orders_clean" / f"day={day}").glob("*.parquet"))[0]
    table = pq.read_table(path)
    for name, value in (("amount", Decimal("-5.00")), ("currency", "BTC")):
        index = table.schema.get_field_index(name)
        values = table.column(name).to_pylist()
        values[0] = value
        table = table.set_column(index, table.schema.field(name), pa.array(values, table.schema.field(name).type))
    pq.write_table(table, path)


def count_calls(monkeypatch: Any, **targets: tuple[object, str]) -> dict[str, int]:
    """How often each target is called while the test runs — ``name=(owner, attribute)``, a
    function of a module or a method of a class; each call still runs the real code."""
    seen = dict.fromkeys(targets, 0)
    for name, (owner, attribute) in targets.items():
        real = getattr(owner, attribute)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            seen[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, attribute, spy)
    return seen
