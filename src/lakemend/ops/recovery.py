"""Finding damage from storage truth: gaps, late landing data, and verification of published days.

``gaps`` and ``late`` read the state DB's partition records where the table's snapshot history
proves them current (else Iceberg manifests), the landing listing and one listing of each table's
day folders — never data files. ``gaps`` lists the landing zone only down to the day folders where
the pattern allows, and globs just the days that are not present (:class:`ExpectedDays`);
``status`` asks day by day what its cells need (:class:`PresentDays`, :func:`upstream_scope`).
``verify`` (``ops.verify``) is the one that reads data files.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakemend.dates import to_ranges
from lakemend.iceberg.files import EMPTY_FILES_KEY, files_by_day, files_key, files_of_days
from lakemend.lake import Lake
from lakemend.ops.plans import downstream_days
from lakemend.ops.reads import DayFolders, LakeReads, LocalDayFiles, one_day_folder
from lakemend.project.project import TableSpec
from lakemend.project.sources import landing_day_candidates, landing_days, landing_entries
from lakemend.project.storage import is_s3, listed_objects, object_exists, s3_uri

if TYPE_CHECKING:
    from pyiceberg.table import Table



def present_days(lake: Lake, qualified: str, reads: LakeReads | None = None) -> set[dt.date]:
    """Days whose published files all exist in storage (never a data read), plus built empty days.

    When the state DB's records provably are the table's current snapshot (``Lake.recorded_partitions``:
    lakemend made every commit since and recorded it) the days' files come from them, checked
    against ONE listing of the table's ``day=YYYY-MM-DD/`` folders; otherwise from the manifests,
    each file checked by a stat (or one S3 listing). Both give the same days. ``reads``: what
    this command has read of the lake already.
    """
    reads = reads or LakeReads(lake)
    records = reads.records(qualified)
    if records is not None:
        return _present_from_records(records, reads.data_root(qualified), lambda: reads.day_folders(qualified),
                                     lambda: reads.table(qualified), reads.local_day_files(qualified))
    return present_days_from_manifests(lake, qualified, reads.partition_states(qualified))


LISTED_FROM = 64
"""Asked about more days of a table than this, the whole table is listed at once (its landing zone,
``landing_listing``; its day folders, ``present_days``); fewer, each day's own folder or glob."""


@dataclass
class PresentDays:
    """:func:`present_days`, asked one day at a time where that lists less: ``status`` showing a few
    days of a long table lists just those days' folders.

    :meth:`candidates` is a superset of a table's present days (its records' days, when they hold
    for the current snapshot), :meth:`holds` the exact answer for one day — from a listing of that
    day's folder, as :func:`present_days` settles it from the listing of every folder. A table whose
    records do not hold, an S3 table, or one asked about more than ``LISTED_FROM`` days is answered
    from :func:`present_days` itself.
    """

    lake: Lake
    reads: LakeReads
    _full: dict[str, set[dt.date]] = field(default_factory=dict)
    _held: dict[tuple[str, dt.date], bool] = field(default_factory=dict)
    _asked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _roots: dict[str, str | None] = field(default_factory=dict)
    """Table → its local data root when its days are answered one by one, else None."""

    def candidates(self, qualified: str) -> set[dt.date]:
        records = self.reads.records(qualified)
        return self.full(qualified) if records is None else set(records)

    def full(self, qualified: str) -> set[dt.date]:
        if qualified not in self._full:
            self._full[qualified] = present_days(self.lake, qualified, self.reads)
        return self._full[qualified]

    def holds(self, qualified: str, day: dt.date) -> bool:
        """Whether the day is present (``day in present_days(...)``)."""
        full = self._full.get(qualified)
        if full is not None:
            return day in full
        records = self.reads.records(qualified)
        if qualified not in self._roots:  # day by day: records that hold, in local folders
            root = None if records is None else self.reads.data_root(qualified)
            self._roots[qualified] = None if root is None or s3_uri(root) is not None else root
        root = self._roots[qualified]
        if root is None or records is None:
            return day in self.full(qualified)
        if day not in records:
            return False
        key = (qualified, day)
        if key not in self._held:
            self._asked[qualified] += 1
            if self._asked[qualified] > LISTED_FROM:
                return day in self.full(qualified)
            self._held[key] = day in _present_from_records({day: records[day]}, root,
                                                           lambda: one_day_folder(root, day),
                                                           lambda: self.reads.table(qualified),
                                                           LocalDayFiles.under(root, whole=False))
        return self._held[key]


