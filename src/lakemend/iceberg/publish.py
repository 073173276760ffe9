"""Write-audit-publish of days of one Iceberg table.

With lakemend's own writer (pyiceberg; engine ``duckdb``) one commit publishes a whole batch:

1. write: each day's rows become new data files under ``day=YYYY-MM-DD/`` (nothing committed,
   so nothing visible: a reader, or a crash, sees only files no snapshot names);
2. audit: each day's written files are checked against what was meant to be written (row
   count, every file in the day's partition) before any commit — a day that fails is left out;
3. publish (one commit per table and batch): main's current snapshot is tagged ``pre-<run_id>``
   (the restore point, once per run and table) and one OVERWRITE snapshot swaps every audited
   day's files for the new ones. A concurrent commit is retried; readers never see a
   half-published day, and a kill leaves every day old or new.

An engine with its own Iceberg writer (Spark) stages a day on a branch and fast-forwards main
(:func:`publish_day_with`). A run killed between its stage and publish leaves the stage branch
behind; the next publish to the table drops such branches of runs the caller says are over
(``drop_stale``), so they do not wait for ``vacuum``.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from lakemend.errors import AuditFailed, LakemendError, SchemaChangeRefused, SqlError
from lakemend.iceberg.catalog import schema_diff
from lakemend.iceberg.files import day_files, files_key, partition_day
from lakemend.iceberg.summary import ACTION, DAY, DAY_ROWS, DAYS, RUN_ID

if TYPE_CHECKING:
    from lakemend.engines.base import Writer

COMMIT_ATTEMPTS = 16
FAST_FORWARD_ATTEMPTS = 3
STAGE_PREFIX = "stage-"


@dataclass(frozen=True)
class PublishResult:
    snapshot_before: int | None
    snapshot_after: int | None
    files: tuple[str, ...]
    rows: int

    @property
    def files_key(self) -> str:
        return files_key(self.files)


def restore_tag(run_id: str) -> str:
    return f"pre-{run_id}"


def conform(table, rows: pa.Table, day: dt.date) -> pa.Table:  # noqa: ANN001 - pyiceberg Table
    """Rows in the table's column order and types; every row must belong to ``day``.

    The rows must carry exactly the table's columns, each of its type or of a narrower one that
    casts losslessly (an int into a long column): a column is never filled with NULL, dropped or
    cast into another type here. Schema changes are made before, as a plan
    (:func:`lakemend.iceberg.catalog.evolve_schema`); what was not planned is refused.
    """
    if rows.num_rows:
        days = pc.unique(rows.column("day")).to_pylist()
        if days != [day]:
            raise AuditFailed(f"rows for {days} in a publish of {day}", "this is a bug: a model cannot write other days")
    qualified = ".".join(table.name())
    change = schema_diff(qualified, table.schema(), rows.schema)
    if not change.empty:
        raise SchemaChangeRefused(
            f"{qualified}: the rows for {day} do not fit the table's schema ({change.describe()}); nothing was written",
            "the job evolves the schema before publishing: pass --allow-schema-change for removed or renamed "
            "columns, keep the column types",
        )
    target = table.schema().as_arrow()
    fields = [field.with_type(_written_type(rows.schema.field(field.name).type, field.type)) for field in target]
    columns = [rows.column(field.name).cast(field.type) for field in fields]  # a cast to the same type copies nothing
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=target.metadata))


_SMALL_TWIN = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}


def _written_type(have: pa.DataType, want: pa.DataType) -> pa.DataType:
    """The Arrow type a column is written in: the table's (pyiceberg reads strings as
    ``large_string``), or the rows' own when it is that type with 32-bit offsets — the values and
    the Parquet written are the same, and a cast would rewrite every offset of the day."""
    return have if _SMALL_TWIN.get(want) == have else want


def stage_branch(run_id: str, day: dt.date) -> str:
    return f"{STAGE_PREFIX}{run_id}-{day:%Y%m%d}"


def stage_run_id(branch: str) -> str | None:
    """The run id in a ``stage-<run_id>-<YYYYMMDD>`` branch name (None: not a stage branch)."""
    if not branch.startswith(STAGE_PREFIX):
        return None
    run_id, _, day = branch[len(STAGE_PREFIX):].rpartition("-")
    return run_id if run_id and len(day) == 8 and day.isdigit() else None


def publish_day(table, rows: pa.Table, day: dt.date, run_id: str, *,  # noqa: ANN001
                drop_stale: Callable[[str], bool] | None = None, writer: Writer | None = None) -> PublishResult:
    """Write ``rows`` as the new content of ``day``, audit the files, publish them in one commit.

    ``drop_stale(other_run_id)``: whether the stage branches another run left on this table may
    be dropped first (the caller knows which runs are over; see ``drop_stale_branches``).
    ``writer``: the engine's own Iceberg writer (Spark; see :func:`publish_day_with`), else pyiceberg.
    """
    if writer is not None:
        return publish_day_with(writer, table, rows, day, run_id, drop_stale=drop_stale)
    rows = conform(table, rows, day)
    staged = stage_day(table, rows, day)
    return publish_days(table, [staged], run_id, drop_stale=drop_stale)[day]


@dataclass(frozen=True)
class StagedDay:
    """One day's new data files, written and audited, not yet committed (invisible to readers)."""

    day: dt.date
    files: tuple  # pyiceberg DataFiles
    rows: int


