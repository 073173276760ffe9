"""A second, independent reading of a CSV landing file: the check on DuckDB's CSV reader.

DuckDB's reader is fast but, on a few malformed inputs, silently merges records: a quote after
a blank inside an unquoted value (`` "1000``) opens a quoted value that runs to the end of the
file, and a file mixing CRLF and LF line breaks can be read as one unterminated quote. The
records it swallows reach neither bronze nor quarantine, and they are not counted.

So every CSV file's records are counted a second time with Arrow's CSV parser (C++, streaming,
about as fast as DuckDB's): RFC 4180 records, a quote opens a quoted value only at the start of
a field, either line break ends a record. When the two counts disagree the file is read again
record by record with Python's :mod:`csv` module (the same rules), and that reading is the one
ingested: every record lands in bronze or in quarantine with its first line and a reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

LINE_COLUMN = "_lakemend line"
"""The column of :func:`read_records`' table holding each record's first line."""


@contextmanager
def open_decompressed(path: Path, compression: str | None) -> Iterator[BinaryIO]:
    import gzip

    with path.open("rb") as handle:
        yield gzip.GzipFile(fileobj=handle, mode="rb") if compression == "gzip" else handle  # type: ignore[misc]


def count_records(path: Path, compression: str | None, columns: int, limit: int) -> int | None:
    """Records below the header (blank lines are none), by Arrow's CSV parser; ``None`` if it gives up.

    A record with the wrong number of fields counts too: it is a record, quarantined as malformed.
    """
    import pyarrow.csv as pacsv

    invalid = 0

    def count_invalid(_row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    names = [f"c{i}" for i in range(columns)]  # only the first is converted: rows are counted, not kept
    block = min(max(1 << 20, 2 * (limit + 2)), (1 << 31) - 1)
    try:
        with pa.input_stream(str(path), compression=compression) as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block, use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=count_invalid),
                convert_options=pacsv.ConvertOptions(column_types={names[0]: pa.string()}, include_columns=names[:1]),
            )
            rows = sum(batch.num_rows for batch in reader)
    except (pa.ArrowInvalid, OSError, StopIteration):  # cannot parse here either: let Python's reading decide
        return None
    return rows + invalid


@dataclass(frozen=True)
class Malformed:
    """A record Python's reader could not take as a row: its first line, why, and its text."""

    line: int
    reason: str
    raw: str


def read_records(path: Path, compression: str | None, header: list[str], limit: int) -> tuple[pa.Table, list[Malformed]]:
    """Every record below the header: well-formed ones as a table of text (``''`` is NULL) + the malformed.

    The table has the header's columns (all strings) and :data:`LINE_COLUMN`, in file order.
    """
    csv.field_size_limit(max(csv.field_size_limit(), limit + 2))  # a field may be as long as a line
    values: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    malformed: list[Malformed] = []
    consumed: list[str] = []  # the lines of the record being read: a malformed one's raw text

    def recorded(text: io.TextIOWrapper) -> Iterator[str]:
        for line in text:
            consumed.append(line)
            yield line

    with open_decompressed(path, compression) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(recorded(text), strict=True)
        skipped = 0  # lines the strict reader did not see: the rest of malformed records
        before = 1  # lines read so far: the header
        next(reader, None)
        while True:
            consumed.clear()
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. a quote never closed: the record runs to the end of the file
                rest = _rest_of_record(consumed, text)
                malformed.append(Malformed(before + 1, f"malformed CSV line: {exc}", "".join(consumed + rest).rstrip("\r\n")))
                skipped += len(rest)
                before = reader.line_num + skipped
                continue
            start, before = before + 1, reader.line_num + skipped
            if not record:
                continue  # a blank line
            if len(record) != len(header):
                malformed.append(Malformed(start, f"malformed CSV line: expected {len(header)} fields, found {len(record)}",
                                           ",".join(record)))
                continue
            for column, value in zip(values, record, strict=True):
                column.append(value if value != "" else None)
            lines.append(start)
    table = pa.table({**{h: pa.array(v, pa.string()) for h, v in zip(header, values, strict=True)},
                      LINE_COLUMN: pa.array(lines, pa.int64())})
    return table, malformed


def _rest_of_record(lines: list[str], text: Iterator[str]) -> list[str]:
    """The lines after ``lines`` (a record the strict reader refused at its last line) that still
    belong to it, taken from ``text``: where a lenient reading ends it. A quote that opens a value
    at the start of a field keeps the record going over line breaks even after an earlier field
    broke the rules (``"10.00"x,"two\\nlines"``); resuming after the refused line would make the
    record's second half a record of its own, quarantined under a line that starts none."""
    rest: list[str] = []

    def fed() -> Iterator[str]:
        yield from lines
        for line in text:
            rest.append(line)
            yield line

    next(csv.reader(fed()), None)  # not strict: reads exactly the lines of one record
    return rest
