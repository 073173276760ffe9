"""Issue 11, ingest: landing files that once went silently wrong or failed a whole day.

Each case ends in bronze rows, quarantine rows with a reason, or one clear error naming the
file and the rule -- and every bronze job keeps ``rows_read = rows_written + rows_quarantined``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support import contact

from lakemend.lake import Lake

DAY = dt.date(2025, 11, 2)
ORDERS_HEADER = "order_id,customer_email,amount,currency,status,ordered_at,updated_at\n"


# ----- helpers -------------------------------------------------------------------------------


def build_bronze_day(root: Path, day: dt.date = DAY):  # -> RunReport
    """Run only the bronze tables for one day (the models are not what these tests are about)."""
    from lakemend.ops.runner import execute

    lake = Lake.open(root)
    bronze = [t for t in lake.project.ordered if t.layer == "bronze"]
    report = execute(lake, command="run", days=[day], tables=bronze, reason="test")
    for result in report.results:
        assert result.rows_read == result.rows_written + result.rows_quarantined, result  # the ledger balance
    return report


def result_of(report, table: str):  # RunReport -> JobResult
    return next(r for r in report.results if r.table == table)


def bronze_rows(root: Path, table: str) -> list[dict]:
    return Lake.open(root).table(f"bronze.{table}").scan().to_arrow().to_pylist()


def quarantine_rows(root: Path, table: str) -> list[dict]:
    return Lake.open(root).table(f"quarantine.{table}").scan().to_arrow().to_pylist()


def orders_folder(root: Path) -> Path:
    folder = root / "landing" / "orders" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def contacts_folder(root: Path) -> Path:
    folder = root / "landing" / "hubspot" / "contacts" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def order_line(order_id: str, ordered_at: str = "2025-11-02T01:00:00Z", updated_at: str = "2025-11-02T01:00:00Z") -> str:
    return f"{order_id},{order_id}@example.com,10.00,USD,paid,{ordered_at},{updated_at}\n"




def edit_yaml(root: Path, old: str, new: str) -> None:
    path = root / "lakemend.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ") and "Traceback" not in err
    return lines[0]


# ----- item 2: time zones, epoch formats, out-of-range dates -----------------------------------


def test_timestamp_offsets_are_stored_as_utc_in_csv_and_jsonl(example: Path) -> None:
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER
        + order_line("o-1", ordered_at="2025-11-01T10:00:00+02:00", updated_at="2025-11-01T10:00:00Z")
        + order_line("o-2", ordered_at="2025-11-01T10:00:00-05:30", updated_at="2025-11-01 10:00:00")
    )
    (contacts_folder(example) / "contacts-0001.jsonl").write_text(
        json.dumps(contact(1, createdAt="2025-11-01T10:00:00+02:00", updatedAt="2025-11-01T10:00:00.250+0200")) + "\n"
    )
    report = build_bronze_day(example)
    assert not report.failed, [r.error for r in report.failed]
    orders = {r["order_id"]: r for r in bronze_rows(example, "orders")}
    assert orders["o-1"]["ordered_at"] == dt.datetime(2025, 11, 1, 8, 0)
    assert orders["o-1"]["updated_at"] == dt.datetime(2025, 11, 1, 10, 0)
    assert orders["o-2"]["ordered_at"] == dt.datetime(2025, 11, 1, 15, 30)
    assert orders["o-2"]["updated_at"] == dt.datetime(2025, 11, 1, 10, 0)  # no offset: taken as UTC
    [row] = bronze_rows(example, "hubspot_contacts")
    assert row["createdAt"] == dt.datetime(2025, 11, 1, 8, 0)
    assert row["updatedAt"] == dt.datetime(2025, 11, 1, 8, 0, 0, 250000)


def test_epoch_formats_are_accepted_where_configured_and_quarantined_elsewhere(example: Path) -> None:
    edit_yaml(example, "ordered_at: {type: timestamp, required: true}",
              "ordered_at: {type: timestamp, required: true, format: epoch_s}")
    edit_yaml(example, "updated_at: {type: timestamp, required: true}",
              "updated_at: {type: timestamp, required: true, format: epoch_ms}")
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER
        + order_line("o-1", ordered_at="1762077600", updated_at="1762077600123")
        + order_line("o-2", ordered_at="1762077600.5", updated_at="1762077600000")
        + order_line("o-3", ordered_at="2025-11-02T10:00:00Z", updated_at="1762077600000")  # ISO where epoch_s is declared
        + order_line("o-4", ordered_at="99999999999999", updated_at="1762077600000")  # year > 9999
    )
    (contacts_folder(example) / "contacts-0001.jsonl").write_text(
        json.dumps(contact(1)) + "\n" + json.dumps(contact(2, createdAt=1762077600)) + "\n"  # epoch where iso is the rule
    )
    report = build_bronze_day(example)
    assert not report.failed, [r.error for r in report.failed]
    orders = {r["order_id"]: r for r in bronze_rows(example, "orders")}
    assert set(orders) == {"o-1", "o-2"}
    assert orders["o-1"]["ordered_at"] == dt.datetime(2025, 11, 2, 10, 0)
    assert orders["o-1"]["updated_at"] == dt.datetime(2025, 11, 2, 10, 0, 0, 123000)
    assert orders["o-2"]["ordered_at"] == dt.datetime(2025, 11, 2, 10, 0, 0, 500000)
    quarantined = quarantine_rows(example, "orders")
    assert sorted((r["line"], json.loads(r["raw"])["order_id"]) for r in quarantined) == [(4, "o-3"), (5, "o-4")]
    bad = {json.loads(r["raw"])["order_id"]: r["reason"] for r in quarantined}
    assert "ordered_at" in bad["o-3"] and "epoch_s" in bad["o-3"]
    assert "ordered_at" in bad["o-4"] and "out of range" in bad["o-4"]
    [contact_bad] = quarantine_rows(example, "hubspot_contacts")
    assert contact_bad["line"] == 2 and "createdAt" in contact_bad["reason"] and "format" in contact_bad["reason"]


@pytest.mark.parametrize("value", ["0000-01-01", "10000-01-01", "0001-01-01T00:00:00+02:00"])
def test_out_of_range_timestamps_are_quarantined_not_a_failed_day(example: Path, value: str) -> None:
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER + order_line("o-1") + order_line("o-2", ordered_at=value)
    )
    lines = [json.dumps(contact(1)), json.dumps(contact(2, createdAt=value)),
             json.dumps(contact(3, properties={"createdate": value})), "[1, 2]"]
    (contacts_folder(example) / "contacts-0001.jsonl").write_text("\n".join(lines) + "\n")
    report = build_bronze_day(example)
    assert not report.failed, [r.error for r in report.failed]
    assert [r["order_id"] for r in bronze_rows(example, "orders")] == ["o-1"]
    [bad] = quarantine_rows(example, "orders")
    assert "ordered_at" in bad["reason"] and "out of range" in bad["reason"], bad
    assert bad["line"] == 3  # the CSV line, found for a record quarantined after the reader
    assert [r["id"] for r in bronze_rows(example, "hubspot_contacts")] == ["1"]
    bad_contacts = sorted(quarantine_rows(example, "hubspot_contacts"), key=lambda r: r["line"])
    assert [r["line"] for r in bad_contacts] == [2, 3, 4]
    assert [r["raw"] for r in bad_contacts] == lines[1:]  # each with its line as delivered (a value or a record problem)
    assert "not a JSON object" in bad_contacts[2]["reason"]
    assert "createdAt" in bad_contacts[0]["reason"] and "out of range" in bad_contacts[0]["reason"]
    assert "properties.createdate" in bad_contacts[1]["reason"] and "out of range" in bad_contacts[1]["reason"]


def test_out_of_range_date_column_is_quarantined(example: Path) -> None:
    edit_yaml(example, "currency: string", "currency: string\n          ship_date: date")
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER.replace("\n", ",ship_date\n")
        + order_line("o-1").replace("\n", ",2025-11-03\n") + order_line("o-2").replace("\n", ",10000-01-01\n")
    )
    report = build_bronze_day(example)
    assert not report.failed, [r.error for r in report.failed]
    assert [r["order_id"] for r in bronze_rows(example, "orders")] == ["o-1"]
    [bad] = quarantine_rows(example, "orders")
    assert "ship_date" in bad["reason"] and "out of range" in bad["reason"]


def test_timestamp_format_is_validated_in_the_config() -> None:
    from pydantic import ValidationError

    from lakemend.project.config import ColumnSpec

    assert ColumnSpec.model_validate({"type": "timestamp", "format": "epoch_ms"}).format == "epoch_ms"
    assert ColumnSpec.model_validate("timestamp").format is None
    with pytest.raises(ValidationError, match="format"):
        ColumnSpec.model_validate({"type": "string", "format": "epoch_s"})
    with pytest.raises(ValidationError):
        ColumnSpec.model_validate({"type": "timestamp", "format": "unix"})


# ----- item 4: exact file names, never a glob --------------------------------------------------


@pytest.mark.parametrize("name", ["orders-*.csv", "orders-000[12].csv", "orders-?001.csv"])
def test_landing_file_with_glob_characters_is_read_as_exactly_that_file(example: Path, name: str) -> None:
    folder = orders_folder(example)
    (folder / "orders-0001.csv").write_text(ORDERS_HEADER + order_line("o-plain"))  # what a glob would also match
    (folder / "orders-0002.csv").write_text(ORDERS_HEADER + order_line("o-two"))
    (folder / name).write_text(ORDERS_HEADER + order_line("o-odd"))
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "succeeded", result.error
    rows = bronze_rows(example, "orders")
    assert sorted((r["_source_file"].rsplit("/", 1)[1], r["order_id"]) for r in rows) == sorted(
        [("orders-0001.csv", "o-plain"), ("orders-0002.csv", "o-two"), (name, "o-odd")]
    )
    assert result.rows_read == 3


def test_jsonl_with_glob_characters_in_its_name_and_a_control_byte(example: Path) -> None:
    """The exact (slow) line splitter once read the name through DuckDB's read_text, a glob too."""
    folder = contacts_folder(example)
    (folder / "contacts-0001.jsonl").write_text(json.dumps(contact(1)) + "\n")
    (folder / "contacts-*.jsonl").write_text(json.dumps(contact(2)) + "\n" + '{"id": "3\x01"}\n')
    result = result_of(build_bronze_day(example), "bronze.hubspot_contacts")
    assert result.status == "succeeded", result.error
    assert sorted(r["id"] for r in bronze_rows(example, "hubspot_contacts")) == ["1", "2"]
    [bad] = quarantine_rows(example, "hubspot_contacts")
    assert bad["source_file"].endswith("contacts-*.jsonl") and bad["line"] == 2
    assert result.rows_read == 3


