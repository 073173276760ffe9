"""The runner's decide step: whether one (table, day) must be built now, and why.

The example is built for its first day only (START): once per module for the tests that only
ask (``built``), afresh for each test that changes landing files or published data (``one_day``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from conftest import END, START, build

from lakemend.iceberg.files import day_filter
from lakemend.lake import Lake
from lakemend.ops.runner import Decision, decide
from lakemend.project.sources import landing_files

NEXT = START + dt.timedelta(days=1)  # landed, not built
NO_LANDING = dt.date(2025, 11, 30)


def _build_first_day(root: Path) -> Lake:
    report = build(root, START, START)
    assert not report.failed, [r.error for r in report.failed]
    return Lake.open(root)


@pytest.fixture(scope="module")
def _built_root(tmp_path_factory: pytest.TempPathFactory, _pristine_example: Path) -> Path:
    root = tmp_path_factory.mktemp("decide") / "company"
    shutil.copytree(_pristine_example, root, symlinks=True)
    _build_first_day(root)
    return root


@pytest.fixture
def built(_built_root: Path) -> Lake:
    """The example built for START, shared by this module's read-only tests: do not modify it."""
    return Lake.open(_built_root)


@pytest.fixture
def one_day(example: Path) -> Lake:
    """A fresh example built for START, for a test that changes it."""
    return _build_first_day(example)


def _decide(lake: Lake, table: str, day: dt.date, *, force: bool = False) -> Decision:
    return decide(lake, lake.project.tables[table], day, {}, force=force)


def test_every_table_of_a_built_day_is_up_to_date(built: Lake) -> None:
    for spec in built.project.ordered:
        decision = decide(built, spec, START, {})
        assert (decision.action, decision.why) == ("up-to-date", "inputs unchanged"), spec.qualified
        assert decision.input_key == built.state.partition_states(spec.qualified)[START]["input_key"]
        assert decision.fingerprints == ()


def test_a_landed_day_not_built_yet_is_a_new_partition(built: Lake) -> None:
    decision = _decide(built, "bronze.orders", NEXT)
    assert (decision.action, decision.why) == ("build", "new partition")
    assert [p.path for p in decision.fingerprints] == ["orders/2025-10-21/orders-0001.csv", "orders/2025-10-21/orders-0002.csv"]
    assert decision.input_key != _decide(built, "bronze.orders", START).input_key


def test_a_model_whose_same_day_input_is_not_built_has_no_input(built: Lake) -> None:
    silver = _decide(built, "silver.orders_clean", NEXT)
    assert (silver.action, silver.why) == ("no-input", "bronze.orders has no partition 2025-10-21")
    gold = _decide(built, "gold.customer_orders", NEXT)
    assert (gold.action, gold.why) == ("no-input", "silver.orders_clean has no partition 2025-10-21")


def test_a_day_without_landing_files_has_no_input(built: Lake) -> None:
    decision = _decide(built, "bronze.orders", NO_LANDING)
    assert (decision.action, decision.why, decision.input_key, decision.fingerprints) == (
        "no-input", "no landing files", "", ())


def test_a_changed_landing_file_means_input_changed(one_day: Lake) -> None:
    before = _decide(one_day, "bronze.orders", START)
    path = landing_files(one_day.project, one_day.project.tables["bronze.orders"], START)[0]
    with path.open("a", encoding="utf-8") as handle:
        handle.write(path.read_text(encoding="utf-8").splitlines()[1] + "\n")  # a re-sent record
    after = _decide(one_day, "bronze.orders", START)
    assert (after.action, after.why) == ("build", "input or code changed")
    assert after.input_key != before.input_key
    assert len(after.fingerprints) == 2
    # silver still reads the published bronze day, which has not changed yet
    assert _decide(one_day, "silver.orders_clean", START).action == "up-to-date"


