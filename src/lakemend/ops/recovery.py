"""Finding damage from storage truth: gaps, late landing data, and verification of published days.

``gaps`` and ``late`` read Iceberg metadata, the landing listing and file stats — never data
files. ``verify`` reads data files on purpose: it proves each published day is readable and
matches its metadata, its contract and the masking rules.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from lakemend.iceberg.files import files_by_day
from lakemend.lake import Lake
from lakemend.ops.plans import downstream_days
from lakemend.project.project import TableSpec
from lakemend.project.sources import landing_days, landing_files

DayRange = tuple[dt.date, dt.date]


def to_ranges(days: set[dt.date] | list[dt.date]) -> list[DayRange]:
    """Consecutive days folded into inclusive ranges: {1, 2, 3, 5} → [(1, 3), (5, 5)]."""
    ranges: list[DayRange] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def local_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else None


def present_days(lake: Lake, qualified: str) -> set[dt.date]:
    """Days whose published files all exist in storage (a stat, not a read), plus built empty days."""
    files = files_by_day(lake.table(qualified))
    present = {day for day, data_files in files.items() if all(_exists(f.file_path) for f in data_files)}
    for day, state in lake.state.partition_states(qualified).items():
        if day not in files and state["rows"] == 0:
            present.add(day)
    return present


def _exists(uri: str) -> bool:
    path = local_path(uri)
    return True if path is None else os.path.exists(path)


def expected_days(lake: Lake, spec: TableSpec, cache: dict[str, set[dt.date]]) -> set[dt.date]:
    """Bronze: the landing days; silver and gold: the expected days of their `same` inputs."""
    if spec.qualified in cache:
        return cache[spec.qualified]
    if spec.layer == "bronze":
        calendar = lake.project.config.calendar
        days = set(landing_days(lake.project, spec)) if calendar is None else calendar_days(calendar)
    else:
        same = [i for i in spec.inputs if i.mapping == "same"] or list(spec.inputs)
        sets = [expected_days(lake, lake.project.table(i.table), cache) for i in same]
        days = set.intersection(*sets) if sets else set()
    cache[spec.qualified] = days
    return days


def calendar_days(calendar) -> set[dt.date]:  # noqa: ANN001 - config.CalendarConfig
    """Every expected day of a calendar set in lakemend.yaml."""
    end = calendar.end or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    days = set()
    day = calendar.start
    while day <= end:
        if not (calendar.weekdays_only and day.weekday() >= 5):
            days.add(day)
        day += dt.timedelta(days=1)
    return days


@dataclass(frozen=True)
class Gap:
    table: str
    start: dt.date
    end: dt.date


def find_gaps(lake: Lake, tables: list[TableSpec], start: dt.date | None = None, end: dt.date | None = None) -> list[Gap]:
    cache: dict[str, set[dt.date]] = {}
    gaps = []
    for spec in tables:
        missing = expected_days(lake, spec, cache) - present_days(lake, spec.qualified)
        missing = {d for d in missing if (start is None or d >= start) and (end is None or d <= end)}
        gaps += [Gap(spec.qualified, a, b) for a, b in to_ranges(missing)]
    return gaps


@dataclass(frozen=True)
class LateDay:
    table: str
    day: dt.date
    new: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]


def find_stale(lake: Lake) -> dict[str, set[dt.date]]:
    """Built partitions whose inputs or code changed since (what `run` would rebuild), by table."""
    from lakemend.ops.runner import decide

    stale: dict[str, set[dt.date]] = defaultdict(set)
    for spec in lake.project.ordered:
        cache: dict = {}
        for day in sorted(lake.state.partition_states(spec.qualified)):
            decision = decide(lake, spec, day, cache)
            if decision.action == "build":
                stale[spec.qualified].add(day)
    return dict(stale)


def find_late(lake: Lake) -> tuple[list[LateDay], dict[str, set[dt.date]]]:
    """Landing days whose files changed after their bronze build, and the minimal downstream set."""
    from lakemend.ops.runner import bronze_fingerprints

    late = []
    for spec in lake.project.layer_tables("bronze"):
        built = lake.state.partition_states(spec.qualified)
        for day in sorted(built):
            recorded = {p.path: p for p in lake.state.fingerprints(spec.qualified, day)}
            if not landing_files(lake.project, spec, day) and not recorded:
                continue
            current = {p.path: p for p in bronze_fingerprints(lake, spec, day)}
            new = tuple(sorted(set(current) - set(recorded)))
            removed = tuple(sorted(set(recorded) - set(current)))
            changed = tuple(sorted(p for p in set(current) & set(recorded) if current[p].sha256 != recorded[p].sha256))
            if new or removed or changed:
                late.append(LateDay(spec.qualified, day, new, changed, removed))
    targets: dict[str, set[dt.date]] = defaultdict(set)
    for item in late:
        targets[item.table].add(item.day)
    return late, downstream_days(lake, targets) if targets else {}


@dataclass(frozen=True)
class Damage:
    table: str
    day: dt.date | None
    reason: str


def verify(lake: Lake, tables: list[TableSpec], days: list[dt.date] | None = None) -> list[Damage]:
    """Every published day of the tables (or the given days): files, counts, schema, contract, PII."""
    import pyarrow.parquet as pq

    from lakemend.build.contracts import schema_problems

    damage: list[Damage] = []
    for spec in tables:
        table = lake.table(spec.qualified)
        if table is None:
            continue
        problems = schema_problems(spec.contract, table.schema().as_arrow())
        damage += [Damage(spec.qualified, None, f"schema no longer matches the contract: {p}") for p in problems]
        for day, data_files in sorted(files_by_day(table).items()):
            if days is not None and day not in days:
                continue
            reasons = []
            readable = []
            for data_file in data_files:
                path = local_path(data_file.file_path)
                if path is not None and not os.path.exists(path):
                    reasons.append(f"data file missing: {data_file.file_path}")
                    continue
                try:
                    rows = pq.read_metadata(path).num_rows if path else data_file.record_count
                except Exception as exc:  # noqa: BLE001 - any unreadable footer is damage
                    reasons.append(f"data file unreadable ({type(exc).__name__}): {data_file.file_path}")
                    continue
                if rows != data_file.record_count:
                    reasons.append(f"row count {rows} in {data_file.file_path}, metadata says {data_file.record_count}")
                readable.append(path)
            if not reasons:
                reasons += _content_problems(lake, spec, day, readable)
            damage += [Damage(spec.qualified, day, r) for r in reasons]
    return damage


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def _content_problems(lake: Lake, spec: TableSpec, day: dt.date, paths: list[str | None]) -> list[str]:
    """Read the day: it must decode fully, keep its contract's row rules, and (gold) hold no PII."""
    from lakemend.build.contracts import bronze_rule_sql, row_rule_sql

    local = [p for p in paths if p]
    if not local:
        return []
    with lake.engine.session() as con:
        try:
            con.execute(f"CREATE TEMP TABLE _day AS SELECT * FROM {con.parquet_relation(local)}")
        except Exception as exc:  # noqa: BLE001
            return [f"data unreadable: {str(exc).splitlines()[0]}"]
        columns = {r[0] for r in con.execute("DESCRIBE _day")}
        problems = []
        assert spec.bronze is not None or spec.layer != "bronze"
        rule = bronze_rule_sql(spec.bronze) if spec.bronze is not None else row_rule_sql(spec.contract, columns)
        broken = con.execute(f"SELECT {rule} AS r, count(*) FROM _day WHERE {rule} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 3")
        problems += [f"contract: {count} row(s) break '{reason}'" for reason, count in broken]
        if spec.layer == "gold":
            problems += _pii_problems(con, spec, columns)
        return problems