# ----- item 5: over-long lines ---------------------------------------------------------------


def test_over_long_csv_line_is_quarantined_and_counted(example: Path) -> None:
    edit_yaml(example, 'path: "orders/{date}/*.csv"', 'path: "orders/{date}/*.csv"\n        max_line_bytes: 2048')
    long_line = order_line("o-long").replace("paid", "p" * 5000)
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER + order_line("o-1") + long_line + order_line("o-3")
    )
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "succeeded", result.error
    assert sorted(r["order_id"] for r in bronze_rows(example, "orders")) == ["o-1", "o-3"]
    [bad] = quarantine_rows(example, "orders")
    assert bad["line"] == 3 and "line longer than the limit" in bad["reason"] and "2048" in bad["reason"]
    assert bad["raw"].startswith("o-long,") and len(bad["raw"]) < 5000
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (3, 2, 1)


def test_over_long_jsonl_line_is_quarantined_and_counted(example: Path) -> None:
    edit_yaml(example, 'path: "hubspot/contacts/{date}/*.jsonl"',
              'path: "hubspot/contacts/{date}/*.jsonl"\n        max_line_bytes: 2048')
    (contacts_folder(example) / "contacts-0001.jsonl").write_text(
        json.dumps(contact(1)) + "\n" + json.dumps(contact(2, note="x" * 9000)) + "\n" + json.dumps(contact(3)) + "\n"
    )
    result = result_of(build_bronze_day(example), "bronze.hubspot_contacts")
    assert result.status == "succeeded", result.error
    assert sorted(r["id"] for r in bronze_rows(example, "hubspot_contacts")) == ["1", "3"]
    [bad] = quarantine_rows(example, "hubspot_contacts")
    assert bad["line"] == 2 and "line longer than the limit" in bad["reason"]
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (3, 2, 1)


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_long_line_scan_is_exact_across_chunk_boundaries(chunk: int) -> None:
    from lakemend.build.ingest import find_long_lines

    lines = [b"a" * 10, b"b" * 40, b"", b"c" * 41, b"d" * 3, b"e" * 100, b"f" * 40]
    data = b"\n".join(lines)  # no newline at the end: the last line counts too
    found = find_long_lines(io.BytesIO(data), limit=40, chunk_size=chunk)
    assert [(f.line, f.length) for f in found] == [(4, 41), (6, 100)]
    assert found[1].prefix.startswith(b"eee")
    starts = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    assert [f.start for f in found] == [starts[3], starts[5]]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 20])
