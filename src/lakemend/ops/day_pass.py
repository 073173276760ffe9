"""``verify``'s read of one published day: one aggregate pass over its files, split over the cores.

The pass proves the day decodes — a hash of every value of every column (``count(c)`` or
``max(c)`` would not: DuckDB answers them from the Parquet statistics) — and counts the rows
breaking a row rule, the masked values that are not masked and the rows holding PII. Only a day
with findings is read again, to name the rules it breaks and the columns and kinds of PII.

An engine reads one Parquet row group on one core, and a day's file is mostly one row group (up
to 1,048,576 rows). So where the engine's sessions each work on their own share of the cores
(DuckDB), a big day's columns are split into groups of about equal work, and each group's pass
runs in its own session, all at once: every value is still read and checked once. One 1M-row day
on 2 cores (the example's ``silver.orders_clean`` / ``gold.customer_orders``): the pass took
0.33 / 0.73 s in one session, 0.25 / 0.52 s split in two; the whole ``verify`` 0.88× / 0.76× the
wall time (12 interleaved pairs). A day read while others are (``verify`` of many days, one per
core) is read in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakemend.build.pii import forbids_pii
from lakemend.engines.base import interrupt_all
from lakemend.ops.workers import in_threads
from lakemend.project.storage import S3Path, is_s3

if TYPE_CHECKING:
    from lakemend.engines.base import Session, ThreadSessions
    from lakemend.lake import Lake
    from lakemend.project.project import TableSpec

SPLIT_ROWS = 200_000
"""A day of fewer rows is read in one pass: opening a second session costs more than it saves."""

REGEX_WEIGHT = 16
"""The work of a regex over every value of a column, in units of reading and hashing the column:
on a 1M-row day of the example, 0.20–0.25 s for the contracts' e-mail and hash patterns, about
0.015 s to read and hash a column."""

PII_WEIGHT = 4
"""A text column's share of the PII patterns, run once per row over the row's text columns joined:
0.36 s for the six of gold's 1M-row day."""

_HASH = "[0-9a-f]{64}"  # what masking's ``hash`` policy writes (a SHA-256 in hex)


@dataclass(frozen=True)
class _Pass:
    """One group's aggregates: check name → SQL aggregate over ``_day``."""

    checks: dict[str, str]

    def sql(self) -> str:
        return f"SELECT {', '.join(self.checks.values())} FROM _day"


def content_problems(lake: Lake, spec: TableSpec, paths: list[str | None], rows: int, side_by_side: int = 1,
                     cores: int = 1, expected_rows: int | None = None, sessions: ThreadSessions | None = None) -> list[str]:
    """Read the day (``rows`` rows in the files at ``paths``): it must decode fully, keep its
    contract's row rules, and (gold) hold no PII; the problems found, in words. ``side_by_side``:
    how many days are read at once (then each is read in one pass); ``cores``: how many a day read
    alone may use (one pass per core); ``expected_rows``: the rows the files must hold in all
    (counted in the same pass; the footers were not read); ``sessions``: the caller's sessions,
    one per thread, for a day read in one pass (else the day opens its own)."""
    local = [p for p in paths if p]
    if not local:
        return []
    parts = _parts(lake, rows, cores) if side_by_side <= 1 else 1
    if sessions is None or parts > 1:
        with lake.engine.session(side_by_side=max(parts, side_by_side)) as con:
            return _read_day(lake, con, spec, local, parts, expected_rows)
    con = sessions.get()
    try:
        problems = _read_day(lake, con, spec, local, parts, expected_rows)
    except BaseException:
        sessions.discard()
        raise
    if problems:  # a damaged file may have left the engine unusable: the thread's next day gets a new session
        sessions.discard()
    else:
        con.execute("DROP VIEW IF EXISTS _day")  # the session's next day binds its own
        con.unregister("_day")
    return problems


