"""The HTML report: one self-contained file, escaped, small, and it renders in a real browser."""

from __future__ import annotations

import json

import datetime as dt
import re
import shutil
import struct
import subprocess
import types
import zlib
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import START, build
from lakemend.ops.heatmap import STATES, Heatmap
from lakemend.ops.incidents import Incident, open_incident
from lakemend.lake import Lake
from lakemend.ops.report import STATE_COLORS, DqResult, OpenIncident, ReportData, render, write_report
from lakemend.state.store import PauseFlags

BAD_DAY, FAILED_DAY = dt.date(2025, 11, 2), dt.date(2025, 11, 3)
REASON = 'INC-42: orders re-sent <twice> & "fixed"'
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base", "embed", "track",
        "line", "rect"}  # SVG's line and rect are written self-closing


def fake_dq_history(store: object, table: str | None = None, since: object = None) -> list[object]:
    """What the DQ module returns: records as dicts or objects, several runs of the same check."""
    early, late = dt.datetime(2025, 11, 4, 1), dt.datetime(2025, 11, 4, 2)
    return [
        {"run_at": early, "table": "silver.orders_clean", "day": START, "check": "row_count", "observed": 0,
         "threshold": ">= 1", "passed": False},
        {"run_at": late, "table": "silver.orders_clean", "day": START, "check": "row_count", "observed": 120,
         "threshold": ">= 1", "passed": True},
        types.SimpleNamespace(run_at=late, table="gold.customer_orders", day=START.isoformat(),
                              check="null_rate(email) <b>", observed=0.4, threshold="<= 0.1", passed=False),
    ]


def land_orders(root: Path, day: dt.date, text: str) -> None:
    folder = root / "landing" / "orders" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "orders-0001.csv").write_text(text)