def stage_day(table, rows: pa.Table, day: dt.date) -> StagedDay:  # noqa: ANN001
    """Write one day's conformed rows as data files and audit them (nothing is committed).

    A day that fails the audit raises :class:`AuditFailed`; its files stay unreferenced (vacuum
    removes them) and nothing of it is ever visible.
    """
    files = write_day_files(table, rows, day)
    _audit(files, rows.num_rows, day, "the written files")
    return StagedDay(day, tuple(files), rows.num_rows)


def publish_days(table, staged: list[StagedDay], run_id: str, *,  # noqa: ANN001
                 drop_stale: Callable[[str], bool] | None = None) -> dict[dt.date, PublishResult]:
    """Publish audited days in ONE commit: the restore-point tag (once per run and table) and one
    OVERWRITE snapshot replacing every data file of those days with their staged files.

    The snapshot's summary carries the run id, the days and each day's rows before and after
    (``lakemend.day-rows``: JSON ``{day: [before, after]}``), since the summary's own record
    counts are totals over all the days.
    """
    import json

    from pyiceberg.expressions import In

    from lakemend.iceberg.transaction import transaction

    if not staged:
        return {}
    table.refresh()
    if drop_stale is not None:
        drop_stale_branches(table, lambda other: other != run_id and drop_stale(other))
    days = sorted(s.day for s in staged)
    tag = restore_tag(run_id)
    seen: dict[str, object] = {}

    def commit() -> None:
        before = table.current_snapshot()
        assert before is not None, "tables are created with an empty first snapshot"
        old = [task.file for task in table.scan(row_filter=In("day", {d.isoformat() for d in days})).plan_files()]
        old_rows: dict[dt.date, int] = {d: 0 for d in days}
        for data_file in old:
            old_rows[partition_day(data_file.partition[0])] += data_file.record_count
        properties = {RUN_ID: run_id, DAY_ROWS: json.dumps(
            {s.day.isoformat(): [old_rows[s.day], s.rows] for s in staged}, separators=(",", ":"))}
        if len(days) == 1:
            properties[DAY] = days[0].isoformat()
        else:
            properties[DAYS] = f"{days[0].isoformat()}..{days[-1].isoformat()}"
        with transaction(table) as tx:
            _swap_in(tx, table, old, [f for day in staged for f in day.files], tag, properties)
        seen["before"] = before.snapshot_id

    _with_retries(table, commit)
    after = table.current_snapshot()
    return {s.day: PublishResult(seen["before"], after.snapshot_id if after else None,  # type: ignore[arg-type]
                                 tuple(f.file_path for f in s.files), s.rows) for s in staged}


class PublishConflict(LakemendError):
    """Main moved while a day was staged, every time it was tried: nothing was published."""