def _read_day(lake: Lake, con: Session, spec: TableSpec, local: list[str], parts: int,
              expected_rows: int | None) -> list[str]:
    """:func:`content_problems` in ``con``, the day's passes split in ``parts``."""
    from lakemend.build.pii import check_patterns, text_columns

    try:
        bind = _binder(lake, con, local)
        bind(con)
        columns = [r[0] for r in con.execute("DESCRIBE _day")]
    except Exception as exc:  # noqa: BLE001
        return [f"data unreadable: {str(exc).splitlines()[0]}"]
    pii = spec.model is not None and (bool(spec.model.mask) or forbids_pii(spec))
    text = text_columns(con, "_day", skip=list(spec.model.mask)) if pii and forbids_pii(spec) else []  # type: ignore[union-attr]
    passes = [_pass(spec, group, text, pii) for group in column_groups(_weights(spec, columns, text), parts)]
    if expected_rows is not None:
        passes[0].checks["rows"] = "count(*)"
    try:
        counts = _counts(lake, con, bind, passes, parts)
    except Exception as exc:  # noqa: BLE001
        if pii:
            check_patterns(con, spec)  # a pattern RE2 cannot run is a config error, not damage
        return [f"data unreadable: {str(exc).splitlines()[0]}"]
    if expected_rows is not None and counts["rows"] != expected_rows:
        return [f"{counts['rows']} rows in the day's files, {expected_rows} recorded"]
    problems = []
    if counts["rule"]:
        rule = _rule_sql(spec, set(columns))
        broken = con.execute(f"SELECT {rule} AS r, count(*) FROM _day WHERE {rule} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 3")
        problems += [f"contract: {count} row(s) break '{reason}'" for reason, count in broken]
    if pii:
        problems += _pii_problems(con, spec, counts)
    return problems


def column_groups(weights: dict[str, int], parts: int) -> list[list[str]]:
    """The columns (``weights``: column → its work, in order) in up to ``parts`` groups of about
    equal work: the heaviest column first, each onto the group with the least so far. Each group
    keeps the columns' order; none is empty."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(parts, len(weights))))]
    loads = [0] * len(groups)
    for column in sorted(weights, key=lambda c: -weights[c]):  # sorted is stable: ties keep their order
        lightest = loads.index(min(loads))
        groups[lightest].append(column)
        loads[lightest] += weights[column]
    order = {column: i for i, column in enumerate(weights)}
    return [sorted(group, key=order.__getitem__) for group in groups]


def _parts(lake: Lake, rows: int, cores: int) -> int:
    """How many passes to split the day into: one per core on an engine whose sessions side by
    side each get their share of the cores, for a day big enough to gain from it."""
    return cores if rows >= SPLIT_ROWS and lake.engine.parallel_sessions else 1


def _binder(lake: Lake, con: Session, local: list[str]) -> Callable[[Session], None]:
    """What makes the day's rows ``_day`` in a session: a view over local files (the passes
    stream them, nothing is copied first); S3 objects are read here once, and each session
    scans that Arrow table in place (the engine reads local files)."""
    remote = [S3Path(p, lake.project.s3) for p in local if is_s3(p)]
    if not remote:
        relation = con.parquet_relation(local)

        def view(session: Session) -> None:
            session.execute(f"CREATE OR REPLACE TEMP VIEW _day AS SELECT * FROM {relation}")

        return view
    import pyarrow.parquet as pq

    rows = pq.read_table([r.fs_path for r in remote], filesystem=remote[0].fs, partitioning=None)
    return lambda session: session.register("_day", rows)


def _counts(lake: Lake, con: Session, bind: Callable[[Session], None], passes: list[_Pass], parts: int) -> dict[str, int]:
    """Every pass's aggregates, the passes side by side (the first in ``con``, each other in a
    session of its own), summed by check name."""
    if len(passes) == 1:
        found = [con.execute(passes[0].sql())[0]]
    else:
        found = []
        with ExitStack() as stack:
            sessions = [con] + [stack.enter_context(lake.engine.session(side_by_side=parts)) for _ in passes[1:]]
            for session in sessions[1:]:
                bind(session)
            in_threads(list(zip(sessions, passes, strict=True)), lambda item: item[0].execute(item[1].sql())[0],
                       len(passes), name="lakemend-verify", stop=lambda: interrupt_all(sessions), each=found.append)
    counts: dict[str, int] = {}
    for one, values in zip(passes, found, strict=True):
        for name, value in zip(one.checks, values, strict=True):
            if name != "read":  # the hash only proves the values decode
                counts[name] = counts.get(name, 0) + (value or 0)
    return counts


def _rule_sql(spec: TableSpec, present: set[str]) -> str:
    from lakemend.build.contracts import bronze_rule_sql, row_rule_sql

    assert spec.bronze is not None or spec.layer != "bronze"
    return bronze_rule_sql(spec.bronze, present) if spec.bronze is not None else row_rule_sql(spec.contract, present)


def _weights(spec: TableSpec, columns: list[str], text: list[str]) -> dict[str, int]:
    """Each column's work in the pass: reading and hashing it (1), and the regexes run over its values."""
    patterns = {name for name, col in spec.contract.columns.items() if col.pattern is not None} if spec.contract else set()
    hashed = {c for c, policy in spec.model.mask.items() if policy == "hash" and not _mask_in_contract(spec, c)} if spec.model else set()
    return {c: 1 + REGEX_WEIGHT * ((c in patterns) + (c in hashed)) + PII_WEIGHT * (c in text) for c in columns}