def present_days_from_manifests(lake: Lake, qualified: str, states: dict[dt.date, dict] | None = None) -> set[dt.date]:
    """``present_days`` from the manifests of the current snapshot (what it falls back to)."""
    table = lake.table(qualified)
    files = files_by_day(table)
    listed = listed_objects(table.location(), lake.project.s3) if table is not None and is_s3(table.location()) else None
    present = {day for day, data_files in files.items() if all(object_exists(f.file_path, listed) for f in data_files)}
    for day, state in (lake.state_reader.partition_states(qualified) if states is None else states).items():
        if day not in files and state["rows"] == 0:
            present.add(day)
    return present


def _present_from_records(records: dict[dt.date, dict], root: str, folders: Callable[[], DayFolders],
                          table: Callable[[], Table | None], local: LocalDayFiles | None = None) -> set[dt.date]:
    """``present_days`` from records that hold for the current snapshot, against one listing of
    the day folders under ``root`` (where the table writes its data files; ``folders``: that
    listing; ``table``: loads the table for reading the manifests of the days the listing does
    not settle).

    Where the record holds the day's file paths (``files``) and they all lie in its folder, the
    day is present when every one of them is listed there, and missing otherwise. Else (records
    made before lakemend kept the paths) a day is present when a set of files listed in its
    folder has the recorded files key: all of them (a day written once), or those of one write
    (the files' shared write id — a day rebuilt before ``vacuum`` removed its old files). A day
    neither settles (no candidate matches: a deleted file; files not under
    ``<data path>/day=…/``) has its files read from the manifests, for those days alone.

    ``local``: the root is a local folder, so a day whose recorded paths all lie in its folder is
    settled by looking at those files alone (:class:`LocalDayFiles`); ``folders`` is listed only
    for the days that leaves (records without paths).
    """
    present = {day for day, r in records.items() if r["files_key"] == EMPTY_FILES_KEY and r["rows"] == 0}
    wanted = {day: r for day, r in records.items() if r["files_key"] != EMPTY_FILES_KEY}
    if not wanted:
        return present
    listing: DayFolders | None = None
    unresolved = []
    for day, record in wanted.items():
        prefix = f"{root}/day={day.isoformat()}/"
        recorded = _names_in_folder(prefix, record.get("files"))
        if local is not None and recorded is not None:
            settled: bool | None = local.hold(day, recorded)
        else:
            listing = folders() if listing is None else listing
            names = listing.get(day) or []
            settled = None if recorded is None else set(recorded) <= set(names)
            if settled is None:
                settled = True if names and _listed_match(prefix, names, record["files_key"]) else None
        if settled:
            present.add(day)
        elif settled is None:
            unresolved.append(day)
    if unresolved:
        listed = None  # local files are checked one by one (``object_exists``); S3 objects against the listing
        if s3_uri(root) is not None:
            listing = folders() if listing is None else listing
            listed = {s3_uri(f"{root}/day={day.isoformat()}/{n}") for day, names in listing.items() for n in names}
        for day, data_files in files_of_days(table(), unresolved).items():
            if data_files and all(object_exists(f.file_path, listed) for f in data_files):
                present.add(day)
    return present


def _names_in_folder(prefix: str, files: tuple[str, ...] | None) -> list[str] | None:
    """The names of a day's recorded files in its folder (``prefix``); None when the folder does not
    settle the day: no paths recorded, or one not directly in the folder."""
    if not files or not all(path.startswith(prefix) and "/" not in path[len(prefix):] for path in files):
        return None
    return [path[len(prefix):] for path in files]


