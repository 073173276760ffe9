"""Bronze ingest: one landing day → typed bronze rows + quarantined records.

Every declared field is kept as delivered (typed), undeclared fields go to ``_extra`` as JSON,
and each record that cannot be read or typed goes to quarantine with its file, line, rule and
raw text. A file that lacks a *required* column fails the job: that is a contract break, not
a bad record.

Each landing file is read as exactly that file (its name is never a glob), without following a
symbolic link; a gzip-compressed file is recognised by its first bytes and read decompressed.
Lines longer than ``max_line_bytes``, lines that are not UTF-8 and values out of range are bad
records like any other: quarantined with a reason and counted in ``records_read``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import errno
import gzip
import io
import json
import os
import re
import shutil
import stat
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from lakemend.build.contracts import bronze_rule_sql
from lakemend.build.csv_records import LINE_COLUMN, count_records, read_records
from lakemend.engines.base import Session as Connection
from lakemend.engines.sql import lit, q
from lakemend.errors import IngestError, SqlError
from lakemend.project.coltypes import arrow_type, duckdb_type
from lakemend.project.config import BronzeTableConfig, ColumnSpec
from lakemend.project.sources import SYMLINK_RULE

META_COLUMNS = ("_extra", "_source_file", "_ingested_at", "_run_id", "_record_hash")

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us")),
        pa.field("day", pa.date32()),
    ]
)


@dataclass
class IngestResult:
    rows: pa.Table
    quarantine: pa.Table
    records_read: int


@dataclass(frozen=True)
class IngestContext:
    run_id: str
    day: dt.date
    ingested_at: dt.datetime


def bronze_schema(cfg: BronzeTableConfig) -> pa.Schema:
    fields = [pa.field(name, arrow_type(col)) for name, col in cfg.columns.items()]
    fields += [
        pa.field("_extra", pa.string()),
        pa.field("_source_file", pa.string()),
        pa.field("_ingested_at", pa.timestamp("us")),
        pa.field("_run_id", pa.string()),
        pa.field("_record_hash", pa.string()),
        pa.field("day", pa.date32()),
    ]
    return pa.schema(fields)


def ingest_day(
    con: Connection,
    cfg: BronzeTableConfig,
    files: list[tuple[Path, str]],
    ctx: IngestContext,
) -> IngestResult:
    """Read the day's files (absolute path, path relative to the landing zone) into bronze rows."""
    readers = {"csv": _read_csv_file, "jsonl": _read_jsonl_file, "parquet": _read_parquet_file}
    parts: list[pa.Table] = []
    bad: list[pa.Table] = []
    read = 0
    for path, relative in files:
        good, quarantined, count = readers[cfg.format](con, cfg, path, relative, ctx)
        parts.append(good)
        bad.append(quarantined)
        read += count
    schema = bronze_schema(cfg)
    rows = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
    quarantine = pa.concat_tables(bad) if bad else QUARANTINE_SCHEMA.empty_table()
    return IngestResult(rows=rows, quarantine=quarantine, records_read=read)


# ----- shared SQL pieces ---------------------------------------------------------------------


def _meta_sql(relative: str, ctx: IngestContext, hashed: list[str]) -> str:
    hash_input = ", ".join(f"{q(c)}" for c in hashed)
    return (
        f"{lit(relative)} AS _source_file, "
        f"TIMESTAMP {lit(ctx.ingested_at.isoformat(sep=' '))} AS _ingested_at, "
        f"{lit(ctx.run_id)} AS _run_id, "
        f"md5(CAST(row({hash_input}) AS VARCHAR)) AS _record_hash, "
        f"DATE {lit(ctx.day.isoformat())} AS day"
    )


_MIN_TS, _MAX_TS = "TIMESTAMPTZ '0001-01-01 00:00:00+00'", "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"
_MIN_DATE, _MAX_DATE = "DATE '0001-01-01'", "DATE '9999-12-31'"
_EPOCH = {"epoch_s": ("seconds", 1_000_000), "epoch_ms": ("milliseconds", 1_000)}
_FIRST_S, _LAST_S = -62_135_596_800, 253_402_300_799  # 0001-01-01 and 9999-12-31T23:59:59 UTC
_RANGE_NOTE = " (allowed: years 0001 to 9999, UTC)"


@dataclass(frozen=True)
class Conversion:
    """SQL turning one text value into its declared type, in two steps: ``parsed`` is computed
    once per row (as the column named by :func:`convert_sql`'s ``parsed``), and ``value`` and
    ``problem`` (the quarantine reason, or NULL) read it."""

    parsed: str
    value: str
    problem: str


def convert_sql(text: str, col: ColumnSpec, label: str, parsed: str) -> Conversion:
    """How the text ``text`` becomes ``col``'s type; ``parsed`` is the column the parse is kept in.

    ``label`` names the value in a problem ("field properties.createdate", "column amount").
    Timestamps: ISO 8601 with an offset or a zone name is converted to UTC, without one it is
    UTC already; ``format: epoch_s | epoch_ms`` reads seconds / milliseconds since 1970. Dates
    and timestamps outside the years 0001-9999 are problems, not values.
    """
    assert col.type is not None
    text_sql = f"CAST({text} AS VARCHAR)"
    cannot = f"{lit(f'bad type in {label}: cannot convert ')} || {text_sql} || {lit(f' to {col.type}')}"
    out_of_range = f"{lit(f'{col.type} out of range in {label}: ')} || {text_sql} || {lit(_RANGE_NOTE)}"
    if col.type == "timestamp" and col.format in _EPOCH:
        unit, micros = _EPOCH[col.format]
        per_s = 1_000_000 // micros
        in_range = f"{parsed} BETWEEN {_FIRST_S * per_s} AND {(_LAST_S + 1) * per_s - 1}.999999"
        hint = lit(f" (format: {col.format} expects {unit} since 1970-01-01 UTC)")
        return Conversion(
            f"TRY_CAST(trim({text_sql}) AS DECIMAL(38,6))",
            f"CASE WHEN {in_range} THEN make_timestamp(CAST({parsed} * {micros} AS BIGINT)) END",
            f"CASE WHEN {text} IS NULL THEN NULL WHEN {parsed} IS NULL THEN {cannot} || {hint} "
            f"WHEN NOT ({in_range}) THEN {out_of_range} END",
        )
    if col.type == "timestamp":
        in_range = f"{parsed} BETWEEN {_MIN_TS} AND {_MAX_TS}"
        hint = (f"CASE WHEN regexp_full_match(trim({text_sql}), '-?[0-9]+([.][0-9]*)?') "
                f"THEN ' (a number of seconds or milliseconds since 1970 needs format: epoch_s or epoch_ms)' ELSE '' END")
        return Conversion(  # the instant, then its UTC wall time (arithmetic, not a time-zone lookup per row)
            f"TRY_CAST({text_sql} AS TIMESTAMPTZ)",
            f"CASE WHEN {in_range} THEN make_timestamp(epoch_us({parsed})) END",
            f"CASE WHEN {text} IS NULL THEN NULL WHEN {parsed} IS NULL THEN {cannot} || {hint} "
            f"WHEN NOT ({in_range}) THEN {out_of_range} END",
        )
    problem = f"CASE WHEN {text} IS NOT NULL AND {parsed} IS NULL THEN {cannot} END"
    if col.type == "date":
        in_range = f"{parsed} BETWEEN {_MIN_DATE} AND {_MAX_DATE}"
        return Conversion(f"TRY_CAST({text} AS DATE)", f"CASE WHEN {in_range} THEN {parsed} END",
                          f"coalesce({problem}, CASE WHEN NOT ({in_range}) THEN {out_of_range} END)")
    return Conversion(f"TRY_CAST({text} AS {duckdb_type(col)})", parsed, problem)