def _pass(spec: TableSpec, group: list[str], text: list[str], pii: bool) -> _Pass:
    """The aggregates over ``group``'s columns: their hash, their row rules, and (``pii``) their masking and PII checks."""
    from lakemend.build.pii import any_pii_sql
    from lakemend.engines.sql import q

    checks = {"read": f"bit_xor(hash({', '.join(map(q, group))}))",
              "rule": f"count_if(({_rule_sql(spec, set(group))}) IS NOT NULL)"}
    if pii:
        checks |= _mask_checks(spec, group)
        own_text = [c for c in text if c in group]
        if own_text:
            checks["pii"] = any_pii_sql(spec, own_text)
    return _Pass(checks)


def _mask_checks(spec: TableSpec, columns: list[str]) -> dict[str, str]:
    """Per masked column among ``columns``: how many of its values are not masked."""
    from lakemend.build.masking import REDACTED
    from lakemend.engines.sql import q

    assert spec.model is not None
    checks = {}
    for column, policy in spec.model.mask.items():
        if column not in columns or _mask_in_contract(spec, column):
            continue
        c = q(column)
        if policy == "hash":
            bad = f"NOT regexp_full_match({c}, '{_HASH}')"
        elif policy == "redact":
            bad = f"{c} <> '{REDACTED}'"
        else:
            bad = f"NOT starts_with({c}, '*')"
        checks[f"mask {column}"] = f"count_if({c} IS NOT NULL AND {bad})"
    return checks


def _mask_in_contract(spec: TableSpec, column: str) -> bool:
    """A hash-masked column whose contract pattern is the hash's own shape: the row rules already
    check every value of it, so the masking check runs only on a day that breaks a rule."""
    contract = spec.contract.columns.get(column) if spec.contract is not None else None
    return (spec.model is not None and spec.model.mask.get(column) == "hash" and contract is not None
            and contract.pattern in (_HASH, f"^{_HASH}$"))


def _pii_problems(con: Session, spec: TableSpec, counts: dict[str, int]) -> list[str]:
    """Masked columns hold masked values; unmasked text holds no PII where the table forbids it
    (from the pass's counts; where and what PII is found is counted in a second pass)."""
    from lakemend.build.pii import count_kinds, text_columns
    from lakemend.engines.sql import q

    assert spec.model is not None
    counts = dict(counts)
    present = {r[0] for r in con.execute("DESCRIBE _day")} if counts.get("rule") else set()
    for column in spec.model.mask:
        if f"mask {column}" not in counts and column in present and _mask_in_contract(spec, column):
            counts[f"mask {column}"] = con.scalar(  # only on a day breaking a rule: else no value can be unmasked
                f"SELECT count(*) FROM _day WHERE {q(column)} IS NOT NULL AND NOT regexp_full_match({q(column)}, '{_HASH}')")
    problems = [f"PII: {counts[f'mask {column}']} value(s) of {column} are not masked ({policy})"
                for column, policy in spec.model.mask.items() if counts.get(f"mask {column}")]
    if counts.get("pii"):
        hits = count_kinds(con, "_day", spec, text_columns(con, "_day", skip=list(spec.model.mask)))
        problems += [f"PII: {h.describe()}" for h in hits]
    return problems