@pytest.fixture(scope="module")
def lake_with_history(tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    """A built day, a day with a quarantined record, a failed day, a backfill with a reason, an incident, a pause."""
    root = tmp_path_factory.mktemp("report") / "company"
    shutil.copytree(_pristine_example, root, symlinks=True)
    assert not build(root, START, START).failed
    header = "order_id,customer_email,amount,currency,status,ordered_at,updated_at\n"
    land_orders(root, BAD_DAY, header + "o-1,a@example.com,10.00,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n"
                               "o-2,b@example.com,12;50,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n")
    land_orders(root, FAILED_DAY, "order_id,amount\no-3,1.00\n")
    from lakemend.dates import day_range
    from lakemend.ops.runner import execute

    lake = Lake.open(root)
    execute(lake, command="backfill", days=day_range(BAD_DAY, FAILED_DAY),
            tables=[lake.project.table("bronze.orders"), lake.project.table("silver.orders_clean")], reason=REASON)
    open_incident(lake.state, "Orders <doubled> in gold", "sev1")
    PauseFlags(lake.state).pause("silver.orders_clean", "checking <dupes>")
    return root


@pytest.fixture(scope="module")
def report_file(lake_with_history: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("out") / "report.html"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("lakemend.state.dq.dq_history", fake_dq_history)
        write_report(Lake.open(lake_with_history), path)
    yield path


class TagChecker(HTMLParser):
    """Every element closed in order; collects the attributes that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.links += [value or "" for name, value in attrs if name in ("src", "href", "srcset", "action", "data")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.links += [value or "" for name, value in attrs if name in ("src", "href")]

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def check_markup(text: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.problems, checker.problems[:5]
    assert checker.stack == [], checker.stack
    return checker


def assert_self_contained(text: str) -> None:
    checker = check_markup(text)
    assert all(link.startswith("#") for link in checker.links), [link for link in checker.links if not link.startswith("#")]
    assert "http://" not in text and "https://" not in text
    for banned in ("<script", "<link", "<img", "<iframe", "@import", "url(", "<object", "<embed"):
        assert banned not in text.lower(), banned
    assert "default-src 'none'" in text  # the browser itself refuses anything external


def test_report_of_a_built_lake_is_one_escaped_self_contained_file(report_file: Path, lake_with_history: Path) -> None:
    assert [p.name for p in report_file.parent.iterdir()] == ["report.html"]  # one file, no assets, no temp file
    text = report_file.read_text(encoding="utf-8")
    assert_self_contained(text)
    assert "sqlite:" not in text and str(lake_with_history) not in text  # no state DB location, no local paths
    # the heatmap: every table, a cell per table and day, the legend with totals
    lake = Lake.open(lake_with_history)
    for table in lake.project.tables:
        if not table.startswith("quarantine."):
            assert f'<th class="t">{table}</th>' in text
    assert 'title="bronze.orders 2025-10-20: published"' in text
    assert 'title="bronze.orders 2025-11-03: failed"' in text
    assert re.search(r"published \(\d+\)", text) and "failed (1)" in text
    # the runs with their reasons, escaped
    assert "reason: test" in text  # the build's reason
    escaped = "INC-42: orders re-sent &lt;twice&gt; &amp; &quot;fixed&quot;"
    assert escaped in text and "<twice>" not in text
    assert "required column &#x27;customer_email&#x27;" in text  # the failed job's error
    assert "<b>backfill</b>" in text and "<b>run</b>" in text
    # quarantine counts from the ledger, the open incident, the pause
    assert 'title="bronze.orders 2025-11-02: 1 quarantined"' in text
    assert "Orders &lt;doubled&gt; in gold" in text and "INC-0001" in text
    assert "checking &lt;dupes&gt;" in text
    # charts are inline SVG with a tooltip per bar
    assert text.count("<svg") >= 4 and "<title>10-20 — succeeded:" in text
    # DQ: newest result per check wins; failures listed and escaped
    assert 'class="q-fail" title="gold.customer_orders 2025-10-20: 0/1 passed' in text
    assert 'class="q-pass" title="silver.orders_clean 2025-10-20: 1/1 passed' in text
    assert "null_rate(email) &lt;b&gt;" in text


def test_report_of_days_without_dq_checks_has_an_empty_dq_section(lake_with_history: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    data = write_report(Lake.open(lake_with_history), path, START, START)
    text = path.read_text()
    assert data.dq == [] and "No DQ check ran on these days." in text
    assert data.heatmap.days == (START,) and "2025-11-02" not in text.split('id="history"')[0]
    check_markup(text)


def test_report_command_writes_the_file(lake_with_history: Path, tmp_path: Path, cli) -> None:  # noqa: ANN001
    target = tmp_path / "sub" / "lake.html"
    result = run_report(cli, lake_with_history, "--start", "2025-10-20", "--end", "2025-11-03", "--out", str(target))
    assert result[0] == 0, result
    assert str(target) in result[1].replace("\n", "") and target.stat().st_size > 10_000
    bad = run_report(cli, lake_with_history, "--start", "2025-10-27", "--end", "2025-10-20")
    assert bad[0] == 2 and "--end 2025-10-20 is before --start 2025-10-27" in bad[2]
    old_spelling = run_report(cli, lake_with_history, "-o", "lake.html")  # -o is the output format everywhere
    assert old_spelling[0] == 2 and "write the file with --out lake.html" in old_spelling[2]
    assert json.loads(run_report(cli, lake_with_history, "--out", str(target), "-o", "json")[1])["file"] == str(target)


def run_report(cli, root: Path, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    """``lakemend report ARGS`` in ``root``."""
    result = cli("report", *args, cwd=root)
    return result.code, result.out, result.err


# ----- size --------------------------------------------------------------------------------------------


def synthetic(days: int = 90, tables: int = 10) -> ReportData:
    """A busy lake: every table × day built twice (one failure first), a backfill a day, DQ checks, incidents."""
    first = dt.date(2025, 1, 1)
    day_list = [first + dt.timedelta(days=i) for i in range(days)]
    names = [f"{('bronze', 'silver', 'gold')[i % 3]}.table_number_{i:02d}" for i in range(tables)]
    cells = {name: {d: STATES[(i + j) % len(STATES)] for j, d in enumerate(day_list)} for i, name in enumerate(names)}
    jobs, runs, job_id = [], {}, 0
    long_reason = "INC-1234: the upstream orders export was re-sent with corrected currency codes; " * 3
    for j, day in enumerate(day_list):
        for attempt, (command, status) in enumerate((("run", "failed"), ("backfill", "succeeded"))):
            run_id = f"2025{j:04d}T0{attempt}0000-{j:06x}"
            at = dt.datetime.combine(day, dt.time(3 + attempt))
            runs[run_id] = {"run_id": run_id, "command": command, "status": status, "reason": long_reason,
                            "user": "oncall", "host": "etl-worker-01", "started_at": at}
            for i, name in enumerate(names):
                job_id += 1
                jobs.append({"id": job_id, "run_id": run_id, "command": command, "layer": name.split(".")[0],
                             "table_name": name, "day": day, "reason": long_reason, "user": "oncall", "host": "etl-worker-01",
                             "status": status, "started_at": at, "ended_at": at + dt.timedelta(seconds=7 + i),
                             "rows_read": 250_000, "rows_written": 249_000, "rows_quarantined": (i * j) % 17,
                             "rows_deduplicated": 3, "error": ("ValueError: " + "x" * 300) if status == "failed" else None})
    dq = [DqResult(dt.datetime.combine(d, dt.time(5)), name, d, check, 0.5, "<= 0.1", (i + j + k) % 9 != 0)
          for j, d in enumerate(day_list) for i, name in enumerate(names)
          for k, check in enumerate(("row_count", "null_rate(customer_email)", "freshness(updated_at)", "row_count_vs_recent"))]
    incidents = [OpenIncident(Incident(f"INC-{n:04d}", "orders doubled " * 4, "sev2", "open", dt.datetime(2025, 3, 1),
                                       None, "oncall", None, None), 12, 4) for n in range(1, 6)]
    return ReportData("busy-lake", dt.datetime(2025, 4, 1), Heatmap(tuple(day_list), cells),
                      {n: n.split(".")[0] for n in names}, jobs, runs, dq, None, incidents,
                      {"*": {"reason": "freeze", "user": "oncall", "since": dt.datetime(2025, 3, 30)}})


def test_ninety_days_of_ten_tables_stay_under_two_megabytes() -> None:
    data = synthetic()
    text = render(data)
    size = len(text.encode("utf-8"))
    assert size < 2_000_000, f"{size:,} bytes"
    checker = check_markup(text)
    assert_self_contained(text)
    assert text.count('<td class="s-') == 900 and text.count('<td class="q-') == 900
    assert checker.tags["details"] == 180  # every run listed
    assert "<b>900</b><span>jobs succeeded</span>" in text and "<b>900</b><span>jobs failed</span>" in text
    print(f"90 days × 10 tables: {size:,} bytes")


# ----- a real browser ----------------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, channels and the unfiltered rows of an 8-bit, non-interlaced RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and interlace == 0 and color in (2, 6), header
    channels = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = previous[i], (previous[i - channels] if i >= channels else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def pixel_colors(png: Path) -> Counter[str]:
    width, height, channels, rows = decode_png(png.read_bytes())
    assert (width, height) == (1400, 1000)
    return Counter(row[i:i + 3].hex() for row in rows for i in range(0, len(row), channels))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_report_renders_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
               f"--screenshot={png}", "--window-size=1400,1000", report_file.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert png.is_file() and png.stat().st_size > 10_000
    # any console message (script error, blocked load, CSP violation) means the page is not clean
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    colors = pixel_colors(png)
    for state in ("published", "failed", "paused"):
        assert colors[STATE_COLORS[state].lstrip("#")] > 50, (state, colors.most_common(10))
    assert sum(n for color, n in colors.items() if color != "ffffff") > 100_000  # not a blank page