def _quarantine_table(records: list[dict[str, Any]], relative: str, ctx: IngestContext) -> pa.Table:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = {
        "source_file": [relative] * len(records),
        "line": [r["line"] for r in records],
        "reason": [r["reason"] for r in records],
        "raw": [r["raw"] for r in records],
        "run_id": [ctx.run_id] * len(records),
        "quarantined_at": [now] * len(records),
        "day": [ctx.day] * len(records),
    }
    return pa.table(rows, schema=QUARANTINE_SCHEMA)


def _missing_required(cfg: BronzeTableConfig, present: set[str], relative: str) -> None:
    missing = [name for name, col in cfg.columns.items() if col.required and name not in present]
    if missing:
        raise IngestError(
            f"{relative}: required column {', '.join(repr(m) for m in missing)} is missing "
            f"(rule: columns.{missing[0]}.required)",
            "fix the export, or mark the column optional in lakemend.yaml and backfill again",
        )


def _split(con: Connection, staged: str, cfg: BronzeTableConfig, reason_sql: str,
           relative: str, ctx: IngestContext, rows: int | None = None,
           raw_from: str | None = None) -> tuple[pa.Table, pa.Table]:
    """Split the staged rows (``staged``: a relation, or a parenthesised query) into good rows
    and quarantine rows by ``reason_sql``.

    The checked rows are a subquery of each statement, not a view: a view is bound once more when
    it is made (1–2 ms a file on DuckDB, whatever its size), and the raw text of a record is only
    rendered for the few quarantined ones (``_raw``, or with ``raw_from`` the ``raw`` of that
    relation's row of the same ``_line``). ``rows``: how many rows ``staged`` holds, when known;
    if all of them are good, the rules are not evaluated a second time to find none quarantined.
    """
    declared = list(cfg.columns)
    checked = f"(SELECT *, {reason_sql} AS _reason FROM {staged}) AS _checked"
    cols = ", ".join(q(c) for c in declared)
    good = con.arrow(f"SELECT {cols}, _extra, {_meta_sql(relative, ctx, declared + ['_extra'])} FROM {checked} WHERE _reason IS NULL",
    )
    bad_sql = (_with_raw_text(f"SELECT _line, _reason FROM {checked} WHERE _reason IS NOT NULL", raw_from) if raw_from
               else f"SELECT _line, _reason, _raw FROM {checked} WHERE _reason IS NOT NULL ORDER BY _line")
    bad_rows = [] if rows == good.num_rows else con.execute(bad_sql)
    records = [{"line": line, "reason": reason, "raw": raw} for line, reason, raw in bad_rows]
    return good, _quarantine_table(records, relative, ctx)


def _with_raw_text(rows_sql: str, lines: str) -> str:
    """``rows_sql`` (``_line`` and one more column, the few quarantined records) with each one's
    raw text, the ``raw`` of the relation ``lines`` (``_line``, ``raw``) at the same ``_line``, in
    line order."""
    return f"SELECT * FROM ({rows_sql}) JOIN {lines} USING (_line) ORDER BY _line"


# ----- one landing file: exact name, no links, gzip by content, lines set aside ----------------

RAW_KEEP = 1024
"""Bytes of an over-long line kept as its quarantined raw text (the landing file keeps it all)."""

_GZIP_MAGIC = b"\x1f\x8b"
_REFUSED_MAGIC = {"zstd": re.compile(rb"\x28\xb5\x2f\xfd"), "bzip2": re.compile(rb"BZh[1-9]1AY&SY"),
                  "xz": re.compile(rb"\xfd7zXZ\x00"), "zip": re.compile(rb"PK\x03\x04")}


@dataclass(frozen=True)
class LongLine:
    """A line longer than the limit: its number (1-based), byte offset, length and first bytes."""

    line: int
    start: int
    length: int
    prefix: bytes


@dataclass(frozen=True)
class LineScan:
    """What one pass over a landing file found (:func:`scan_lines`)."""

    long_lines: list[LongLine]
    utf8: bool
    """Whether the whole file is UTF-8 (``True`` when not checked)."""
    mixed_line_breaks: bool
    """Whether some lines end with CRLF and others with a bare LF: DuckDB's CSV reader takes one
    style per file and can merge or split records of such a file while its counts still add up,
    so it is always read record by record (``csv_records.read_records``)."""
    line_records: int | None = None
    """The lines after the first, when each line is one CSV record: no quote anywhere (a quoted
    value may hold a line break), no bare CR (a line break to RFC 4180) and no empty line (none
    to RFC 4180). Then it is the count ``csv_records.count_records`` gives, without a second parse."""


_EMPTY_LINE = re.compile(rb"\n\r?\n")
"""An empty line, after LF or CRLF. A regex search is 2-3x faster here than ``bytes.__contains__``
with a two- or three-byte needle, which checks candidates at every line break."""