@pytest.mark.parametrize(("data", "mixed"), [
    (b"h\r\na\r\nb\r\n", False), (b"h\na\nb", False), (b"h\r\na\nb\r\n", True), (b"h\na\r\n", True),
    (b"h\ra\rb", False), (b"", False), (b"h\r\n\r\n\n", True),
])
def test_mixed_line_breaks_are_found_in_the_same_pass_across_chunk_boundaries(chunk: int, data: bytes, mixed: bool) -> None:
    """A CR at the end of one chunk and its LF at the start of the next are one CRLF."""
    from lakemend.build.ingest import scan_lines

    assert scan_lines(io.BytesIO(data), limit=40, chunk_size=chunk).mixed_line_breaks is mixed


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from([b"a", b",", b" ", b"\n", b"\r\n", b"\r", b'"', b"b,c"]), max_size=30),
       chunk=st.sampled_from([1, 2, 3, 5, 1 << 20]), gz=st.booleans())
@example(text=[b"h,h", b"\n", b"a,b", b"\n", b"\n", b"c,d"], chunk=2, gz=False)
def test_records_counted_by_lines_equal_arrows_count(tmp_path_factory: pytest.TempPathFactory, text: list[bytes],
                                                     chunk: int, gz: bool) -> None:
    """Where the line scan answers how many CSV records a file holds (no quote, no bare CR, no
    empty line), it answers what Arrow's parser counts, the check it replaces."""
    from lakemend.build.csv_records import count_records
    from lakemend.build.ingest import scan_lines

    data = b"h,h\n" + b"".join(text)
    counted = scan_lines(io.BytesIO(data), limit=1000, chunk_size=chunk).line_records
    plain = b'"' not in data and b"\n\n" not in data and b"\n\r\n" not in data and \
        data.count(b"\r") == data.count(b"\r\n")
    assert (counted is not None) is plain
    if counted is not None:
        path = tmp_path_factory.mktemp("csv") / "f.csv"
        path.write_bytes(gzip.compress(data) if gz else data)
        assert counted == count_records(path, "gzip" if gz else None, 2, 1000)


