"""The HTML report: one self-contained file for people who will not run the CLI.

``collect`` reads the lake (heatmap, ledger, DQ results, incidents, pauses) into a
:class:`ReportData`; ``render`` turns that into HTML and knows nothing about the lake, so it can
be tested with synthetic data of any size. The page fetches nothing when viewed: CSS is inline,
charts are SVG generated here, there is no script, and a Content-Security-Policy of
``default-src 'none'`` makes the browser refuse anything external should a value ever look like
a URL. Every value from the state DB is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakemend.ops.heatmap import STATES, Heatmap

if TYPE_CHECKING:
    from lakemend.lake import Lake
    from lakemend.state.incidents import Incident

DEFAULT_LAST_DAYS = 30
MAX_JOB_ROWS = 2000
"""Job rows listed under the runs; more are counted, not shown (keeps the file well under 2 MB)."""
MAX_FAILED_JOBS = 100
MAX_FAILED_CHECKS = 500
STATE_COLORS = {"published": "#2f9e44", "missing": "#ff8787", "stale": "#fcc419", "failed": "#c92a2a",
                "quarantined": "#ae3ec9", "paused": "#4c6ef5"}
NO_DATA_COLOR = "#e9ecef"
LAYER_COLORS = {"bronze": "#b08968", "silver": "#868e96", "gold": "#f59f00"}
OK_COLOR, FAIL_COLOR = "#2f9e44", "#e03131"


# ----- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DqResult:
    run_at: dt.datetime | None
    table: str
    day: dt.date
    check: str
    observed: Any
    threshold: Any
    passed: bool
    detail: str | None = None


@dataclass(frozen=True)
class OpenIncident:
    incident: Incident
    runs: int
    notes: int


@dataclass
class ReportData:
    """Everything the page shows; ``jobs`` are ledger rows (dicts) of the report's days, oldest first."""

    project: str
    generated_at: dt.datetime
    heatmap: Heatmap
    layers: dict[str, str]
    """Table → layer, for the tables of the heatmap."""
    jobs: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    dq: list[DqResult] | None = None
    """None: no DQ module in this build; [] means no check ran on these days."""
    dq_error: str | None = None
    incidents: list[OpenIncident] = field(default_factory=list)
    pauses: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def days(self) -> list[dt.date]:
        """The heatmap's days plus any day a job ran for (a failed day may have no data at all)."""
        return sorted(set(self.heatmap.days) | {j["day"] for j in self.jobs})


def collect(lake: Lake, start: dt.date | None = None, end: dt.date | None = None,
            last: int = DEFAULT_LAST_DAYS) -> ReportData:
    """Read what the report shows: the given days, or the last ``last`` days with data."""
    from lakemend.ops.heatmap import build_heatmap
    from lakemend.ops.incidents import runs_of_incident
    from lakemend.state.incidents import list_incidents, notes_of
    from lakemend.state.store import PauseFlags, utcnow

    tables = lake.project.ordered
    heat = build_heatmap(lake, tables, start, end, last=last)
    first = start or (heat.days[0] if heat.days else None)
    final = end or (heat.days[-1] if heat.days else None)
    store = lake.state
    job_rows, run_rows = store.run_history(first, final)
    dq, dq_error = dq_results(lake, first, final)
    open_now = [OpenIncident(i, len(runs_of_incident(store, i)), len(notes_of(store, i.id)))
                for i in list_incidents(store, "open")]
    return ReportData(
        project=lake.project.config.name, generated_at=utcnow(), heatmap=heat,
        layers={t.qualified: t.layer for t in tables}, jobs=job_rows, runs=run_rows, dq=dq, dq_error=dq_error,
        incidents=open_now, pauses=PauseFlags(store).all(),
    )