def scan_lines(stream: BinaryIO, limit: int, chunk_size: int = 1 << 20, check_utf8: bool = False) -> LineScan:
    """Every line of ``stream`` longer than ``limit`` bytes (the line break not counted), in
    order, whether the whole stream is UTF-8, whether its line breaks are mixed and, when each
    line is one CSV record, how many follow the first (:attr:`LineScan.line_records`).

    One pass in chunks, at memchr speed: a line within one chunk is only inspected when the
    chunk holds more than ``limit`` bytes between its first and last line break, and only a
    chunk that is not plain ASCII is decoded.
    """
    found: list[LongLine] = []
    offset = 0  # of the chunk in the stream
    line_no, line_start, prefix = 1, 0, b""  # the line still open at the end of the last chunk
    pattern: re.Pattern[bytes] | None = None
    utf8 = True
    decoder = codecs.getincrementaldecoder("utf-8")() if check_utf8 else None
    crlf = cr = 0
    carry = False  # the previous chunk ended in CR
    one_per_line = True  # no quote, no empty line so far (bare CRs: cr > crlf at the end)
    tail = b"\n"  # the last two bytes before the chunk: the file starts as if after a line break
    while chunk := stream.read(chunk_size):
        if b"\r" in chunk:  # a memchr; counting CRLF pairs is a slower search, needless in a LF-only chunk
            crlf += chunk.count(b"\r\n")
            cr += chunk.count(b"\r")
        crlf += 1 if carry and chunk[:1] == b"\n" else 0
        carry = chunk[-1:] == b"\r"
        if one_per_line:  # a memchr for the quote; one regex search finds both kinds of empty line
            edge = tail + chunk[:2]
            one_per_line = not (b'"' in chunk or _EMPTY_LINE.search(chunk) or _EMPTY_LINE.search(edge))
            tail = (tail + chunk[-2:])[-2:]
        if decoder is not None and not (chunk.isascii() and not decoder.getstate()[0]):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                decoder, utf8 = None, False  # known now; which lines is for a second pass
        first = chunk.find(b"\n")
        if first < 0:
            prefix += chunk[: RAW_KEEP - len(prefix)]
            offset += len(chunk)
            continue
        prefix += chunk[: max(0, min(first, RAW_KEEP - len(prefix)))]
        if offset + first - line_start > limit:
            found.append(LongLine(line_no, line_start, offset + first - line_start, prefix))
        last = chunk.rfind(b"\n")
        if last - first - 1 > limit:
            pattern = pattern or re.compile(rb"[^\n]{%d,}" % (limit + 1))
            for match in pattern.finditer(chunk, first + 1, last):
                number = line_no + 1 + chunk.count(b"\n", first + 1, match.start())
                found.append(LongLine(number, offset + match.start(), match.end() - match.start(),
                                      chunk[match.start(): match.start() + RAW_KEEP]))
        line_no += chunk.count(b"\n")
        line_start, prefix = offset + last + 1, chunk[last + 1: last + 1 + RAW_KEEP]
        offset += len(chunk)
    if offset - line_start > limit:
        found.append(LongLine(line_no, line_start, offset - line_start, prefix))
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    lines = line_no - (1 if offset == line_start else 0)  # a last line without its LF counts
    line_records = max(lines - 1, 0) if one_per_line and cr == crlf else None
    return LineScan(found, utf8, 0 < crlf < line_no - 1, line_records)  # line_no - 1: the LFs counted


def find_long_lines(stream: BinaryIO, limit: int, chunk_size: int = 1 << 20) -> list[LongLine]:
    """Every line of ``stream`` longer than ``limit`` bytes, in order (see :func:`scan_lines`)."""
    return scan_lines(stream, limit, chunk_size).long_lines


def invalid_utf8(raw: bytes) -> str | None:
    """Why a line is not UTF-8 (the quarantine reason), or None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"
    return None


@dataclass(frozen=True)
class _SetAside:
    """A line kept out of the reader (over-long, or not UTF-8), quarantined by the caller."""

    line: int
    start: int
    length: int
    reason: str
    raw: str


def _long_set_aside(long: LongLine, limit: int) -> _SetAside:
    cut = f"; raw text cut to its first {RAW_KEEP} bytes" if long.length > RAW_KEEP else ""
    return _SetAside(long.line, long.start, long.length,
                     f"line longer than the limit ({long.length} bytes > max_line_bytes {limit}){cut}",
                     long.prefix.decode("utf-8", "replace"))


def _invalid_lines(stream: BinaryIO, skip: set[int]) -> list[_SetAside]:
    """The lines that are not UTF-8 (the slow pass, for a file known to have some)."""
    stream.seek(0)
    found, offset = [], 0
    for number, raw in enumerate(stream, start=1):
        if number not in skip and (reason := invalid_utf8(raw)) is not None:
            text = raw.rstrip(b"\r\n")
            found.append(_SetAside(number, offset, len(raw.rstrip(b"\n")), reason,
                                   text[:RAW_KEEP].decode("utf-8", "backslashreplace")))
        offset += len(raw)
    return found


def _whole_records(stream: BinaryIO, lines: list[_SetAside], relative: str) -> list[_SetAside]:
    """CSV: the lines that are whole records, safe to set aside alone.

    A line inside a quoted value over several lines cannot be taken out alone (that would
    silently shorten the record around it): when it is not UTF-8, DuckDB's reader quarantines
    the record; when it is over-long, the file fails, naming the line. Python's csv module
    finds the records (only for a file with lines to set aside): a quote opens a quoted value at
    the start of a field only, as in RFC 4180.
    """
    wanted = {item.line for item in lines}
    single: set[int] = set()
    csv.field_size_limit(max(csv.field_size_limit(), *(item.length + 2 for item in lines)))
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")  # type: ignore[arg-type]
    try:
        reader, before = csv.reader(text), 0
        while True:
            try:
                next(reader)
            except StopIteration:
                break
            except csv.Error:
                pass
            if reader.line_num == before + 1 and reader.line_num in wanted:
                single.add(reader.line_num)
            before = reader.line_num
    finally:
        text.detach()  # the stream stays open for the caller
    for item in lines:
        if item.line not in single and item.reason.startswith("line longer"):
            raise IngestError(
                f"{relative}: line {item.line} is longer than the limit ({item.length} bytes) inside a quoted "
                f"value that spans several lines, so it cannot be quarantined alone (rule: max_line_bytes)",
                "fix the export (or raise max_line_bytes in lakemend.yaml) and run again",
            )
    return [item for item in lines if item.line in single]


@dataclass(frozen=True)
class LandingSource:
    """What to read for one landing file (the file, or a cleaned copy) and what was set aside."""

    path: Path
    """The file to read: the landing file itself, or a temporary copy without the lines set aside."""
    compression: str | None
    """``gzip`` when ``path`` is gzip-compressed (recognised by content, whatever the name)."""
    set_aside: list[_SetAside]
    """Lines left out of ``path`` (each an empty line there): longer than the limit, or not UTF-8."""
    first_line: bytes
    """The first line (a CSV header), decompressed, without its line break."""
    mixed_line_breaks: bool = False
    """Whether the file mixes CRLF and bare LF line breaks (see :class:`LineScan`)."""
    line_records: int | None = None
    """The CSV records below the header when each line is one (see :class:`LineScan`); None
    when they must be counted by parsing (or lines were set aside)."""

    def quarantine_records(self) -> list[dict[str, Any]]:
        return [{"line": s.line, "reason": s.reason, "raw": s.raw} for s in self.set_aside]


def _open_landing(path: Path, relative: str) -> BinaryIO:
    """Open a landing file for reading without following a symbolic link; regular files only."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IngestError(f"{relative}: is a symbolic link (rule: {SYMLINK_RULE})",
                              "put the file itself into the landing zone and run again") from None
        raise IngestError(f"{relative}: cannot open the file ({exc.strerror})", "check the delivery") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IngestError(f"{relative}: not a regular file (rule: {SYMLINK_RULE})", "deliver a plain file")
    return os.fdopen(fd, "rb")