_WRITE_ID = re.compile(r"^\d+-\d+-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _listed_match(prefix: str, names: list[str], key: str) -> bool:
    """Whether some candidate set of a day folder's files has the files key ``key``."""
    visible = [n for n in names if not n.startswith(".")]
    if files_key(prefix + n for n in visible) == key:
        return True
    groups: dict[str, list[str]] = defaultdict(list)
    for name in visible:
        match = _WRITE_ID.match(name)
        groups[match.group(1) if match else name].append(name)
    return len(groups) > 1 and any(files_key(prefix + n for n in group) == key for group in groups.values())


def expected_days(lake: Lake, spec: TableSpec, cache: dict[str, set[dt.date]],
                  reads: LakeReads | None = None) -> set[dt.date]:
    """Bronze: the landing days; silver and gold: the expected days of their `same` inputs
    (``reads``: the landing listings this command made already)."""
    if spec.qualified in cache:
        return cache[spec.qualified]
    if spec.layer == "bronze":
        calendar = lake.project.config.calendar
        if calendar is not None:
            days = calendar_days(calendar)
        else:
            listing = (reads or LakeReads(lake)).landing_listing(spec)
            days = set(listing) if listing is not None else set(landing_days(lake.project, spec))
    else:
        sets = [expected_days(lake, source, cache, reads) for source in _day_inputs(lake, spec)]
        days = set.intersection(*sets) if sets else set()
    cache[spec.qualified] = days
    return days


def _day_inputs(lake: Lake, spec: TableSpec) -> list[TableSpec]:
    """The inputs whose expected days a silver or gold table expects: its ``same`` inputs, else all."""
    same = [i for i in spec.inputs if i.mapping == "same"] or list(spec.inputs)
    return [lake.project.table(i.table) for i in same]


@dataclass
class ExpectedDays:
    """:func:`expected_days`, asked one day at a time where that lists less: ``gaps`` only needs to
    know which of the days that are not present are expected.

    :meth:`candidates` is a superset of a table's expected days and :meth:`holds` the exact answer
    for one day. A bronze table whose landing pattern has its date in a folder
    (``shop/orders/{date}/*.csv``) takes its candidates from one listing of the folder holding the
    day folders (``sources.landing_day_candidates``), and a candidate holds when its own glob finds a
    file; with a calendar, a landing listing this command read already, or another pattern, the
    candidates are :func:`expected_days` itself. Above bronze, as :func:`expected_days`: the days
    every input expects.
    """

    lake: Lake
    reads: LakeReads
    _candidates: dict[str, set[dt.date]] = field(default_factory=dict)
    _exact: dict[str, bool] = field(default_factory=dict)
    _held: dict[tuple[str, dt.date], bool] = field(default_factory=dict)

    def candidates(self, spec: TableSpec) -> set[dt.date]:
        if spec.qualified not in self._candidates:
            days, exact = self._superset(spec)
            self._candidates[spec.qualified], self._exact[spec.qualified] = days, exact
        return self._candidates[spec.qualified]

    def holds(self, spec: TableSpec, day: dt.date) -> bool:
        """Whether the table is expected to have ``day`` (``day in expected_days(...)``)."""
        if day not in self.candidates(spec):
            return False
        if self._exact[spec.qualified]:
            return True
        key = (spec.qualified, day)
        if key not in self._held:
            if spec.layer == "bronze":
                self._held[key] = bool(landing_entries(self.lake.project, spec, day))
            else:
                self._held[key] = all(self.holds(source, day) for source in _day_inputs(self.lake, spec))
        return self._held[key]

    def _superset(self, spec: TableSpec) -> tuple[set[dt.date], bool]:
        """The table's candidate days, and whether they are exactly its expected days."""
        if spec.layer != "bronze":
            sources = _day_inputs(self.lake, spec)
            sets = [self.candidates(source) for source in sources]
            return (set.intersection(*sets) if sets else set()), all(self._exact[s.qualified] for s in sources)
        if self.lake.project.config.calendar is None and spec.qualified not in self.reads.landing:
            days = landing_day_candidates(self.lake.project, spec)
            if days is not None:
                return days, False
        return expected_days(self.lake, spec, {}, self.reads), True


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
    """Each table's expected days that are not present (between ``start`` and ``end``), as ranges."""
    reads = LakeReads(lake)
    expected = ExpectedDays(lake, reads)
    gaps = []
    for spec in tables:
        absent = expected.candidates(spec) - present_days(lake, spec.qualified, reads)
        missing = {d for d in absent if (start is None or d >= start) and (end is None or d <= end)
                   and expected.holds(spec, d)}
        gaps += [Gap(spec.qualified, a, b) for a, b in to_ranges(missing)]
    return gaps


@dataclass(frozen=True)
class LateDay:
    table: str
    day: dt.date
    new: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]


def _late_day(lake: Lake, spec: TableSpec, day: dt.date, listed: list | None = None) -> LateDay | None:
    """The day's landing files against the fingerprints its bronze build recorded, or None if the same
    (``listed``: the day's landing files, ``sources.ListedFile``, when the caller listed them already)."""
    from lakemend.ops.runner import bronze_fingerprints

    if listed is None:
        listed = landing_entries(lake.project, spec, day)
    recorded = {p.path: p for p in lake.state_reader.fingerprints(spec.qualified, day)}
    if not recorded and not listed:
        return None
    current = {p.path: p for p in bronze_fingerprints(lake, spec, day, listed=listed)}
    new = tuple(sorted(set(current) - set(recorded)))
    removed = tuple(sorted(set(recorded) - set(current)))
    changed = tuple(sorted(p for p in set(current) & set(recorded) if current[p].sha256 != recorded[p].sha256))
    return LateDay(spec.qualified, day, new, changed, removed) if new or removed or changed else None