def publish_day_with(writer: Writer, table, rows: pa.Table, day: dt.date, run_id: str, *,  # noqa: ANN001
                     drop_stale: Callable[[str], bool] | None = None) -> PublishResult:
    """Write-audit-publish through the engine's own writer (Spark): the same steps with Iceberg SQL.

    1. stage: ``ALTER TABLE … CREATE BRANCH stage-<run>-<day>`` at main's snapshot, then the day
       overwritten on the branch (one commit; main untouched);
    2. audit on the branch: the day holds exactly the rows meant, all in the day's partition, in
       new files;
    3. restore point ``ALTER TABLE … CREATE TAG pre-<run_id>`` at the snapshot the stage forked
       from (once per run and table), then ``CALL <catalog>.system.fast_forward(table, 'main',
       branch)``: main becomes the audited snapshot itself. Iceberg refuses the fast-forward when
       main moved meanwhile (another day committed); the day is then staged again on the new main,
       up to :data:`FAST_FORWARD_ATTEMPTS` times, and after that refused as a :class:`PublishConflict`.

    Parallel days of one table within this process take turns (one table lock around the three
    steps), so only other processes can move main under a stage.
    """
    rows = conform(table, rows, day)
    qualified = ".".join(table.name()[-2:])
    ident = writer.identifier(qualified)
    branch = stage_branch(run_id, day)
    tag = restore_tag(run_id)
    properties = {RUN_ID: run_id, DAY: day.isoformat()}
    table.refresh()
    if drop_stale is not None:
        drop_stale_branches(table, lambda other: other != run_id and drop_stale(other))
    with _table_lock(table):
        for attempt in range(FAST_FORWARD_ATTEMPTS):
            table.refresh()
            before = table.current_snapshot()
            assert before is not None, "tables are created with an empty first snapshot"
            if branch in table.metadata.refs:  # a crashed attempt, or the last one lost the race
                writer.sql(f"ALTER TABLE {ident} DROP BRANCH IF EXISTS `{branch}`")
            writer.sql(f"ALTER TABLE {ident} CREATE BRANCH `{branch}` AS OF VERSION {before.snapshot_id}")
            try:
                writer.overwrite_day(qualified, branch, rows, day, properties)
                table.refresh()
                staged = table.metadata.snapshot_by_name(branch)
                assert staged is not None
                published = {f.file_path for f in day_files(table, day, before.snapshot_id)}
                staged_files = [f for f in day_files(table, day, staged.snapshot_id) if f.file_path not in published]
                _audit(staged_files, rows.num_rows, day, f"branch {branch}")
                if any(f.file_path in published for f in day_files(table, day, staged.snapshot_id)):
                    raise AuditFailed(f"branch {branch} still holds files of the published {day}", "main is untouched; rerun")
                if tag not in table.metadata.refs:  # once per run and table
                    writer.sql(f"ALTER TABLE {ident} CREATE TAG IF NOT EXISTS `{tag}` AS OF VERSION {before.snapshot_id}")
                writer.sql(f"CALL `{writer.catalog}`.system.fast_forward('{qualified}', 'main', '{branch}')")
            except SqlError as exc:
                _drop_branch(table, branch)
                if "Cannot fast-forward" not in str(exc):
                    raise
                if attempt == FAST_FORWARD_ATTEMPTS - 1:
                    raise PublishConflict(
                        f"{qualified} {day}: main moved while the day was staged ({attempt + 1} tries); nothing was published",
                        "another writer is committing to this table: rerun the job when it is done",
                    ) from None
                continue
            except BaseException:
                _drop_branch(table, branch)
                raise
            _drop_branch(table, branch)
            table.refresh()
            after = table.current_snapshot()
            return PublishResult(before.snapshot_id, after.snapshot_id if after else None,
                                 tuple(f.file_path for f in staged_files), rows.num_rows)
    raise AssertionError("unreachable")


def _swap_in(tx, table, old: list, new: list, tag: str, properties: dict[str, str]) -> None:  # noqa: ANN001
    """Within ``tx``: tag main's current snapshot (the restore point, once per run and table), then
    one OVERWRITE snapshot that removes the data files ``old`` and adds ``new``."""
    from pyiceberg.table.update.snapshot import ManageSnapshots

    from lakemend.iceberg.transaction import overwrite

    if tag not in table.metadata.refs:
        ManageSnapshots(tx).create_tag(table.current_snapshot().snapshot_id, tag).commit()
    with overwrite(tx, table, properties) as swap:
        for data_file in old:
            swap.delete_data_file(data_file)
        for data_file in new:
            swap.append_data_file(data_file)


def replace_day_files(table, day: dt.date, files: list, run_id: str, action: str) -> PublishResult:  # noqa: ANN001
    """Publish existing data files (e.g. a restore point's) as the day's content, or none at all.

    Used by rollback of one day (the target snapshot's files are reused, not rewritten) and by
    quarantine (no files: the day leaves the table; its rows stay reachable through the tag).
    """
    from lakemend.iceberg.transaction import transaction

    table.refresh()
    before = table.current_snapshot()
    properties = {RUN_ID: run_id, DAY: day.isoformat(), ACTION: action}

    def commit() -> None:
        with transaction(table) as tx:
            _swap_in(tx, table, day_files(table, day), files, restore_tag(run_id), properties)

    _with_retries(table, commit)
    after = table.current_snapshot()
    return PublishResult(before.snapshot_id if before else None, after.snapshot_id if after else None,
                         tuple(f.file_path for f in files), sum(f.record_count for f in files))