def _compression(handle: BinaryIO, relative: str) -> str | None:
    magic = handle.read(10)
    handle.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    for name, pattern in _REFUSED_MAGIC.items():
        if pattern.match(magic):
            raise IngestError(f"{relative}: is a {name}-compressed file (rule: landing files are plain text or gzip)",
                              "re-deliver it uncompressed or gzip-compressed")
    return None


@contextmanager
def landing_source(path: Path, relative: str, max_line_bytes: int, csv_file: bool = False) -> Iterator[LandingSource]:
    """The landing file checked and ready to read: see :class:`LandingSource`.

    Lines longer than ``max_line_bytes`` (and for CSV, lines that are not UTF-8) are found in
    one streaming pass; when there are any, the file is read from a temporary copy in which
    each of them is an empty line (line numbers stay those of the file), and the caller
    quarantines them. A JSON line is a record; a CSV line set aside must be one.
    """
    with _open_landing(path, relative) as handle:
        compression = _compression(handle, relative)
        stream: BinaryIO = gzip.GzipFile(fileobj=handle, mode="rb") if compression else handle  # type: ignore[assignment]
        try:
            scan = scan_lines(stream, max_line_bytes, check_utf8=csv_file)
            aside = [_long_set_aside(long, max_line_bytes) for long in scan.long_lines]
            if not scan.utf8:
                aside = sorted(aside + _invalid_lines(stream, {s.line for s in aside}), key=lambda s: s.line)
            if csv_file and aside:
                aside = _whole_records(stream, aside, relative)
            stream.seek(0)
            first_line = stream.readline(max_line_bytes + 2).rstrip(b"\r\n")
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise IngestError(f"{relative}: is gzip-compressed but cannot be decompressed ({exc})",
                              "re-deliver the file") from None
        if not aside:
            yield LandingSource(path, compression, [], first_line, scan.mixed_line_breaks, scan.line_records)
            return
        with tempfile.TemporaryDirectory(prefix="lakemend-ingest-") as folder:
            copy = Path(folder) / "landing"
            with copy.open("wb") as out:
                stream.seek(0)
                position = 0
                for item in aside:
                    _copy_bytes(stream, out, item.start - position)
                    if _skip_bytes(stream, item.length) == b"\r":
                        out.write(b"\r")  # keep a CRLF file's line breaks as they are
                    position = item.start + item.length
                shutil.copyfileobj(stream, out, 1 << 20)
            yield LandingSource(copy, None, aside, first_line, scan.mixed_line_breaks)  # the copy keeps every line break


def _copy_bytes(stream: BinaryIO, out: BinaryIO, count: int) -> None:
    while count > 0:
        block = stream.read(min(count, 1 << 20))
        if not block:
            return
        out.write(block)
        count -= len(block)


def _skip_bytes(stream: BinaryIO, count: int) -> bytes:
    """Read past ``count`` bytes; the last of them."""
    last = b""
    while count > 0:
        block = stream.read(min(count, 1 << 20))
        if not block:
            break
        last, count = block[-1:], count - len(block)
    return last


def duckdb_path(path: Path) -> str:
    """``path`` for a DuckDB reader that globs its argument: every glob character matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", str(path))


# ----- CSV -------------------------------------------------------------------------------------


def _csv_header(first_line: bytes, relative: str) -> list[str]:
    """The header's column names; only the first line is decoded (a bad byte below it is a bad record)."""
    try:
        first = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{relative}: the header line is not valid UTF-8 (byte {exc.start + 1})",
                          "re-deliver the file as UTF-8") from None
    if not first.strip():
        return []
    return next(csv.reader([first]))


def _csv_read_type(col: ColumnSpec) -> str:
    """The type DuckDB's CSV reader parses a column as: timestamps as text (offsets, epochs: ``convert_sql``)."""
    return "VARCHAR" if col.type == "timestamp" else duckdb_type(col)


