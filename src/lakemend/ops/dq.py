"""Data-quality checks of published partitions, kept in the state DB for trends.

The contract gates every publish already; ``dq check`` measures the same contract on what is
published *now* — after late edits, rollbacks, manual file surgery or a contract change — and
records every result, passed or not, so the report can show trends. Per day:

- one check per row rule of the contract (``not_null(c)``, ``accepted_values(c)``, ``min(c)``,
  ``max(c)``, ``pattern(c)``; bronze: ``not_null`` of each required field), observed = rows
  breaking it, threshold 0;
- the contract's table checks (``unique``, ``row_count``, ``null_rate``, ``freshness``,
  ``row_count_vs_recent`` against the published days before it);
- ``schema``: the columns and types the contract names.

A day that is not published fails the check ``published``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakemend.project.config import ColumnContract, Contract
from lakemend.state.dq import DqResult, record_results
from lakemend.iceberg.files import partition_counts, recent_counts
from lakemend.state.store import utcnow

if TYPE_CHECKING:
    from lakemend.engines.base import Session as Connection
    from lakemend.engines.base import ThreadSessions
    from lakemend.lake import Lake
    from lakemend.project.project import TableSpec

@dataclass
class DqReport:
    check_run: str
    run_at: dt.datetime
    results: list[DqResult] = field(default_factory=list)

    @property
    def failed(self) -> list[DqResult]:
        return [r for r in self.results if not r.passed]


# ----- running the checks -----------------------------------------------------------------------------


def run_checks(lake: Lake, tables: Sequence[TableSpec], days: Sequence[dt.date]) -> DqReport:
    """Check every (table, day), store all results, and send a ``dq_failed`` notice per failing table.

    Each table is loaded, and its days' files planned, once; the days are read one after another
    in one engine session (a year of one table's days took 16 s, most of it opening a session,
    loading the table and scanning its manifests again for every day).
    """
    from lakemend.engines.base import ThreadSessions
    from lakemend.ops.runner import new_run_id

    report = DqReport(new_run_id(), utcnow())
    with ThreadSessions(lake.engine) as sessions:
        for spec in tables:
            published = _PublishedFiles(lake, spec, days)
            for day in days:
                report.results += check_partition(lake, spec, day, published, sessions)
    record_results(lake.state, report.check_run, report.run_at, report.results)
    notify_failures(lake, report)
    return report


def check_partition(lake: Lake, spec: TableSpec, day: dt.date, published: _PublishedFiles,
                    sessions: ThreadSessions) -> list[DqResult]:
    """All checks of one published day (a single failing ``published`` check if it is not there),
    in the session of ``sessions``; a day that cannot be read closes it (the next day opens another)."""
    from lakemend.build.contracts import schema_problems, table_checks

    problem = published.missing(day)
    if problem is None:
        con = sessions.get()
        problem = published.load(con, day)
        if problem is not None:  # an unreadable file may have left the engine unusable: the next day gets another
            sessions.discard()
    if problem is not None:
        return [DqResult(spec.qualified, day, "published", problem, "a published day", False)]
    try:
        results = row_rule_results(con, spec, day)
        contract = spec.contract
        if contract is not None:
            schema = con.arrow("SELECT * FROM _day LIMIT 0").schema
            problems = schema_problems(contract, schema)
            results.append(DqResult(spec.qualified, day, "schema", len(problems), "0 problems", not problems,
                                    "; ".join(problems) or None))
            recent = []
            if contract.checks.row_count_vs_recent:
                recent = recent_counts(published.counts, day, contract.checks.row_count_vs_recent.days)
            for check in table_checks(con, "_day", contract, day, recent):
                results.append(DqResult(spec.qualified, day, check.name, check.observed, check.threshold, check.passed))
    except BaseException:
        sessions.discard()
        raise
    con.execute("DROP TABLE _day")  # the session's next day loads its own
    con.unregister("_dq_rows")
    return results


class _PublishedFiles:
    """One table's published days for the checks: the table loaded, its row counts, and the files of
    the checked days planned, once (nothing is written while ``dq check`` reads)."""

    def __init__(self, lake: Lake, spec: TableSpec, days: Sequence[dt.date]) -> None:
        from lakemend.iceberg.files import days_filter, local_files_by_day

        self.lake, self.spec = lake, spec
        self.table = lake.table(spec.qualified)
        self.counts = partition_counts(self.table)
        self._files: dict[dt.date, tuple[list[str], int]] | None = {}
        self._planning: Exception | None = None
        if self.table is not None and self.table.current_snapshot() is not None and days:
            try:  # None: delete files, evolved schema or remote storage — pyiceberg reads each day
                self._files = local_files_by_day(self.table, days_filter(days))
            except Exception as exc:  # noqa: BLE001 - missing manifests are every day's finding, not a crash
                self._planning = exc
        self._states: dict[dt.date, dict] | None = None

    def missing(self, day: dt.date) -> str | None:
        """Why the day has nothing to check, known without reading it: the table is not built, or
        its files are planned and the day has none (and was not built empty)."""
        if self.table is None or self.table.current_snapshot() is None:
            return "table not built"
        planned = self._planning is None and self._files is not None
        if planned and not (day in self._files and self._files[day][0]) and not self._built_empty(day):  # type: ignore[operator]
            return "not published"
        return None

    def load(self, con: Connection, day: dt.date) -> str | None:
        """Put the published rows of the day (not :meth:`missing`) into ``_day``; the reason when
        they cannot be read."""
        from lakemend.iceberg.files import day_filter

        table = self.table
        assert table is not None
        try:
            if self._planning is not None:
                raise self._planning
            if self._files is None:  # pyiceberg reads the day
                con.register("_dq_rows", table.scan(row_filter=day_filter(day)).to_arrow())
                con.execute("CREATE TEMP TABLE _day AS SELECT * FROM _dq_rows")
            elif day in self._files and self._files[day][0]:
                con.execute(f"CREATE TEMP TABLE _day AS SELECT * FROM {con.parquet_relation(self._files[day][0])}")
            else:  # built, and empty
                con.register("_dq_rows", table.schema().as_arrow().empty_table())
                con.execute("CREATE TEMP TABLE _day AS SELECT * FROM _dq_rows")
        except Exception as exc:  # noqa: BLE001 - missing or unreadable files are a finding, not a crash
            return f"unreadable: {str(exc).splitlines()[0]}"
        return None

    def _built_empty(self, day: dt.date) -> bool:
        if self._states is None:
            self._states = self.lake.state.partition_states(self.spec.qualified)
        return self._states.get(day, {}).get("rows") == 0


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def row_rules(spec: TableSpec, present: set[str]) -> Iterator[tuple[str, str, str]]:
    """(check, threshold, SQL giving the broken rule's message or NULL), one per row rule.

    Each rule gets its own single-rule contract through ``row_rule_sql``, so the count is of rows
    breaking *that* rule, not of rows whose first broken rule it is.
    """
    from lakemend.build.contracts import bronze_required_rules, row_rule_sql

    if spec.bronze is not None:  # bronze has no contract: its rule is that required fields are present
        for name, sql in bronze_required_rules(spec.bronze, present):
            yield f"not_null({name})", "0 NULL rows", sql
        return
    if spec.contract is None:
        return
    for name, col in spec.contract.columns.items():
        if name not in present:
            continue  # the schema check reports it
        rules: list[tuple[str, str, ColumnContract]] = []
        if not col.nullable:
            rules.append((f"not_null({name})", "0 NULL rows", ColumnContract(nullable=False)))
        if col.accepted_values is not None:
            shown = ", ".join(str(v) for v in col.accepted_values)
            rules.append((f"accepted_values({name})", f"0 rows outside [{shown}]", ColumnContract(accepted_values=col.accepted_values)))
        if col.min is not None:
            rules.append((f"min({name})", f"0 rows < {_plain(col.min)}", ColumnContract(min=col.min)))
        if col.max is not None:
            rules.append((f"max({name})", f"0 rows > {_plain(col.max)}", ColumnContract(max=col.max)))
        if col.pattern is not None:
            rules.append((f"pattern({name})", f"0 rows not matching {col.pattern}", ColumnContract(pattern=col.pattern)))
        for check, threshold, rule in rules:
            yield check, threshold, row_rule_sql(Contract(columns={name: rule}), present)


def row_rule_results(con: Connection, spec: TableSpec, day: dt.date) -> list[DqResult]:
    present = {r[0] for r in con.execute("DESCRIBE _day")}
    rules = list(row_rules(spec, present))
    if not rules:
        return []
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE ({sql}) IS NOT NULL)" for _, _, sql in rules)
                         + " FROM _day")[0]
    results = []
    for (check, threshold, sql), broken in zip(rules, counts, strict=True):
        example = None
        if broken:
            example = "e.g. " + str(con.scalar(f"SELECT {sql} FROM _day WHERE ({sql}) IS NOT NULL LIMIT 1"))
        results.append(DqResult(spec.qualified, day, check, int(broken), threshold, broken == 0, example))
    return results


# ----- notifying ----------------------------------------------------------------------------------------


def notify_failures(lake: Lake, report: DqReport) -> None:
    """One ``dq_failed`` notice per table with a failed check (sinks: notifications, run log)."""
    from lakemend.observe.events import Notice, emit

    by_table: dict[str, list[DqResult]] = {}
    for result in report.failed:
        by_table.setdefault(result.table, []).append(result)
    for table, failed in by_table.items():
        days = sorted({r.day for r in failed})
        shown = ", ".join(str(d) for d in days[:5]) + (f" and {len(days) - 5} more" if len(days) > 5 else "")
        checked = sum(1 for r in report.results if r.table == table)
        lines = [f"{r.day} {r.check}: observed {r.observed}, expected {r.threshold}" for r in failed[:10]]
        emit(lake, Notice(
            kind="dq_failed", title=f"lakemend: DQ failed on {table} {shown}",
            text=f"{len(failed)} of {checked} checks failed:\n" + "\n".join(lines), at=report.run_at,
            details={"table": table, "days": [d.isoformat() for d in days], "check_run": report.check_run,
                     "failed": [{"day": r.day.isoformat(), "check": r.check, "observed": r.observed,
                                 "threshold": r.threshold} for r in failed]},
        ))