# ----- item 9: symlinks in the landing zone ----------------------------------------------------


def test_symlinked_file_in_the_landing_zone_is_refused(example: Path, tmp_path: Path, cli) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text(ORDERS_HEADER + order_line("o-outside"))
    folder = orders_folder(example)
    (folder / "orders-0001.csv").write_text(ORDERS_HEADER + order_line("o-1"))
    (folder / "orders-0002.csv").symlink_to(outside)
    result = cli("run", "--date", DAY.isoformat(), cwd=example)
    assert result.code == 1, result.out
    assert "orders/2025-11-02/orders-0002.csv" in result.err and "symbolic link" in result.err
    assert "rule:" in result.err and "Traceback" not in result.err + result.out
    failed = cli("runs", "--status", "failed", "--output", "json", cwd=example)
    assert [j["table_name"] for j in json.loads(failed.out)] == ["bronze.orders"]
    table = Lake.open(example).table("bronze.orders")
    assert table is None or not any(r["order_id"] == "o-outside" for r in table.scan().to_arrow().to_pylist())


def test_symlinked_folder_in_the_landing_zone_is_refused(example: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "orders-0001.csv").write_text(ORDERS_HEADER + order_line("o-outside"))
    (example / "landing" / "orders").mkdir(exist_ok=True)
    (example / "landing" / "orders" / DAY.isoformat()).symlink_to(outside, target_is_directory=True)
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "failed"
    assert "orders/2025-11-02" in result.error and "symbolic link" in result.error
    assert "\n" not in result.error.strip()


def test_fingerprint_of_a_symlink_does_not_read_its_target(example: Path, tmp_path: Path) -> None:
    from lakemend.project.sources import fingerprint

    outside = tmp_path / "secret.csv"
    outside.write_text("top secret\n")
    link = orders_folder(example) / "orders-0001.csv"
    link.symlink_to(outside)
    project = Lake.open(example).project
    before = fingerprint(project, link)
    outside.write_text("changed, but the link is the same\n")
    assert fingerprint(project, link) == before  # the link text is what is fingerprinted


# ----- item 11: encodings and compressed files -------------------------------------------------


def test_invalid_utf8_early_in_a_csv_quarantines_only_that_record(example: Path) -> None:
    (orders_folder(example) / "orders-0001.csv").write_bytes(
        ORDERS_HEADER.encode() + order_line("o-1").encode()
        + b"o-2,b@example.com,10.00,US\xff\xfeD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n"
        + order_line("o-3").encode()
    )
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "succeeded", result.error
    assert sorted(r["order_id"] for r in bronze_rows(example, "orders")) == ["o-1", "o-3"]
    [bad] = quarantine_rows(example, "orders")
    assert bad["line"] == 3 and bad["reason"].startswith("invalid UTF-8")