def write_day_files(table, rows: pa.Table, day: dt.date) -> list:  # noqa: ANN001
    """Write one day's rows as Iceberg data files under ``day=YYYY-MM-DD/`` (nothing committed).

    pyiceberg's own append would split the rows by partition again (a group-by and a copy of
    the whole day); ``conform`` already proved every row belongs to ``day``.
    """
    import uuid

    from pyiceberg.io.pyarrow import bin_pack_arrow_table, pyarrow_to_schema, write_file
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
    from pyiceberg.table import TableProperties, WriteTask
    from pyiceberg.utils.properties import property_as_int

    if rows.num_rows == 0:
        return []
    metadata = table.metadata
    spec = metadata.spec()
    key = PartitionKey(field_values=[PartitionFieldValue(spec.fields[0], day)], partition_spec=spec, schema=metadata.schema())
    schema = pyarrow_to_schema(rows.schema, name_mapping=metadata.schema().name_mapping, format_version=metadata.format_version)
    target = property_as_int(metadata.properties, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
                             TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT)
    write_uuid = uuid.uuid4()
    tasks = (
        WriteTask(write_uuid=write_uuid, task_id=index, record_batches=batches, schema=schema, partition_key=key)
        for index, batches in enumerate(bin_pack_arrow_table(rows, target))
    )
    return list(write_file(table.io, metadata, tasks))


_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _table_lock(table) -> threading.RLock:  # noqa: ANN001
    """One commit at a time per table within this process (parallel days of one table)."""
    key = ".".join(table.name())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


def _with_retries(table, commit) -> None:  # noqa: ANN001
    """Run a commit, reloading and redoing it when another writer committed first.

    Commits of other days (other threads or processes) make ours stale: pyiceberg reports that
    as CommitFailedException, as a ValidationException of its overwrite conflict check, or as a
    ValueError about sequence numbers when two commits raced on the same metadata version.
    Each retry recomputes what it swaps from the refreshed table.
    """
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    lock = _table_lock(table)
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            # threads of one process take turns; whoever waited reloads first, since the
            # holder has just committed. Other processes are handled by the retries below.
            if not lock.acquire(blocking=False):
                lock.acquire()
                table.refresh()
            try:
                commit()
            finally:
                lock.release()
            return
        except (CommitFailedException, ValidationException, ValueError) as exc:
            if isinstance(exc, ValueError) and "sequence number" not in str(exc):
                raise
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.05, 0.25) * min(attempt + 1, 6))  # jittered: a commit takes ~0.1-0.3 s
            table.refresh()


def _audit(staged_files: list, expected_rows: int, day: dt.date, where: str) -> None:
    """``where``: what holds the files, as a sentence's subject — "branch stage-…" (Spark) or "the
    written files" (pyiceberg)."""
    staged_rows = sum(f.record_count for f in staged_files)
    if staged_rows != expected_rows:
        raise AuditFailed(f"{where}: {staged_rows} rows for {day}, expected {expected_rows}",
                          "main is untouched; rerun the job")
    for data_file in staged_files:
        if partition_day(data_file.partition[0]) != day:
            raise AuditFailed(f"staged file {data_file.file_path} is in partition {data_file.partition}", "main is untouched; rerun")


def drop_stale_branches(table, may_drop: Callable[[str], bool]) -> tuple[str, ...]:  # noqa: ANN001
    """Drop the stage branches whose run ``may_drop`` allows, in one commit; returns their names.

    Best effort: a branch that moved meanwhile is kept, and a commit that keeps failing is left
    to the next publish or to ``vacuum`` (a stage branch never changes main).
    """
    from pyiceberg.table.update.snapshot import ManageSnapshots

    from lakemend.iceberg.transaction import transaction

    def doomed() -> dict[str, int]:
        refs = table.metadata.refs
        return {name: ref.snapshot_id for name, ref in refs.items()
                if (other := stage_run_id(name)) is not None and may_drop(other)}

    planned = doomed()
    if not planned:
        return ()
    dropped: list[str] = []

    def commit() -> None:
        refs = table.metadata.refs
        names = [n for n, snapshot_id in planned.items() if n in refs and refs[n].snapshot_id == snapshot_id]
        dropped[:] = names
        if names:
            with transaction(table) as tx:
                manage = ManageSnapshots(tx)
                for name in names:
                    manage.remove_branch(name)
                manage.commit()

    try:
        _with_retries(table, commit)
    except Exception:  # noqa: BLE001 - harmless to keep; the next publish or vacuum retries
        return ()
    return tuple(dropped)


def _drop_branch(table, branch: str) -> None:  # noqa: ANN001
    try:
        table.refresh()
        if branch in table.metadata.refs:
            table.manage_snapshots().remove_branch(branch).commit()
    except Exception:  # noqa: BLE001 - a leftover stage branch is harmless; vacuum removes it
        pass