def _pii_problems(con, spec: TableSpec, columns: set[str]) -> list[str]:  # noqa: ANN001
    from lakemend.build.masking import REDACTED
    from lakemend.engines.sql import q

    assert spec.model is not None
    problems = []
    for column, policy in spec.model.mask.items():
        if column not in columns:
            continue
        c = q(column)
        if policy == "hash":
            bad = con.scalar(f"SELECT count(*) FROM _day WHERE {c} IS NOT NULL AND NOT regexp_full_match({c}, '[0-9a-f]{{64}}')")
        elif policy == "redact":
            bad = con.scalar(f"SELECT count(*) FROM _day WHERE {c} IS NOT NULL AND {c} <> '{REDACTED}'")
        else:
            bad = con.scalar(f"SELECT count(*) FROM _day WHERE {c} IS NOT NULL AND NOT starts_with({c}, '*')")
        if bad:
            problems.append(f"PII: {bad} value(s) of {column} are not masked ({policy})")
    described = con.execute("DESCRIBE _day")
    text_columns = [r[0] for r in described if r[1] == "VARCHAR" and r[0] not in spec.model.mask]
    for column in text_columns:
        c = q(column)
        leaked = con.scalar(f"SELECT count(*) FROM _day WHERE regexp_matches({c}, '{_EMAIL.pattern}')")
        if leaked:
            problems.append(f"PII: {leaked} e-mail address(es) in unmasked column {column}")
    return problems