def test_invalid_utf8_in_jsonl_quarantines_only_that_record(example: Path) -> None:
    (contacts_folder(example) / "contacts-0001.jsonl").write_bytes(
        json.dumps(contact(1)).encode() + b"\n"
        + json.dumps(contact(2)).encode().replace(b"Acme", b"Ac\xffme") + b"\n"
        + json.dumps(contact(3)).encode() + b"\n"
    )
    result = result_of(build_bronze_day(example), "bronze.hubspot_contacts")
    assert result.status == "succeeded", result.error
    assert sorted(r["id"] for r in bronze_rows(example, "hubspot_contacts")) == ["1", "3"]
    [bad] = quarantine_rows(example, "hubspot_contacts")
    assert bad["line"] == 2 and bad["reason"].startswith("invalid UTF-8")
    assert "Ac" in bad["raw"]


def test_gzip_files_named_csv_or_jsonl_are_read_decompressed(example: Path) -> None:
    (orders_folder(example) / "orders-0001.csv").write_bytes(
        gzip.compress((ORDERS_HEADER + order_line("o-1") + order_line("o-2")).encode())
    )
    (contacts_folder(example) / "contacts-0001.jsonl").write_bytes(
        gzip.compress((json.dumps(contact(1)) + "\nnot json\n").encode())
    )
    report = build_bronze_day(example)
    assert not report.failed, [r.error for r in report.failed]
    assert sorted(r["order_id"] for r in bronze_rows(example, "orders")) == ["o-1", "o-2"]
    assert [r["id"] for r in bronze_rows(example, "hubspot_contacts")] == ["1"]
    [bad] = quarantine_rows(example, "hubspot_contacts")
    assert bad["line"] == 2 and bad["raw"] == "not json"


def test_other_compressed_files_are_refused_naming_the_file(example: Path) -> None:
    (orders_folder(example) / "orders-0001.csv").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 32)  # zstd magic
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "failed"
    assert "orders/2025-11-02/orders-0001.csv" in result.error and "zstd" in result.error


def test_csv_quarantine_lines_are_physical_lines_after_multiline_records(example: Path) -> None:
    """DuckDB counts records, not lines, after a quoted value over several lines; quarantine gives the line."""
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER
        + order_line("o-1").replace(",paid,", ',"paid\nand shipped",')  # lines 2-3
        + "\n"  # line 4: blank
        + order_line("o-5").replace("10.00", "12;50")  # line 5: rejected by the reader (bad decimal)
        + order_line("o-6", ordered_at="yesterday")  # line 6: quarantined after the reader (bad timestamp)
        + order_line("o-7").replace("o-7,o-7@example.com", ",o-7@example.com")  # line 7: required order_id empty
        + order_line("o-8")
    )
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "succeeded", result.error
    assert sorted(r["order_id"] for r in bronze_rows(example, "orders")) == ["o-1", "o-8"]
    lines = sorted((r["line"], r["reason"].split(":")[0]) for r in quarantine_rows(example, "orders"))
    assert lines == [(5, "bad type in column amount"), (6, "bad type in column ordered_at"), (7, "required field order_id is empty")]


def test_over_long_csv_line_after_a_stray_quote_is_still_quarantined_alone(example: Path) -> None:
    """A quote inside an unquoted field opens nothing (RFC 4180): the long line below is a whole record."""
    edit_yaml(example, 'path: "orders/{date}/*.csv"', 'path: "orders/{date}/*.csv"\n        max_line_bytes: 2048')
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER + order_line("o-1").replace("USD", 'U"SD') + order_line("o-2")
        + order_line("o-long").replace("paid", "p" * 5000) + order_line("o-4")
    )
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "succeeded", result.error
    rows = {r["order_id"]: r for r in bronze_rows(example, "orders")}
    assert sorted(rows) == ["o-1", "o-2", "o-4"] and rows["o-1"]["currency"] == 'U"SD'
    [bad] = quarantine_rows(example, "orders")
    assert bad["line"] == 4 and bad["reason"].startswith("line longer than the limit")


