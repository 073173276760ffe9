"""Every kind of bad input ends in a clear one-line error or a quarantine row, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from support import contact

from conftest import START, build
from lakemend.lake import Lake


def quarantine_rows(root: Path, table: str) -> list[dict]:
    return Lake.open(root).table(f"quarantine.{table}").scan().to_arrow().to_pylist()


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ") and "Traceback" not in err
    return lines[0]


def land_contacts(root: Path, day: str, lines: list[str]) -> None:
    folder = root / "landing" / "hubspot" / "contacts" / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contacts-0001.jsonl").write_text("\n".join(lines) + "\n")




def test_malformed_json_line_is_quarantined_with_line_and_raw_text(example: Path) -> None:
    good = [json.dumps(contact(i)) for i in range(3)]
    land_contacts(example, "2025-11-02", [good[0], '{"id": "9", "properties": {"email": ', good[1], good[2]])
    report = build(example, dt.date(2025, 11, 2), dt.date(2025, 11, 2))
    bronze = next(r for r in report.results if r.table == "bronze.hubspot_contacts")
    assert bronze.status == "succeeded" and bronze.rows_written == 3 and bronze.rows_quarantined == 1
    [row] = quarantine_rows(example, "hubspot_contacts")
    assert row["line"] == 2
    assert row["source_file"] == "hubspot/contacts/2025-11-02/contacts-0001.jsonl"
    assert row["reason"].startswith("malformed JSON")
    assert row["raw"] == '{"id": "9", "properties": {"email": '


def test_bad_type_is_quarantined_naming_the_field(example: Path) -> None:
    land_contacts(example, "2025-11-02", [json.dumps(contact(1)), json.dumps(contact(2, archived="maybe")),
                                          json.dumps(contact(3, createdAt="not-a-date"))])
    build(example, dt.date(2025, 11, 2), dt.date(2025, 11, 2))
    rows = sorted(quarantine_rows(example, "hubspot_contacts"), key=lambda r: r["line"])
    assert [r["line"] for r in rows] == [2, 3]
    assert rows[0]["reason"] == "bad type in field archived: cannot convert maybe to boolean"
    assert "createdAt" in rows[1]["reason"] and "not-a-date" in rows[1]["reason"]


def test_bad_csv_type_is_quarantined_with_the_csv_line(example: Path) -> None:
    folder = example / "landing" / "orders" / "2025-11-02"
    folder.mkdir(parents=True)
    (folder / "orders-0001.csv").write_text(
        "order_id,customer_email,amount,currency,status,ordered_at,updated_at\n"
        "o-1,a@example.com,10.00,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n"
        "o-2,b@example.com,12;50,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n"
    )
    build(example, dt.date(2025, 11, 2), dt.date(2025, 11, 2))
    [row] = quarantine_rows(example, "orders")
    assert row["line"] == 3 and "column amount" in row["reason"] and "12;50" in row["raw"]


def test_missing_required_column_fails_the_job_naming_file_and_rule(example: Path, cli) -> None:
    folder = example / "landing" / "orders" / "2025-11-02"
    folder.mkdir(parents=True)
    (folder / "orders-0001.csv").write_text("order_id,amount,currency,status,ordered_at,updated_at\n"
                                            "o-1,10.00,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n")
    result = cli("run", "--date", "2025-11-02", cwd=example)
    assert result.code == 1
    assert "orders/2025-11-02/orders-0001.csv: required column 'customer_email' is missing" in result.err
    assert "rule: columns.customer_email.required" in result.err
    assert "Traceback" not in result.err + result.out
    failed = cli("runs", "--status", "failed", "--output", "json", cwd=example)
    assert [j["table_name"] for j in json.loads(failed.out)] == ["bronze.orders"]


def test_extra_column_is_kept_in_extra(example: Path) -> None:
    folder = example / "landing" / "orders" / "2025-11-02"
    folder.mkdir(parents=True)
    (folder / "orders-0001.csv").write_text(
        "order_id,customer_email,amount,currency,status,ordered_at,updated_at,coupon_code\n"
        "o-1,a@example.com,10.00,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z,FALL25\n"
    )
    build(example, dt.date(2025, 11, 2), dt.date(2025, 11, 2))
    [row] = Lake.open(example).table("bronze.orders").scan().to_arrow().to_pylist()
    assert json.loads(row["_extra"]) == {"coupon_code": "FALL25"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--date", "2025-13-40"), "invalid date '2025-13-40' for --date: no such day"),
        (("run", "--date", "../../etc"), "invalid date '../../etc' for --date"),
        (("run", "--start", "2025-10-27", "--end", "2025-10-20"), "--end 2025-10-20 is before --start 2025-10-27"),
        (("runs", "--table", "../../etc"), "unknown table '../../etc'"),
        (("runs", "--table", "silver.nope"), "unknown table 'silver.nope'"),
        (("query", "SELECT * FROM silver.nope"), "no table silver.nope in the catalog"),
        (("query", "SELECT * FROM ../../etc"), "cannot parse the query"),
        (("generate", "--start", "2025-10-20", "--end", "2025-10-20", "--fault", "gremlins:2025-10-20"), "unknown fault kind 'gremlins'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(example: Path, cli, args: tuple[str, ...], message: str) -> None:
    result = cli(*args, cwd=example)
    assert result.code == 2, (result.out, result.err)
    assert message in one_line_error(result.err)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda y: y.replace("engine: duckdb", "engine: duckdb\nenigne: spark"), "lakemend.yaml: enigne: unknown key"),
        (lambda y: y.replace("format: csv", "format: xlsx"), "sources.orders.bronze.orders.format: must be 'jsonl', 'csv' or 'parquet'"),
        (lambda y: y.replace("depends_on: [bronze.orders]", "depends_on: [bronze.ordrs]"), "silver.orders_clean.depends_on: unknown table 'bronze.ordrs'"),
        (lambda y: y.replace("days: upto", "days: sometimes"), "days: must be 'same' or 'upto'"),
        (lambda y: y.replace('path: "orders/{date}/*.csv"', 'path: "../orders/*.csv"'), "path must contain {date}"),
        (lambda y: y.replace("amount: {type: \"decimal(12,2)\", required: true}", "amount: {type: money}"), "unknown column type 'money'"),
        (lambda y: y + "\n  : [", "not valid YAML"),
    ],
)
def test_invalid_project_file_names_file_key_and_rule(example: Path, cli, edit, message: str) -> None:
    path = example / "lakemend.yaml"
    path.write_text(edit(path.read_text()))
    result = cli("run", "--date", str(START), cwd=example)
    assert result.code == 1, result.out
    line = one_line_error(result.err)
    assert message in line, line
    assert str(path) in line


def test_no_project_says_how_to_make_one(tmp_path: Path, cli) -> None:
    result = cli("runs", cwd=tmp_path)
    assert result.code == 1
    assert "no lakemend.yaml" in result.err and "lakemend init" in result.err


def test_undeclared_json_fields_are_kept_in_extra(example: Path) -> None:
    record = contact(1, associations={"companies": ["123"]})
    record["properties"]["hs_score"] = 7
    land_contacts(example, "2025-11-02", [json.dumps(record), json.dumps(contact(2)), "[1, 2]"])
    build(example, dt.date(2025, 11, 2), dt.date(2025, 11, 2))
    rows = sorted(Lake.open(example).table("bronze.hubspot_contacts").scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert json.loads(rows[0]["_extra"]) == {"associations": {"companies": ["123"]}, "properties": {"hs_score": 7}}
    assert rows[1]["_extra"] is None
    assert rows[0]["properties"]["email"] == "c1@example.com" and rows[0]["archived"] is False
    [bad] = quarantine_rows(example, "hubspot_contacts")
    assert bad["line"] == 3 and bad["reason"] == "not a JSON object (got array)"


def test_a_nested_field_that_is_not_an_object_is_quarantined_by_its_type(example: Path) -> None:
    """The type of every object level comes from one parse of the line (a list of JSON paths):
    ``properties`` as text or a list is refused with its type, as null it is an empty object."""
    as_text, as_list, as_null = contact(1), contact(2), contact(3)
    as_text["properties"], as_list["properties"], as_null["properties"] = "a@example.com", [1], None
    land_contacts(example, "2025-11-02", [json.dumps(r) for r in (as_text, as_list, as_null, contact(4))])
    build(example, dt.date(2025, 11, 2), dt.date(2025, 11, 2))
    rows = Lake.open(example).table("bronze.hubspot_contacts").scan().to_arrow().to_pylist()
    assert sorted(r["id"] for r in rows) == [contact(3)["id"], contact(4)["id"]]
    bad = sorted(quarantine_rows(example, "hubspot_contacts"), key=lambda r: r["line"])
    assert [(r["line"], r["reason"]) for r in bad] == [(1, "field properties must be an object, got varchar"),
                                                       (2, "field properties must be an object, got array")]


def test_control_byte_line_is_quarantined_and_numbering_stays_exact(example: Path) -> None:
    """A raw \\x01 byte sends the file down the exact (slower) line splitter; nothing shifts."""
    land_contacts(example, "2025-11-02", [json.dumps(contact(1)), "", '{"id": "2\x01"}', json.dumps(contact(3))])
    build(example, dt.date(2025, 11, 2), dt.date(2025, 11, 2))
    ids = sorted(r["id"] for r in Lake.open(example).table("bronze.hubspot_contacts").scan().to_arrow().to_pylist())
    assert ids == ["1", "3"]
    [bad] = quarantine_rows(example, "hubspot_contacts")
    assert bad["line"] == 3 and bad["reason"].startswith("malformed JSON")