def upstream_scope(lake: Lake, cells: dict[str, set[dt.date]], reads: LakeReads | None = None) -> dict[str, set[dt.date]]:
    """The partitions whose staleness can reach ``cells`` (table → days): the cells themselves and,
    transitively through the partition mappings, every built input day they read (an ``upto``
    input: all its days up to the latest day asked). What ``find_stale`` scans for ``status``."""
    reads = reads or LakeReads(lake)
    scope = {table: set(days) for table, days in cells.items()}
    for spec in reversed(lake.project.ordered):  # dependants first: their inputs' scope is complete when reached
        days = scope.get(spec.qualified)
        if not days:
            continue
        for inp in spec.inputs:
            windows = _merged([inp.window(day) for day in days])
            starts = [first for first, _ in windows]
            read = scope.setdefault(inp.table, set())
            for day in reads.built_days(inp.table):
                index = bisect.bisect_right(starts, day) - 1
                if index >= 0 and day <= windows[index][1]:
                    read.add(day)
    return scope


def _merged(windows: list[tuple[dt.date | None, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """Inclusive day ranges (a start of None: from the beginning) merged into sorted, disjoint ones."""
    merged: list[tuple[dt.date, dt.date]] = []
    for first, last in sorted(((first or dt.date.min), last) for first, last in windows):
        if merged and first <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _scan_stale(lake: Lake, reads: LakeReads | None = None,
                scope: dict[str, set[dt.date]] | None = None) -> tuple[list[LateDay], dict[str, set[dt.date]]]:
    """The late landing days and every stale partition, in one pass (see ``find_stale``); ``scope``:
    only these days of these tables (``upstream_scope`` of what is asked), else every built day."""
    from lakemend.ops.runner import decide

    reads = reads or LakeReads(lake)
    marks = lake.state_reader.marks()
    built: dict[str, set[dt.date]] = {}
    direct: dict[str, set[dt.date]] = defaultdict(set)
    late: list[LateDay] = []
    for spec in lake.project.ordered:
        states = reads.partition_states(spec.qualified)
        built[spec.qualified] = reads.built_days(spec.qualified)
        days = built[spec.qualified] if scope is None else built[spec.qualified] & scope.get(spec.qualified, set())
        listed = reads.landing if len(days) > LISTED_FROM or spec.qualified in reads.landing else None
        for day in sorted(days):
            decision = decide(lake, spec, day, reads.published, states_cache=reads.states, prints_cache=reads.prints,
                              landing_cache=listed)
            if decision.action == "build" or marks.get((spec.qualified, day), {}).get("mark") == "stale":
                direct[spec.qualified].add(day)
            # landing files that match the recorded input key are the recorded ones: only the others can be late
            if spec.layer == "bronze" and decision.action != "up-to-date" and day in states:
                listing = None if listed is None else listed.get(spec.qualified)
                item = _late_day(lake, spec, day, None if listing is None else listing.get(day, []))
                if item is not None:
                    late.append(item)
                    direct[spec.qualified].add(day)
    stale = {table: set(days) for table, days in direct.items() if days}
    for table, days in (downstream_days(lake, stale) if stale else {}).items():
        days = days & built.get(table, set())
        if days:
            stale[table] = stale.get(table, set()) | days
    return late, stale


def find_stale(lake: Lake, reads: LakeReads | None = None,
               scope: dict[str, set[dt.date]] | None = None) -> dict[str, set[dt.date]]:
    """**The** stale partitions of the lake, by table — from storage truth, never from what a command planned.

    `status` (its stale cells), `late` (its partitions to rebuild), `repair --late` and
    `repair --stale` all come from this one scan, so they agree by construction, and a rerun
    after a killed repair finds everything the killed attempt left behind.

    A built (recorded or published) partition is stale when

    * it must be built although it was built before (``runner.decide``): its recorded input key
      differs from what its inputs are now — landing fingerprints for bronze, the input days'
      files keys (their snapshots' files) and the code for silver and gold — or its published
      files are not the ones its build recorded (published by a build killed before recording it,
      or changed outside lakemend);
    * its landing files changed since its bronze build (``late``; also a day whose files were all
      removed, which cannot be rebuilt: the repair stops and names the expected path);
    * quarantine or rollback marked it stale and it was not rebuilt since; or
    * it reads a stale partition (transitively, through the partition mappings): rebuilding that
      one changes its input.

    ``scope`` (``status``, which shows some days): only these days are scanned; for the
    ``upstream_scope`` of some partitions, their staleness is exactly what the whole scan finds.
    """
    return _scan_stale(lake, reads, scope)[1]


def find_late(lake: Lake) -> tuple[list[LateDay], dict[str, set[dt.date]]]:
    """Landing days whose files changed after their bronze build, and every other partition to rebuild.

    The second part is ``find_stale`` without the late days themselves: their dependants, and
    whatever else is stale by storage truth — e.g. the silver and gold days of a bronze day that
    a killed repair rebuilt before it reached them.
    """
    late, stale = _scan_stale(lake)
    own = {(item.table, item.day) for item in late}
    rest: dict[str, set[dt.date]] = {}
    for table, days in stale.items():
        days = {d for d in days if (table, d) not in own}
        if days:
            rest[table] = days
    return late, rest