def _read_csv_file(con: Connection, cfg: BronzeTableConfig, path: Path, relative: str,
                   ctx: IngestContext) -> tuple[pa.Table, pa.Table, int]:
    for name, col in cfg.columns.items():
        if col.fields is not None:
            raise IngestError(f"column {name!r} has nested fields, which CSV cannot carry", "declare it as a scalar type")
    with landing_source(path, relative, cfg.max_line_bytes, csv_file=True) as source:
        if source.set_aside and source.set_aside[0].line == 1:
            raise IngestError(f"{relative}: the header line cannot be read: {source.set_aside[0].reason}",
                              "fix the export (or raise max_line_bytes in lakemend.yaml) and run again")
        header = [h.strip() for h in _csv_header(source.first_line, relative)]
        if not header:
            return bronze_schema(cfg).empty_table(), QUARANTINE_SCHEMA.empty_table(), 0
        if "" in header:
            raise IngestError(f"{relative}: the header has a column without a name (column {header.index('') + 1}; "
                              f"a trailing comma?): {header}", "fix the export: name every column")
        if len({h.lower() for h in header}) != len(header):  # SQL names ignore case: Order_ID is order_id
            raise IngestError(f"{relative}: the header repeats a column name (names ignore case): {header}",
                              "fix the export")
        _missing_required(cfg, set(header), relative)
        types = {h: _csv_read_type(cfg.columns[h]) if h in cfg.columns else "VARCHAR" for h in header}
        columns_arg = "{" + ", ".join(f"{lit(h)}: {lit(t)}" for h, t in types.items()) + "}"
        try:
            [(read,)] = con.execute(  # a CREATE … AS answers the rows it holds
                f"""CREATE OR REPLACE TEMP TABLE _file AS
                SELECT * FROM read_csv({lit(duckdb_path(source.path))}, header = true, columns = {columns_arg},
                                       auto_detect = false, delim = ',', quote = '"', escape = '"',
                                       compression = {lit(source.compression or "none")},
                                       max_line_size = {cfg.max_line_bytes + 2}, store_rejects = true,
                                       rejects_table = '_rejects', rejects_scan = '_rejects_scan')"""
            )
        except SqlError as exc:  # the reader gave up on the whole file (its records are quarantined otherwise)
            raise IngestError(f"{relative}: not a readable CSV file ({str(exc).strip().splitlines()[0]})",
                              "fix the export (one delimiter, quote and line break style throughout)") from None
        return _csv_rows(con, cfg, source, header, types, relative, ctx, read)


_ROW = q("_lakemend row")


def _csv_rows(con: Connection, cfg: BronzeTableConfig, source: LandingSource, header: list[str],
              types: dict[str, str], relative: str, ctx: IngestContext, read: int) -> tuple[pa.Table, pa.Table, int]:
    """``_file`` (as read, ``read`` rows) → typed rows + quarantine, every quarantined record with its first line."""
    extras = [h for h in header if h not in cfg.columns]
    selects, problems, parsed = [], [], []
    for name, col in cfg.columns.items():
        if name not in types:
            selects.append(f"CAST(NULL AS {duckdb_type(col)}) AS {q(name)}")
        elif col.type in ("timestamp", "date"):
            conversion = convert_sql(q(name), col, f"column {name}", q(f"_lakemend parsed {len(parsed)}"))
            parsed.append(f"{conversion.parsed} AS {q(f'_lakemend parsed {len(parsed)}')}")
            selects.append(f"{conversion.value} AS {q(name)}")
            problems.append(conversion.problem)
        else:
            selects.append(q(name))
    extra_sql = (
        "to_json(struct_pack(" + ", ".join(f"{q(e)} := {q(e)}" for e in extras) + "))::VARCHAR"
        if extras
        else "CAST(NULL AS VARCHAR)"
    )
    raw_sql = "to_json(struct_pack(" + ", ".join(f"{q(h)} := {q(h)}" for h in header) + "))::VARCHAR"
    first_error, quote_lost = _duckdb_rejects(con)
    starts: list[int] | None = None
    if source.mixed_line_breaks or quote_lost or _records(source, header, cfg) != read + len(first_error):
        starts, first_error = _reread_csv(con, source, header, types, cfg.max_line_bytes)  # DuckDB lost records
        read = len(starts)
        problems.append(q(_CAST_PROBLEM))
    problem_sql = f"coalesce({', '.join(problems)})" if problems else "CAST(NULL AS VARCHAR)"
    # _line holds the row's index in the file until the quarantined few are given their lines
    staged = (f"(SELECT {', '.join(selects)}, {extra_sql} AS _extra, "
              f"CAST({_ROW} AS BIGINT) AS _line, {raw_sql} AS _raw, {problem_sql} AS _type_problem "
              f"FROM (SELECT {', '.join([f'rowid AS {_ROW}', '*', *parsed])} FROM _file))")
    good, bad = _split(con, staged, cfg, f"coalesce(_type_problem, {bronze_rule_sql(cfg)})", relative, ctx, rows=read)
    con.execute("DROP TABLE _file")  # the file's rows: not held while the next file or day is read
    lines = _reject_lines(source, first_error)
    rejected = [{"line": lines[key], "raw": raw.lstrip("\r\n") if raw else raw, "reason": reason}
                for key, (_, reason, raw) in first_error.items()]
    if bad.num_rows:
        if starts is None:
            starts = _record_lines(source, {r["line"] for r in rejected}, read, cfg.max_line_bytes)
        rows = bad.column("line").to_pylist()
        bad = bad.set_column(bad.schema.get_field_index("line"), "line",
                             pa.array([starts[i] if starts else None for i in rows], pa.int64()))
    records = sorted([*rejected, *source.quarantine_records()], key=lambda r: r["line"] or 0)
    quarantine = pa.concat_tables([bad, _quarantine_table(records, relative, ctx)])
    return good, quarantine, good.num_rows + quarantine.num_rows


def _records(source: LandingSource, header: list[str], cfg: BronzeTableConfig) -> int | None:
    """The file's records below the header by RFC 4180: its lines when each is one record, else
    by Arrow's parser (``csv_records.count_records``: 13 ms a 25,000-row file, a second parse)."""
    if source.line_records is not None:
        return source.line_records
    return count_records(source.path, source.compression, len(header), cfg.max_line_bytes)


def _duckdb_rejects(con: Connection) -> tuple[dict[int, tuple[int, str, str | None]], bool]:
    """The records DuckDB's reader rejected, by byte position: (line, reason, raw text); its tables
    dropped when they hold any. And whether it lost track of a quote (an unterminated or misplaced one): its records'
    bounds may then differ from RFC 4180's although the counts agree (a quote after a blank opened
    a value that ran into the next record, and what was left of that record was rejected on its own).

    DuckDB may report several errors for one record: it is quarantined once, with its first error.
    """
    rejects = con.execute(
        "SELECT line_byte_position, line, error_type, column_name, error_message, csv_line FROM _rejects "
        "ORDER BY line_byte_position, column_idx"
    )
    if rejects:  # the next read_csv adds its rejects to these tables: they must go (empty, they may stay)
        con.execute("DROP TABLE IF EXISTS _rejects")
        con.execute("DROP TABLE IF EXISTS _rejects_scan")
    first_error: dict[int, tuple[int, str, str | None]] = {}
    for position, line, kind, column, message, raw in rejects:
        first_error.setdefault(position if position is not None else -line, (line, _reject_reason(kind, column, message), raw))
    return first_error, any(kind == "UNQUOTED VALUE" for _, _, kind, _, _, _ in rejects)