def test_an_added_landing_file_means_input_changed(one_day: Lake) -> None:
    folder = one_day.project.raw / "orders" / START.isoformat()
    first = folder / "orders-0001.csv"
    (folder / "orders-0003.csv").write_text(first.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    decision = _decide(one_day, "bronze.orders", START)
    assert (decision.action, decision.why) == ("build", "input or code changed")
    assert [p.path for p in decision.fingerprints][-1] == "orders/2025-10-20/orders-0003.csv"


def test_a_touched_landing_file_with_the_same_content_is_still_up_to_date(one_day: Lake) -> None:
    path = landing_files(one_day.project, one_day.project.tables["bronze.orders"], START)[0]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 3_600 * 10**9))
    decision = _decide(one_day, "bronze.orders", START)
    assert (decision.action, decision.why) == ("up-to-date", "inputs unchanged")


def test_changed_model_code_means_input_or_code_changed(built: Lake) -> None:
    spec = built.project.tables["silver.orders_clean"]
    edited = dataclasses.replace(spec, sql=spec.sql + "\n-- reviewed")
    decision = decide(built, edited, START, {})
    assert (decision.action, decision.why) == ("build", "input or code changed")


def test_files_changed_outside_lakemend_force_a_rebuild(one_day: Lake) -> None:
    # someone deletes the day's rows with another Iceberg client: the recorded files are gone
    one_day.table("bronze.orders").delete(day_filter(START))
    decision = _decide(one_day, "bronze.orders", START)
    assert (decision.action, decision.why) == ("build", "published files changed outside lakemend")
    # the landing input itself is unchanged
    assert decision.input_key == one_day.state.partition_states("bronze.orders")[START]["input_key"]


def test_files_changed_outside_lakemend_win_over_changed_input(one_day: Lake) -> None:
    one_day.state.restore_partition("silver.orders_clean", START, "not-the-published-files", None, 0)
    spec = one_day.project.tables["silver.orders_clean"]
    decision = decide(one_day, dataclasses.replace(spec, sql=spec.sql + " "), START, {})
    assert (decision.action, decision.why) == ("build", "published files changed outside lakemend")


@pytest.mark.parametrize("table", ["bronze.orders", "silver.orders_clean", "gold.daily_revenue"])
def test_force_builds_an_up_to_date_partition(built: Lake, table: str) -> None:
    unforced = _decide(built, table, START)
    forced = _decide(built, table, START, force=True)
    assert (forced.action, forced.why) == ("build", "forced")
    assert forced.input_key == unforced.input_key


def test_force_does_not_build_without_input(built: Lake) -> None:
    decision = _decide(built, "bronze.orders", NO_LANDING, force=True)
    assert (decision.action, decision.why) == ("no-input", "no landing files")


def test_decide_reads_published_days_through_the_cache_it_is_given(built: Lake) -> None:
    cache: dict[str, dict[dt.date, str]] = {}
    decide(built, built.project.tables["gold.customer_orders"], START, cache)
    assert set(cache) == {"silver.orders_clean", "silver.customers_clean", "gold.customer_orders"}
    assert set(cache["silver.orders_clean"]) == {START}


def test_a_run_reads_each_tables_recorded_builds_once_not_once_per_day(one_day: Lake,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Deciding a table's days reads its and its inputs' recorded builds once: on an aged lake a
    read is every day of the table, and a month's backfill read them again for each day."""
    from collections import Counter

    from lakemend.ops.runner import execute
    from lakemend.state.sqlite_reads import SqliteReads
    from lakemend.state.store import StateStore

    reads: Counter[str] = Counter()
    for cls in (StateStore, SqliteReads):
        real = cls.partition_states

        def counted(self, table: str, _real=real) -> dict:  # noqa: ANN001 - the reader
            reads[table] += 1
            return _real(self, table)

        monkeypatch.setattr(cls, "partition_states", counted)
    days = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]  # the first built already
    report = execute(one_day, command="run", days=days, tables=list(one_day.project.ordered), reason="test")
    assert not report.failed and len(report.results) == (len(days) - 1) * len(one_day.project.ordered)
    for spec in one_day.project.ordered:  # a few per table (its own days, each dependant's), not per day
        assert reads[spec.qualified] < len(days), (spec.qualified, len(days), reads)