def test_over_long_line_inside_a_quoted_value_fails_the_file_naming_the_line(example: Path) -> None:
    edit_yaml(example, 'path: "orders/{date}/*.csv"', 'path: "orders/{date}/*.csv"\n        max_line_bytes: 2048')
    (orders_folder(example) / "orders-0001.csv").write_text(
        ORDERS_HEADER + order_line("o-1") + order_line("o-2").replace(",paid,", ',"paid\n' + "p" * 5000 + '\nok",')
    )
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "failed"
    assert "orders/2025-11-02/orders-0001.csv: line 4 is longer than the limit" in result.error
    assert "max_line_bytes" in result.error


@pytest.mark.parametrize(("header", "message"), [
    (ORDERS_HEADER.replace("\n", ",\n"), "the header has a column without a name (column 8"),
    (ORDERS_HEADER.replace("\n", ",Order_ID\n"), "the header repeats a column name (names ignore case)"),
])
def test_csv_header_without_a_name_or_with_a_case_twin_fails_naming_the_file(example: Path, header: str,
                                                                             message: str) -> None:
    (orders_folder(example) / "orders-0001.csv").write_text(header + order_line("o-1").replace("\n", ",x\n"))
    result = result_of(build_bronze_day(example), "bronze.orders")
    assert result.status == "failed"
    assert result.error.startswith(f"orders/2025-11-02/orders-0001.csv: {message}"), result.error


def test_undeclared_json_keys_of_any_spelling_are_kept_in_extra(example: Path) -> None:
    record = contact(1)
    record.update({"": 1, 'a"b': 2, "c\\d": 3, "e/f~g": {"x": 4}})
    record["properties"]['q"'] = 5
    (contacts_folder(example) / "contacts-0001.jsonl").write_text(
        json.dumps(record) + "\n" + json.dumps(contact(2))[:-1] + ', "k": 1, "k": 2}\n'
    )
    result = result_of(build_bronze_day(example), "bronze.hubspot_contacts")
    assert result.status == "succeeded", result.error
    rows = {r["id"]: r for r in bronze_rows(example, "hubspot_contacts")}
    assert json.loads(rows["1"]["_extra"]) == {"": 1, 'a"b': 2, "c\\d": 3, "e/f~g": {"x": 4}, "properties": {'q"': 5}}
    assert json.loads(rows["2"]["_extra"]) == {"k": 1}  # a key given twice is kept once (its first value)


def test_a_quote_never_closed_quarantines_the_rest_of_the_file_with_its_text(example: Path) -> None:
    """A non-UTF-8 byte before a quote, then a quote opening a value at the start of the next field
    that never closes: by RFC 4180 the record runs to the end of the file. It is quarantined once,
    at its first line, and its raw text holds every line it swallowed — nothing vanishes."""
    folder = orders_folder(example)
    (folder / "orders-0001.csv").write_bytes(
        ORDERS_HEADER.encode() + order_line("o1").encode()
        + b'\xff"o2:,",o2@example.com,10.00,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n'
        + order_line("o3").encode())
    report = build_bronze_day(example)
    assert result_of(report, "bronze.orders").status == "succeeded"
    assert [r["order_id"] for r in bronze_rows(example, "orders")] == ["o1"]
    (bad,) = quarantine_rows(example, "orders")
    assert bad["line"] == 3 and "end of data" in bad["reason"]
    assert "o2@example.com" in bad["raw"] and bad["raw"].endswith(order_line("o3").rstrip("\n"))


def test_a_record_broken_before_a_value_over_two_lines_is_quarantined_once_at_its_first_line(example: Path) -> None:
    """A byte after a closing quote breaks the record (`"10.00"\xff,`); its next field is a quoted
    value over two lines. The record is lines 3–4: it is quarantined once, at line 3, with both
    lines in its raw text; line 4 is no record of its own, and the record after it lands (found by
    the fuzz test: the reader used to resume at line 4 and quarantine it as a second record)."""
    (orders_folder(example) / "orders-0001.csv").write_bytes(
        ORDERS_HEADER.encode() + order_line("o1").encode()
        + b'o2,o2@example.com,"10.00"\xff,"USD\nand more",paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n'
        + order_line("o5").encode())
    report = build_bronze_day(example)
    assert result_of(report, "bronze.orders").status == "succeeded"
    assert sorted(r["order_id"] for r in bronze_rows(example, "orders")) == ["o1", "o5"]
    (bad,) = quarantine_rows(example, "orders")
    assert bad["line"] == 3 and "malformed CSV line" in bad["reason"]
    assert "o2@example.com" in bad["raw"] and "and more" in bad["raw"]