_CAST_PROBLEM = "_lakemend cast problem"


def _reread_csv(con: Connection, source: LandingSource, header: list[str], types: dict[str, str],
                limit: int) -> tuple[list[int], dict[int, tuple[int, str, str | None]]]:
    """Replace ``_file`` by Python's reading of the file (see :mod:`lakemend.build.csv_records`).

    Values are cast as DuckDB's reader would have cast them; a value that does not cast is NULL
    in its column and its record carries the reason in ``_CAST_PROBLEM``. Returns each row's
    first line and the malformed records (keyed like :func:`_duckdb_rejects`' by ``-line``).
    """
    text, malformed = read_records(source.path, source.compression, header, limit)
    con.register("_csv_text", text)
    casts, checks = [], []
    for name, kind in types.items():
        if kind == "VARCHAR":
            casts.append(q(name))
            continue
        casts.append(f"TRY_CAST({q(name)} AS {kind}) AS {q(name)}")
        checks.append(f"CASE WHEN {q(name)} IS NOT NULL AND TRY_CAST({q(name)} AS {kind}) IS NULL THEN "
                      f"{lit(f'bad type in column {name}: could not convert ')} || {q(name)} || {lit(f' to {kind}')} END")
    check_sql = f"coalesce({', '.join(checks)})" if checks else "CAST(NULL AS VARCHAR)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _file AS SELECT {', '.join(casts)}, {check_sql} AS {q(_CAST_PROBLEM)} "
                f"FROM _csv_text ORDER BY {q(LINE_COLUMN)}")
    con.unregister("_csv_text")
    return text.column(LINE_COLUMN).to_pylist(), {-m.line: (m.line, m.reason, m.raw) for m in malformed}


def _reject_lines(source: LandingSource, errors: dict[int, tuple[int, str, str | None]]) -> dict[int, int]:
    """The physical line each rejected record starts on, from DuckDB's byte positions.

    DuckDB's own line number counts records, not lines, after a quoted value over several
    lines; its ``line_byte_position`` (1-based) is exact: the start of the record's text, which
    holds the blank lines before it.
    """
    positions = sorted(key - 1 for key in errors if key > 0)
    with _open_read(source) as stream:
        breaks = _count_before(stream, positions, b"\n")
    lines = {}
    for key, (line, _, raw) in errors.items():
        if key <= 0:
            lines[key] = line  # no byte position: DuckDB's line
            continue
        leading = len(raw) - len(raw.lstrip("\r\n")) if raw else 0
        lines[key] = breaks[key - 1] + 1 + (raw or "")[:leading].count("\n")
    return lines


def _record_lines(source: LandingSource, rejected: set[int], rows: int, limit: int) -> list[int] | None:
    """The first line of each row DuckDB read (by the row's index), or None if they cannot be matched.

    Only for a file with quarantined rows: Python's csv module splits the records again (the
    same RFC 4180 rules); the blank lines, the header and the records DuckDB rejected are not rows.
    """
    starts: list[int] = []
    csv.field_size_limit(max(csv.field_size_limit(), limit + 2))  # a field may be as long as a line
    with _open_read(source) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text)
        before = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error:
                before = reader.line_num
                continue
            if record and before > 0 and before + 1 not in rejected:
                starts.append(before + 1)
            before = reader.line_num
    return starts if len(starts) == rows else None


@contextmanager
def _open_read(source: LandingSource) -> Iterator[BinaryIO]:
    with source.path.open("rb") as handle:
        yield gzip.GzipFile(fileobj=handle, mode="rb") if source.compression == "gzip" else handle  # type: ignore[misc]


def _count_before(stream: BinaryIO, positions: list[int], byte: bytes) -> dict[int, int]:
    """How many ``byte`` the stream holds before each of the (sorted) positions."""
    counts: dict[int, int] = {}
    total, offset, index = 0, 0, 0
    while index < len(positions) and (chunk := stream.read(1 << 20)):
        while index < len(positions) and positions[index] <= offset + len(chunk):
            counts[positions[index]] = total + chunk.count(byte, 0, positions[index] - offset)
            index += 1
        total += chunk.count(byte)
        offset += len(chunk)
    for position in positions[index:]:
        counts[position] = total
    return counts


def _reject_reason(kind: str, column: str | None, message: str) -> str:
    if kind == "INVALID ENCODING":
        return f"invalid UTF-8 in column {column}" if column else "invalid UTF-8"
    if kind == "CAST":
        return f"bad type in column {column}: {message.split('. ', 1)[-1]}"
    return f"malformed CSV line ({kind.lower()}): {message}"


# ----- JSON lines ------------------------------------------------------------------------------


def _leaf_paths(columns: dict[str, ColumnSpec], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], ColumnSpec]]:
    out: list[tuple[tuple[str, ...], ColumnSpec]] = []
    for name, col in columns.items():
        if col.fields is not None:
            out += _leaf_paths(col.fields, prefix + (name,))
        else:
            out.append((prefix + (name,), col))
    return out


def _json_path(path: tuple[str, ...]) -> str:
    return "$" + "".join(f'."{key}"' for key in path)


def _transform_shape(columns: dict[str, ColumnSpec]) -> dict[str, Any]:
    """The json_transform structure: every declared leaf as text (typed later, with TRY_CAST)."""
    return {name: _transform_shape(col.fields) if col.fields is not None else "VARCHAR" for name, col in columns.items()}


def _object_paths(columns: dict[str, ColumnSpec], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], list[str]]]:
    """Every object level of the declared shape with the names declared there (root first)."""
    levels = [(prefix, list(columns))]
    for name, col in columns.items():
        if col.fields is not None:
            levels += _object_paths(col.fields, prefix + (name,))
    return levels