def _get(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def _as_day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def dq_results(lake: Lake, first: dt.date | None, last: dt.date | None) -> tuple[list[DqResult] | None, str | None]:
    """The DQ results of the days, newest per (table, day, check)."""
    from lakemend.state.dq import dq_history

    try:
        raw = list(dq_history(lake.state))
    except Exception as exc:  # noqa: BLE001 - the rest of the report is still worth having
        return [], f"{type(exc).__name__}: {exc}"
    newest: dict[tuple[str, dt.date, str], DqResult] = {}
    for record in raw:
        day = _as_day(_get(record, "day"))
        if day is None or (first and day < first) or (last and day > last):
            continue
        result = DqResult(_get(record, "run_at"), str(_get(record, "table")), day, str(_get(record, "check")),
                          _get(record, "observed"), _get(record, "threshold"), bool(_get(record, "passed")),
                          _get(record, "detail"))
        key = (result.table, day, result.check)
        previous = newest.get(key)
        if previous is None or str(result.run_at or "") >= str(previous.run_at or ""):
            newest[key] = result
    return sorted(newest.values(), key=lambda r: (r.day, r.table, r.check)), None


# ----- writing -------------------------------------------------------------------------------------


def write_report(lake: Lake, path: Path, start: dt.date | None = None, end: dt.date | None = None) -> ReportData:
    """Collect and render into ``path`` (written to a temporary file first, then moved into place)."""
    data = collect(lake, start, end)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(render(data), encoding="utf-8")
    temporary.replace(path)
    return data


# ----- rendering helpers -----------------------------------------------------------------------------


def esc(value: Any) -> str:
    """Any value as HTML text or attribute content."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S")
    return html.escape(str(value), quote=True)


def num(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def short(value: float) -> str:
    """Axis labels: 950, 1.2k, 3.4M."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if not float(value).is_integer() else str(int(value))


def clip(text: str | None, limit: int) -> str | None:
    """At most ``limit`` characters (long errors are kept in full in the ledger)."""
    return text if text is None or len(text) <= limit else text[:limit - 1] + "…"


def seconds_of(job: dict[str, Any]) -> float | None:
    start, end = job.get("started_at"), job.get("ended_at")
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        return max(0.0, (end - start).total_seconds())
    return None


def table_html(columns: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "grid") -> str:
    """A plain table; cells are escaped unless they are ``Raw``."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, Raw) else esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Raw(str):
    """Markup made here (already escaped)."""


def badge(status: str | None) -> Raw:
    status = status or "unknown"
    return Raw(f'<span class="b b-{esc(status)}">{esc(status)}</span>')


def legend(items: Iterable[tuple[str, str]]) -> str:
    spans = "".join(f'<span><i style="background:{color}"></i>{esc(label)}</span>' for label, color in items)
    return f'<div class="legend">{spans}</div>'


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[float]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^n at or above value (the top of an axis)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "",
              width: int = 960, height: int = 230) -> str:
    """A stacked bar chart as inline SVG, with a tooltip (``<title>``) on every bar segment."""
    left, right, top, bottom = 58, 10, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(labels), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    ceiling = nice_ceiling(max(totals, default=0))
    slot = plot_w / count
    bar = max(1.0, slot * 0.78)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">']
    mantissa = round(ceiling / 10 ** math.floor(math.log10(ceiling)))
    divisions = 4 if mantissa == 2 else 5  # ticks at round values: 0.5 steps for 2, whole steps for 1 and 5
    if ceiling <= 5 and all(float(v).is_integer() for s in series for v in s.values):
        divisions = int(ceiling)  # counts: no tick at 0.5
    for k in range(divisions + 1):
        value = ceiling * k / divisions
        y = top + plot_h - plot_h * k / divisions
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="gl"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" class="yl">{esc(short(value))}</text>')
    step = max(1, math.ceil(count / 16))
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        base = top + plot_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / ceiling
            base -= h
            parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{s.color}">'
                         f'<title>{esc(label)} — {esc(s.name)}: {esc(num(value))}{esc(unit)}</title></rect>')
        if i % step == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" class="xl">{esc(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" class="ax"/></svg>')
    return (f'<figure><figcaption>{esc(title)}</figcaption>{"".join(parts)}'
            f'{legend((s.name, s.color) for s in series)}</figure>')


def day_label(day: dt.date) -> str:
    return day.strftime("%m-%d")


DENSE_DAYS = 45
"""From this many days on, grids use narrower cells and label one day in seven, so 90 days fit a laptop screen."""


def day_grid(title_row: str, days: Sequence[dt.date], rows: Iterable[tuple[str, Sequence[str]]],
             marks: dict[str, str] | None = None) -> str:
    """Tables × days: each row is (table, the cells' ``<td …>`` markup in day order). Days that are
    not consecutive get a gap column between them (the days between have no data); a dense grid
    labels one day in seven, and every day after a gap. ``marks``: HTML shown beside a table's name."""
    dense = len(days) >= DENSE_DAYS
    gap_before = {i for i in range(1, len(days)) if (days[i] - days[i - 1]).days > 1}
    gap_head = '<th class="gap" title="days skipped: no data"></th>'
    gap_cell = '<td class="gap"></td>'
    head = "".join((gap_head if i in gap_before else "")
                   + f'<th class="d"><span>{esc(day_label(d)) if not dense or i % 7 == 0 or i in gap_before else ""}</span></th>'
                   for i, d in enumerate(days))
    body = "".join(f'<tr><th class="t">{(marks or {}).get(name, "")}{esc(name)}</th>'
                   + "".join((gap_cell if i in gap_before else "") + cell for i, cell in enumerate(cells)) + "</tr>"
                   for name, cells in rows)
    css = "heat dense" if dense else "heat"
    return (f'<div class="scroll"><table class="{css}"><thead><tr><th class="t">{esc(title_row)}</th>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


# ----- sections ------------------------------------------------------------------------------------


def _latest_per_partition(job_rows: Sequence[dict[str, Any]], status: str | None = None) -> dict[tuple[str, dt.date], dict[str, Any]]:
    latest: dict[tuple[str, dt.date], dict[str, Any]] = {}
    for job in job_rows:  # oldest first, so the last one wins
        if status is None or job["status"] == status:
            latest[(job["table_name"], job["day"])] = job
    return latest


def summary_section(data: ReportData) -> str:
    totals = data.heatmap.totals()
    statuses = Counter(j["status"] for j in data.jobs)
    rows_written = sum(j["rows_written"] or 0 for j in data.jobs if j["status"] == "succeeded")
    failed_checks = sum(1 for r in data.dq or [] if not r.passed)
    cards = [("partitions published", totals["published"], "ok"),
             ("missing / stale / failed", totals["missing"] + totals["stale"] + totals["failed"],
              "bad" if totals["missing"] + totals["failed"] else ("warn" if totals["stale"] else "ok")),
             ("partitions quarantined", totals["quarantined"], "bad" if totals["quarantined"] else "ok"),
             ("jobs succeeded", statuses.get("succeeded", 0), "ok"),
             ("jobs failed", statuses.get("failed", 0), "bad" if statuses.get("failed") else "ok"),
             *([("jobs interrupted", statuses["interrupted"], "warn")] if statuses.get("interrupted") else []),
             ("rows written", rows_written, ""),
             ("DQ checks failed", failed_checks if data.dq is not None else "—", "bad" if failed_checks else "ok"),
             ("open incidents", len(data.incidents), "bad" if data.incidents else "ok")]
    html_cards = "".join(f'<div class="card {cls}"><b>{esc(num(v) if isinstance(v, int) else v)}</b><span>{esc(label)}</span></div>'
                         for label, v, cls in cards)
    paused = "".join(f"<li><b>{esc('every table' if name == '*' else name)}</b> paused since {esc(flag.get('since'))} UTC"
                     f" by {esc(flag.get('user') or 'unknown')}: {esc(flag.get('reason'))}</li>" for name, flag in data.pauses.items())
    return (f'<section id="summary"><div class="cards">{html_cards}</div>'
            + (f'<ul class="paused">{paused}</ul>' if paused else "") + "</section>")


def heatmap_section(data: ReportData) -> str:
    heat = data.heatmap
    if not heat.cells or not heat.days:
        return '<section id="heatmap"><h2>Partitions</h2><p class="empty">No partition in these days.</p></section>'
    rows = []
    for table, states in heat.cells.items():
        cells = []
        for day in heat.days:
            state = states.get(day)
            cells.append(f'<td class="s-{state or "none"}" title="{esc(table)} {day}: {esc(state or "no data")}"></td>')
        rows.append((table, cells))
    totals = heat.totals()
    items = [(f"{state} ({totals[state]})", STATE_COLORS[state]) for state in STATES] + [("no data", NO_DATA_COLOR)]
    return ('<section id="heatmap"><h2>Partitions</h2><p class="note">Each cell is one table on one day, from Iceberg '
            "metadata, file listings and the state DB. Hover a cell for its state.</p>"
            + day_grid("table", heat.days, rows, {t: '<span class="pz" title="paused: writes refused">paused</span> '
                                                   for t in heat.paused})
            + legend(items + ([("table paused (its cells keep their state)", STATE_COLORS["paused"])] if heat.paused else []))
            + "</section>")


def dq_section(data: ReportData) -> str:
    head = '<section id="dq"><h2>Data quality</h2>'
    if data.dq is None:
        return head + '<p class="empty">No data-quality results: this build has no DQ checks.</p></section>'
    error = f'<p class="error">Could not read the DQ history: {esc(data.dq_error)}</p>' if data.dq_error else ""
    if not data.dq:
        return head + error + '<p class="empty">No DQ check ran on these days.</p></section>'
    by_cell: dict[tuple[str, dt.date], list[DqResult]] = defaultdict(list)
    for result in data.dq:
        by_cell[(result.table, result.day)].append(result)
    days = data.days
    tables = [t for t in data.layers if any((t, d) in by_cell for d in days)]
    tables += sorted({r.table for r in data.dq} - set(tables))
    rows = []
    for table in tables:
        cells = []
        for day in days:
            results = by_cell.get((table, day), [])
            if not results:
                cells.append(f'<td class="q-none" title="{esc(table)} {day}: no check"></td>')
                continue
            failed = [r for r in results if not r.passed]
            lines = "".join(f"&#10;FAILED {esc(r.check)}: observed {esc(r.observed)}, threshold {esc(r.threshold)}"
                            for r in failed[:5])
            cls = "q-fail" if failed else "q-pass"
            cells.append(f'<td class="{cls}" title="{esc(table)} {day}: {len(results) - len(failed)}/{len(results)} passed{lines}"></td>')
        rows.append((table, cells))
    failures = [r for r in reversed(data.dq) if not r.passed]
    listing = table_html(["day", "table", "check", "observed", "threshold", "detail", "checked at (UTC)"],
                         ([r.day, r.table, r.check, r.observed, r.threshold, clip(r.detail, 300), r.run_at]
                          for r in failures[:MAX_FAILED_CHECKS]))
    more = f'<p class="note">… and {len(failures) - MAX_FAILED_CHECKS} more.</p>' if len(failures) > MAX_FAILED_CHECKS else ""
    passed = sum(1 for r in data.dq if r.passed)
    chart_rows = Counter((r.day, r.passed) for r in data.dq)
    chart = bar_chart("DQ checks per day", [day_label(d) for d in days],
                      [Series("passed", OK_COLOR, [chart_rows[(d, True)] for d in days]),
                       Series("failed", FAIL_COLOR, [chart_rows[(d, False)] for d in days])])
    return (head + error + f'<p class="note">{passed} of {len(data.dq)} checks passed (the newest result per table, '
            "day and check).</p>" + day_grid("table", days, rows)
            + legend([("all checks passed", OK_COLOR), ("a check failed", FAIL_COLOR), ("no check", NO_DATA_COLOR)])
            + chart + ("<h3>Failed checks</h3>" + listing + more if failures else "") + "</section>")


def charts_section(data: ReportData) -> str:
    days = data.days
    if not data.jobs:
        return '<section id="charts"><h2>Jobs</h2><p class="empty">No partition job ran for these days.</p></section>'
    labels = [day_label(d) for d in days]
    written: dict[str, Counter[dt.date]] = defaultdict(Counter)
    outcome: dict[str, Counter[dt.date]] = defaultdict(Counter)
    duration: Counter[dt.date] = Counter()
    for job in data.jobs:
        outcome[job["status"]][job["day"]] += 1
        if job["status"] == "succeeded":
            written[job["layer"]][job["day"]] += job["rows_written"] or 0
        duration[job["day"]] += seconds_of(job) or 0.0
    layers = [layer for layer in LAYER_COLORS if layer in written] + sorted(set(written) - set(LAYER_COLORS))
    charts = [
        bar_chart("Rows written per day (succeeded jobs, by layer)", labels,
                  [Series(layer, LAYER_COLORS.get(layer, "#495057"), [written[layer][d] for d in days]) for layer in layers],
                  " rows"),
        bar_chart("Partition jobs per day: succeeded vs failed vs interrupted", labels,
                  [Series("succeeded", OK_COLOR, [outcome["succeeded"][d] for d in days]),
                   Series("failed", FAIL_COLOR, [outcome["failed"][d] for d in days]),
                   Series("interrupted (Ctrl-C or killed)", "#adb5bd", [outcome["interrupted"][d] for d in days]),
                   Series("running", "#ffd43b", [outcome["running"][d] for d in days])]),
        bar_chart("BackfillDurationSeconds per day (sum over the day's jobs)", labels,
                  [Series("seconds", "#1c7ed6", [round(duration[d], 3) for d in days])], " s"),
    ]
    return ('<section id="charts"><h2>Jobs</h2><p class="note">Per partition day, every attempt in the ledger.</p>'
            + "".join(charts) + "</section>")


def quarantine_section(data: ReportData) -> str:
    latest = _latest_per_partition(data.jobs, "succeeded")
    counts = {key: job["rows_quarantined"] or 0 for key, job in latest.items() if job["rows_quarantined"]}
    head = ('<section id="quarantine"><h2>Quarantined records</h2><p class="note">Records of the last successful build '
            "of each partition that went to <code>quarantine.&lt;table&gt;</code> (malformed, bad types, broken rules).</p>")
    if not counts:
        return head + '<p class="empty">No record was quarantined on these days.</p></section>'
    days = data.days
    peak = max(counts.values())
    rows = []
    for table in [t for t in data.layers if any((t, d) in counts for d in days)]:
        cells = []
        for day in days:
            value = counts.get((table, day), 0)
            if not value:
                cells.append("<td></td>")
                continue
            alpha = 0.25 + 0.75 * value / peak
            cells.append(f'<td class="n" style="background:rgba(174,62,201,{alpha:.2f})" '
                         f'title="{esc(table)} {day}: {value} quarantined">{esc(short(value))}</td>')
        rows.append((table, cells))
    return head + day_grid("table", days, rows) + "</section>"


def history_section(data: ReportData) -> str:
    head = ('<section id="history"><h2>Runs, backfills and reasons</h2><p class="note">Newest first; every run that '
            "touched these days, with the reason it was given. Open a run for its partition jobs. Times are UTC.</p>")
    if not data.jobs:
        return head + '<p class="empty">No run touched these days.</p></section>'
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for job in data.jobs:
        by_run[job["run_id"]].append(job)
    order = sorted(by_run, key=lambda r: (data.runs.get(r, {}).get("started_at") or by_run[r][0]["started_at"], r), reverse=True)
    failed = [j for j in reversed(data.jobs) if j["status"] == "failed"]
    parts = [head]
    if failed:
        parts.append("<h3>Failed jobs</h3>" + table_html(
            ["time", "command", "table", "day", "run", "reason", "error"],
            ([j["started_at"], j["command"], j["table_name"], j["day"], j["run_id"], j["reason"],
              Raw(f"<code>{esc(clip(j['error'], 1000))}</code>")] for j in failed[:MAX_FAILED_JOBS])))
        if len(failed) > MAX_FAILED_JOBS:
            parts.append(f'<p class="note">… and {len(failed) - MAX_FAILED_JOBS} more: <code>lakemend runs --status failed</code></p>')
    shown = 0
    blocks = []
    for run_id in order:
        run, jobs_of_run = data.runs.get(run_id, {}), by_run[run_id]
        run_reason = run.get("reason") or jobs_of_run[0]["reason"]
        statuses = Counter(j["status"] for j in jobs_of_run)
        tables = sorted({j["table_name"] for j in jobs_of_run})
        first, last = min(j["day"] for j in jobs_of_run), max(j["day"] for j in jobs_of_run)
        days = f"{first}" if first == last else f"{first} … {last}"
        stopped = f", {statuses['interrupted']} interrupted" if statuses.get("interrupted") else ""
        summary = (f'<summary><span class="when">{esc(run.get("started_at") or jobs_of_run[0]["started_at"])}</span> '
                   f'<b>{esc(run.get("command") or jobs_of_run[0]["command"])}</b> {badge(run.get("status"))} '
                   f'<span class="what">{esc(", ".join(tables) if len(tables) <= 3 else f"{len(tables)} tables")} · {esc(days)} · '
                   f'{statuses.get("succeeded", 0)} ok, {statuses.get("failed", 0)} failed'
                   f'{stopped} · '
                   f'{esc(num(sum(j["rows_written"] or 0 for j in jobs_of_run if j["status"] == "succeeded")))} rows</span>'
                   f'<span class="why">reason: {esc(run_reason or "none given")}</span>'
                   f'<span class="who">{esc(run_id)} · {esc(run.get("user") or jobs_of_run[0]["user"] or "")}@{esc(run.get("host") or jobs_of_run[0]["host"] or "")}</span></summary>')
        take = jobs_of_run[:max(0, MAX_JOB_ROWS - shown)]
        shown += len(take)
        detail = table_html(  # a job's reason is shown only where it differs from its run's (keeps the file small)
            ["time", "command", "table", "day", "status", "rows written", "quarantined", "deduplicated", "seconds", "reason", "error"],
            ([j["started_at"], j["command"], j["table_name"], j["day"], badge(j["status"]), num(j["rows_written"]),
              num(j["rows_quarantined"]), num(j["rows_deduplicated"]), num(round(seconds_of(j) or 0, 1)),
              "" if j["reason"] == run_reason else j["reason"], clip(j["error"], 200)]
             for j in take)) if take else ""
        missing = len(jobs_of_run) - len(take)
        more = f'<p class="note">… {missing} more job(s): <code>lakemend runs --run {esc(run_id)}</code></p>' if missing else ""
        blocks.append(f'<details class="run">{summary}{detail}{more}</details>')
    parts.append("<h3>Runs</h3>" + "".join(blocks))
    return "".join(parts) + "</section>"


def incidents_section(data: ReportData) -> str:
    head = '<section id="incidents"><h2>Open incidents</h2>'
    if not data.incidents:
        return head + '<p class="empty">No incident is open.</p></section>'
    rows = ([o.incident.id, badge(o.incident.severity), o.incident.title, o.incident.opened_at, o.incident.opened_by, o.runs, o.notes]
            for o in data.incidents)
    return head + table_html(["id", "severity", "title", "opened (UTC)", "by", "runs since", "notes"], rows) + "</section>"


CSS = """
:root{--fg:#212529;--muted:#6c757d;--line:#dee2e6;--bg:#fff;--soft:#f8f9fa}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}header p{margin:0;color:var(--muted)}
nav a{margin-right:14px;color:#1c7ed6;text-decoration:none}nav{margin-top:8px}
.note,.empty{color:var(--muted);margin:4px 0 10px}.error{color:#c92a2a}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;white-space:pre-wrap}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:16px}
.card{border:1px solid var(--line);border-left:5px solid var(--line);border-radius:6px;padding:8px 14px;min-width:136px;background:var(--soft)}
.card b{display:block;font-size:22px}.card span{color:var(--muted);font-size:12px}
.card.ok{border-left-color:#2f9e44}.card.bad{border-left-color:#e03131}.card.warn{border-left-color:#fcc419}
.paused{color:#364fc7}
.scroll{overflow-x:auto;max-width:100%}
table.heat{border-collapse:separate;border-spacing:2px}
table.heat td{width:14px;min-width:14px;height:16px;padding:0;border-radius:2px}
table.heat th.t{text-align:right;padding-right:8px;font-weight:500;white-space:nowrap;font-size:12px}
table.heat th.d{vertical-align:bottom;height:44px;padding:0;font-weight:400;font-size:10px;color:var(--muted)}
table.heat th.d span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
table.heat td.n{font-size:9px;text-align:center;color:#fff;min-width:20px}
table.heat.dense{border-spacing:1px}table.heat.dense td{width:10px;min-width:10px}table.heat.dense td.n{min-width:14px;font-size:8px}
table.heat.dense th.d{width:10px;max-width:10px;overflow:visible}
table.heat td.gap,table.heat th.gap{width:4px;min-width:4px;background:repeating-linear-gradient(0deg,#ced4da 0 2px,transparent 2px 4px)}
.pz{background:#4c6ef5;color:#fff;border-radius:3px;padding:1px 5px;font-size:10px;margin-right:6px}
""" + "".join(f".s-{state}{{background:{color}}}" for state, color in STATE_COLORS.items()) + f"""
.s-none,.q-none{{background:{NO_DATA_COLOR}}}.q-pass{{background:{OK_COLOR}}}.q-fail{{background:{FAIL_COLOR}}}
.legend{{display:flex;flex-wrap:wrap;gap:14px;margin:8px 0 4px;font-size:12px;color:var(--muted)}}
.legend i{{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-2px}}
figure{{margin:14px 0 22px}}figcaption{{font-weight:600;margin-bottom:4px}}
svg.chart{{width:100%;max-width:960px;height:auto;display:block}}
svg .gl{{stroke:#e9ecef}}svg .ax{{stroke:#adb5bd}}
svg .yl{{font-size:11px;fill:#868e96;text-anchor:end}}svg .xl{{font-size:11px;fill:#868e96;text-anchor:middle}}
table.grid{{border-collapse:collapse;font-size:12px;margin:4px 0 12px}}
table.grid th,table.grid td{{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}}
table.grid th{{background:var(--soft)}}table.grid td{{overflow-wrap:anywhere;max-width:640px}}
table.grid td:nth-child(-n+4){{white-space:nowrap}}
details.run{{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:6px 10px}}
details.run summary{{cursor:pointer}}details.run summary span{{margin-left:6px}}
.when{{color:var(--muted);font-variant-numeric:tabular-nums}}.why{{display:block;margin-left:20px !important}}
.who{{display:block;margin-left:20px !important;color:var(--muted);font-size:12px}}
.b{{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;background:#e9ecef}}
.b-succeeded{{background:#d3f9d8;color:#2b8a3e}}.b-failed{{background:#ffe3e3;color:#c92a2a}}
.b-running{{background:#fff3bf;color:#e67700}}.b-interrupted{{background:#e9ecef;color:#495057}}.b-sev1{{background:#c92a2a;color:#fff}}.b-sev2{{background:#ffe3e3;color:#c92a2a}}
footer{{margin-top:30px;color:var(--muted);font-size:12px}}
"""

SECTIONS = (("summary", "Summary"), ("heatmap", "Partitions"), ("dq", "Data quality"), ("charts", "Jobs"),
            ("quarantine", "Quarantine"), ("history", "Runs"), ("incidents", "Incidents"))

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render(data: ReportData) -> str:
    """The whole page as one string."""
    days = data.days
    span = f"{days[0]} … {days[-1]} ({len(days)} days)" if days else "no days with data"
    nav = "".join(f'<a href="#{key}">{esc(label)}</a>' for key, label in SECTIONS)
    body = [summary_section(data), heatmap_section(data), dq_section(data), charts_section(data),
            quarantine_section(data), history_section(data), incidents_section(data)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>lakemend report — {esc(data.project)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>lakemend report — {esc(data.project)}</h1>"
        f"<p>{esc(span)} · {len(data.heatmap.cells)} tables · generated {esc(data.generated_at)} UTC</p>"
        f"<nav>{nav}</nav></header>" + "".join(body)
        + "<footer>Written by <code>lakemend report</code>. This file is self-contained: it loads nothing when opened."
        "</footer></body></html>\n"
    )