def _extra_sql(levels: list[tuple[tuple[str, ...], list[str]]]) -> str:
    """``_extra``: the undeclared fields as one JSON object, NULL when there are none.

    The key lists (``_x0``, ``_x1``, ...) are computed once per record; the JSON object is only
    assembled for the rare records that have undeclared fields.
    """
    def entries(level: int) -> str:
        path, _ = levels[level]
        # a JSON pointer, not a JSONPath: any key ('', '"', '\\', '/', '~') addresses itself
        here = lit("".join("/" + key.replace("~", "~0").replace("/", "~1") for key in path))
        keys = f"list_filter(coalesce(_x{level}, []), lambda k, n: list_position(_x{level}, k) = n)"  # a key twice: once
        own = (f"list_transform({keys}, lambda k: struct_pack(k := k, "
               f"v := json_extract(raw, {here} || '/' || replace(replace(k, '~', '~0'), '/', '~1'))))")
        for child, (child_path, _) in enumerate(levels):
            if child_path[:-1] == path and len(child_path) == len(path) + 1:
                nested = entries(child)
                own = (f"list_concat({own}, CASE WHEN len({nested}) > 0 THEN "
                       f"[struct_pack(k := {lit(child_path[-1])}, v := to_json(map_from_entries({nested})))] ELSE [] END)")
        return own

    any_extra = " OR ".join(f"len(coalesce(_x{i}, [])) > 0" for i in range(len(levels)))
    return f"CASE WHEN {any_extra} THEN to_json(map_from_entries({entries(0)}))::VARCHAR END"


_MALFORMED = "malformed JSON"
"""The problem of a line that is not JSON: named precisely by :func:`_json_error` when quarantined."""


def _record_problem_sql(cfg: BronzeTableConfig, levels: list[tuple[tuple[str, ...], list[str]]]) -> str:
    """Why a line is not a usable record (not JSON, not an object, required field, nested type);
    ``_t``: the JSON types at the object ``levels`` (:func:`_object_paths`), in their order."""
    position = {path: index + 1 for index, (path, _) in enumerate(levels)}
    cases = [f"WHEN _t IS NULL THEN {lit(_MALFORMED)}",
             "WHEN _kind <> 'OBJECT' THEN 'not a JSON object (got ' || lower(_kind) || ')'"]
    for name, col in cfg.columns.items():
        if col.required:
            cases.append(f"WHEN coalesce(CAST(_v.{q(name)} AS VARCHAR), '') = '' THEN 'required field {name} is missing or empty'")
        if col.fields is not None:
            kind = f"_t[{position[(name,)]}]"
            cases.append(f"WHEN {kind} NOT IN ('OBJECT', 'NULL') THEN 'field {name} must be an object, got ' || lower({kind})")
    return f"CASE {' '.join(cases)} END"


def _read_jsonl_file(con: Connection, cfg: BronzeTableConfig, path: Path, relative: str,
                     ctx: IngestContext) -> tuple[pa.Table, pa.Table, int]:
    """JSON lines, in DuckDB: numbered lines (the file's text, held once, as Arrow) → valid JSON →
    records (text leaves, undeclared fields, problem) → typed rows."""
    with landing_source(path, relative, cfg.max_line_bytes) as source:
        rejected = _load_numbered_lines(con, source, cfg.max_line_bytes)
    rejected += source.quarantine_records()
    levels = _object_paths(cfg.columns)
    # the type and the keys of every object level, each in one parse of the line (a list of paths)
    paths = "[" + ", ".join(lit(_json_path(path)) for path, _ in levels) + "]"
    keys = ", ".join(
        f"CASE WHEN _t[{i + 1}] = 'OBJECT' THEN list_filter(_k[{i + 1}], "
        f"lambda k: k NOT IN ({', '.join(lit(n) for n in names)})) END AS _x{i}"
        for i, (_, names) in enumerate(levels)
    )
    shape = lit(json.dumps(_transform_shape(cfg.columns)))
    leaves = _leaf_paths(cfg.columns)
    leaf_names = ["__".join(p) for p, _ in leaves]
    texts = ", ".join(f"_v.{'.'.join(q(k) for k in p)} AS {q(n)}" for (p, _), n in zip(leaves, leaf_names, strict=True))
    # Each line parsed into its text leaves, undeclared fields and problem. The types' parse is
    # also the validity check (``try``: NULL for a line that is not JSON; the other parses skip
    # it). The line itself is not copied: the file's text stays the registered Arrow lines, read
    # again for the quarantined few.
    [(records,)] = con.execute(  # a CREATE … AS answers the rows it holds
        f"CREATE OR REPLACE TEMP TABLE _records AS SELECT _line, {texts}, {_extra_sql(levels)} AS _extra, "
        f"{_record_problem_sql(cfg, levels)} AS _problem "
        f"FROM (SELECT _line, raw, _t[1] AS _kind, _t, "
        f"CASE WHEN _t IS NOT NULL THEN json_transform(raw, {shape}) END AS _v, {keys} "
        f"FROM (SELECT _line, raw, _t, CASE WHEN _t IS NOT NULL THEN json_keys(raw, {paths}) END AS _k "
        f"FROM (SELECT _line, raw, try(json_type(raw, {paths})) AS _t FROM {_NON_BLANK_LINES})))"
    )
    problems = con.execute(_with_raw_text("SELECT _line, _problem FROM _records WHERE _problem IS NOT NULL", "_raw_lines"))
    rejected += [{"line": line, "raw": raw, "reason": _json_error(raw) if problem == _MALFORMED else problem}
                 for line, problem, raw in problems]
    rows = records - len(problems)
    text = "(SELECT * EXCLUDE (_problem) FROM _records WHERE _problem IS NULL)"
    good, bad = _typed_split(con, cfg, text, leaves, leaf_names, relative, ctx, rows, raw_from="_raw_lines")
    con.execute("DROP TABLE _records")
    # the lines, the largest thing held: registered, they would stay in memory until the batch's
    # session closes
    con.unregister("_raw_lines")
    quarantine = pa.concat_tables([bad, _quarantine_table(sorted(rejected, key=lambda r: r["line"]), relative, ctx)])
    return good, quarantine, good.num_rows + quarantine.num_rows


_NON_BLANK_LINES = "(SELECT _line, raw FROM _raw_lines WHERE raw <> '' AND trim(raw) <> '')"
"""The lines :func:`_load_numbered_lines` registered that hold more than blanks."""


def _load_numbered_lines(con: Connection, source: LandingSource, limit: int) -> list[dict[str, Any]]:
    """``_raw_lines(raw, _line)``: the UTF-8 lines, numbered as in the file, registered as Arrow
    (the non-blank ones: :data:`_NON_BLANK_LINES`); returned: the lines that are not UTF-8, as
    quarantine records.

    pyarrow's multithreaded reader splits lines several times faster than a string split in
    SQL; a file it cannot take as one column (a stray \\x01 byte) is split in Python. Lines are
    read as bytes, so one bad byte costs its own line only.
    """
    import pyarrow.csv as pacsv

    try:
        with _arrow_input(source) as stream:
            lines = pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=["raw"], block_size=max(16 << 20, limit + (1 << 16))),
                parse_options=pacsv.ParseOptions(delimiter="\x01", quote_char=False, escape_char=False,
                                                 newlines_in_values=False, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(column_types={"raw": pa.binary()}, strings_can_be_null=False,
                                                     quoted_strings_can_be_null=False),
            ).column("raw")
    except pa.ArrowInvalid:
        lines = pa.chunked_array([_split_lines(source)], pa.binary())
    try:
        text = lines.cast(pa.string())
        bad: list[dict[str, Any]] = []
    except pa.ArrowInvalid:
        text, bad = _decode_lines(lines)
    numbered = pa.table({"raw": text, "_line": pa.array(range(1, len(text) + 1), pa.int64())})
    con.register("_raw_lines", numbered)  # read in place: no copy of the file into DuckDB
    return bad


def _arrow_input(source: LandingSource) -> Any:
    """The file as an Arrow stream: by its exact path (never a glob), decompressed if gzip."""
    stream = pa.OSFile(str(source.path))
    return pa.CompressedInputStream(stream, "gzip") if source.compression == "gzip" else stream


def _split_lines(source: LandingSource) -> list[bytes]:
    """The exact (slower) way: split on \\n only, a trailing \\r dropped."""
    opener = gzip.open if source.compression == "gzip" else open
    with opener(source.path, "rb") as handle:  # type: ignore[operator]
        data = handle.read()
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return [part[:-1] if part.endswith(b"\r") else part for part in parts]


def _decode_lines(lines: pa.ChunkedArray) -> tuple[pa.Array, list[dict[str, Any]]]:
    """Decode line by line (only for a file with a bad byte): a line that is not UTF-8 is a bad record."""
    texts: list[str | None] = []
    bad: list[dict[str, Any]] = []
    for number, raw in enumerate(lines.to_pylist(), start=1):
        reason = invalid_utf8(raw)
        texts.append(raw.decode("utf-8") if reason is None else None)
        if reason is not None:
            bad.append({"line": number, "raw": raw.decode("utf-8", "backslashreplace"), "reason": reason})
    return pa.array(texts, pa.string()), bad


def _json_error(raw: str) -> str:
    """Python's parser names what is wrong; DuckDB only says the line is not JSON."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"{_MALFORMED}: {exc.msg} (column {exc.colno})"
    return _MALFORMED


def _typed_split(con: Connection, cfg: BronzeTableConfig, source: str,
                 leaves: list[tuple[tuple[str, ...], ColumnSpec]], leaf_names: list[str], relative: str,
                 ctx: IngestContext, rows: int | None = None, raw_from: str | None = None) -> tuple[pa.Table, pa.Table]:
    """Convert text leaves (``source``: a relation or a parenthesised query, of ``rows`` rows when
    known) to their declared types (``convert_sql``); a value that does not convert, or is out of
    range, is a bad record. Its raw text is ``source``'s ``_raw``, or (``raw_from``) the ``raw``
    of that relation's row of the same ``_line``."""
    casts: dict[str, str] = {}
    problems: list[str] = []
    parsed: list[str] = []
    for index, (name, (path, col)) in enumerate(zip(leaf_names, leaves, strict=True)):
        conversion = convert_sql(q(name), col, f"field {'.'.join(path)}", q(f"_lakemend parsed {index}"))
        parsed.append(f"{conversion.parsed} AS {q(f'_lakemend parsed {index}')}")
        casts[name] = conversion.value
        problems.append(conversion.problem)
    reason_sql = f"coalesce({', '.join(problems)})" if problems else "CAST(NULL AS VARCHAR)"

    def build(columns: dict[str, ColumnSpec], prefix: tuple[str, ...]) -> list[str]:
        parts = []
        for name, col in columns.items():
            path = prefix + (name,)
            if col.fields is not None:
                inner = ", ".join(build(col.fields, path))
                parts.append(f"struct_pack({inner})" if not prefix else f"{q(name)} := struct_pack({inner})")
                if not prefix:
                    parts[-1] += f" AS {q(name)}"
            else:
                expr = casts["__".join(path)]
                parts.append(f"{q(name)} := {expr}" if prefix else f"{expr} AS {q(name)}")
        return parts

    staged = (f"(SELECT {', '.join(build(cfg.columns, ()))}, _extra, _line, {'' if raw_from else '_raw, '}"
              f"{reason_sql} AS _cast_problem FROM (SELECT {', '.join(['*', *parsed])} FROM {source}))")
    required = bronze_rule_sql(cfg)
    return _split(con, staged, cfg, f"coalesce(_cast_problem, {required})", relative, ctx, rows, raw_from)


# ----- Parquet ---------------------------------------------------------------------------------


def _read_parquet_file(con: Connection, cfg: BronzeTableConfig, path: Path, relative: str,
                       ctx: IngestContext) -> tuple[pa.Table, pa.Table, int]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{relative}: not a readable Parquet file ({exc})", "re-deliver the file") from None
    _missing_required(cfg, set(table.column_names), relative)
    con.register("_pq", table)
    present = set(table.column_names)
    leaves = [((name,), col) for name, col in cfg.columns.items()]
    names = list(cfg.columns)
    text = ", ".join(
        f"CAST({q(n)} AS VARCHAR) AS {q(n)}" if n in present else f"CAST(NULL AS VARCHAR) AS {q(n)}" for n in names
    )
    extras = [c for c in table.column_names if c not in cfg.columns]
    extra_sql = "to_json(struct_pack(" + ", ".join(f"{q(e)} := {q(e)}" for e in extras) + "))::VARCHAR" if extras else "NULL"
    staged = con.arrow(f"SELECT {text}, CAST({extra_sql} AS VARCHAR) AS _extra, CAST(row_number() OVER () AS BIGINT) AS _line, "
        f"to_json(_pq)::VARCHAR AS _raw FROM _pq",
    )
    con.unregister("_pq")
    for name, col in cfg.columns.items():
        if col.fields is not None:
            raise IngestError(f"column {name!r}: nested fields are read from JSON sources only", "flatten it for Parquet")
    con.register("_pq_text", staged)
    good, bad = _typed_split(con, cfg, "_pq_text", leaves, names, relative, ctx)
    con.unregister("_pq_text")
    return good, bad, good.num_rows + bad.num_rows
