"""One listing of a table's landing zone gives every day the files its own glob would give.

``sources.landing_listing`` (used by the stale scan: one walk per table instead of one glob per
day) and ``landing_files`` / ``landing_days`` (``os.scandir`` instead of ``Path.glob``) are
checked against ``Path.glob`` + ``is_file`` on a landing zone with links, broken links, linked
folders, folders named like files, impossible dates and several dates in one name; ``decide``
with the listing cache against ``decide`` day by day on a built example with late, removed and
linked landing files; ``landing_day_candidates`` (what ``gaps`` lists) holds every landing day, and
``find_gaps`` equals the expected days that are not present.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from conftest import START, build

from lakemend.lake import Lake
from lakemend.ops.reads import LakeReads
from lakemend.ops.recovery import expected_days, find_gaps, find_late, present_days
from lakemend.ops.runner import decide
from lakemend.project.project import load_project
from lakemend.project.sources import (day_pattern, landing_day_candidates, landing_days, landing_entries, landing_files,
                                      landing_listing)
from lakemend.dates import to_ranges

PATTERNS = {
    "folders": "src/folders/{date}/*.csv",
    "names": "src/names/*_{date}.csv",
    "deep": "src/deep/**/{date}/part-?.csv",
    "exact": "src/exact/{date}.csv",
    "twice": "src/twice/{date}/x_{date}*.csv",
}
DAYS = [dt.date(2024, 1, d) for d in range(1, 6)]


def _project(root: Path):  # noqa: ANN202 - Project
    tables = "".join(f"      {name}:\n        path: \"{path}\"\n        format: csv\n"
                     f"        columns:\n          id: {{type: string, required: true}}\n"
                     for name, path in PATTERNS.items())
    (root / "lakemend.yaml").write_text(
        "name: listing\nwarehouse: ./lake\nraw: ./landing\n"
        "catalog: {type: sql, uri: \"sqlite:///lake/catalog.db\", name: lakemend}\n"
        "state: \"sqlite:///.lakemend/state.db\"\nlogs: ./.lakemend/logs\n"
        f"sources:\n  src:\n    bronze:\n{tables}")
    return load_project(root)


def _touch(path: Path, text: str = "id\n1\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _landing(raw: Path, outside: Path) -> None:
    _touch(outside / "elsewhere.csv")
    (outside / "folder").mkdir()
    _touch(outside / "folder" / "part-1.csv")
    for day in DAYS[:3]:
        d = day.isoformat()
        _touch(raw / f"src/folders/{d}/a.csv")
        _touch(raw / f"src/folders/{d}/.hidden.csv")
        _touch(raw / f"src/names/orders_{d}.csv")
        _touch(raw / f"src/deep/x/y/{d}/part-1.csv")
        _touch(raw / f"src/deep/{d}/part-2.csv")
        _touch(raw / f"src/exact/{d}.csv")
        _touch(raw / f"src/twice/{d}/x_{d}_1.csv")
        _touch(raw / f"src/twice/{d}/x_{DAYS[4].isoformat()}.csv")  # the other date: not this day's file
    d0, d1, d3 = (day.isoformat() for day in (DAYS[0], DAYS[1], DAYS[3]))
    (raw / f"src/folders/{d0}/link.csv").symlink_to(outside / "elsewhere.csv")
    (raw / f"src/folders/{d0}/broken.csv").symlink_to(outside / "missing.csv")
    (raw / f"src/folders/{d1}/dir.csv").mkdir()
    (raw / f"src/folders/{d3}").symlink_to(outside / "folder")  # a linked day folder (no *.csv inside)
    (raw / "src/deep/linked").symlink_to(outside)  # ** does not go through links
    (raw / f"src/deep/x/{d3}").mkdir(parents=True)
    (raw / f"src/deep/x/{d3}/part-1.csv").symlink_to(outside / "folder" / "part-1.csv")
    _touch(raw / "src/folders/2024-02-30/a.csv")  # not a date
    _touch(raw / "src/names/orders_2024-01-0x.csv")
    _touch(raw / f"src/names/a_{d0}_{d1}.csv")  # two dates: matches d1's pattern only
    _touch(raw / f"src/exact/{d3}.csv/inside.csv")  # a folder named like the day's file


def test_one_listing_gives_each_day_what_its_own_glob_gives(tmp_path: Path) -> None:
    project = _project(tmp_path)
    raw = tmp_path / "landing"
    _landing(raw, tmp_path / "outside")
    candidates = [*DAYS, dt.date(2024, 1, 31)]
    for spec in project.layer_tables("bronze"):
        listing = landing_listing(project, spec)
        assert listing is not None, spec.qualified
        globbed_days = set()
        for day in candidates:
            globbed = sorted(p for p in raw.glob(day_pattern(spec, day)) if p.is_file())
            if globbed:
                globbed_days.add(day)
            assert landing_files(project, spec, day) == globbed, (spec.qualified, day)
            assert [item.path for item in listing.get(day, [])] == globbed, (spec.qualified, day)
            assert [item.relative for item in listing.get(day, [])] == [p.relative_to(raw).as_posix() for p in globbed]
            assert [item.stat().st_size for item in listing.get(day, [])] == [p.stat().st_size for p in globbed]
        assert set(listing) == globbed_days, spec.qualified
        assert any(listing.values()), spec.qualified
    names = project.tables["bronze.names"]
    assert [p.name for p in landing_files(project, names, DAYS[1])] == ["a_2024-01-01_2024-01-02.csv", "orders_2024-01-02.csv"]
    assert [p.name for p in landing_files(project, names, DAYS[0])] == ["orders_2024-01-01.csv"]


def _glob_landing_days(raw: Path, pattern: str) -> list[dt.date]:
    """``landing_days`` as it was written with ``Path.glob`` + ``is_file`` (the reference)."""
    glob = pattern.replace("{date}", "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")
    prefix = pattern.partition("{date}")[0]
    matcher = re.compile(re.escape(prefix).replace(r"\*", "[^/]*") + r"(\d{4}-\d{2}-\d{2})")
    days = set()
    for path in (p for p in raw.glob(glob) if p.is_file()):
        match = matcher.match(path.relative_to(raw).as_posix())
        if match:
            try:
                days.add(dt.date.fromisoformat(match.group(1)))
            except ValueError:
                continue
    return sorted(days)


def test_landing_days_match_the_glob(tmp_path: Path) -> None:
    project = _project(tmp_path)
    raw = tmp_path / "landing"
    _landing(raw, tmp_path / "outside")
    for spec in project.layer_tables("bronze"):
        assert landing_days(project, spec) == _glob_landing_days(raw, spec.bronze.path), spec.qualified
    # the linked day folder holds a *.csv (listed through the link, as the glob does); 2024-02-30 is no day
    assert landing_days(project, project.tables["bronze.folders"]) == [*DAYS[:3], DAYS[3]]


def test_patterns_the_listing_cannot_split_fall_back_to_day_by_day(tmp_path: Path) -> None:
    project = _project(tmp_path)
    spec = project.tables["bronze.folders"]
    for pattern in ("src/[ab]/{date}/*.csv", "src/x**/{date}.csv", "src/./{date}.csv", "src/fixed.csv"):
        object.__setattr__(spec.bronze, "path", pattern)
        assert landing_listing(project, spec) is None, pattern


def test_day_candidates_are_every_landing_day_and_folders_named_like_one(tmp_path: Path) -> None:
    """``gaps`` lists only down to the day folders (``landing_day_candidates``) and asks a day's own
    glob for the days that are not published: the candidates hold every day with files."""
    project = _project(tmp_path)
    raw = tmp_path / "landing"
    _landing(raw, tmp_path / "outside")
    (raw / "src/folders/2024-01-31").mkdir()  # a day folder with nothing in it
    _touch(raw / "src/twice/2024-01-30/notes.txt")  # and one with no file the pattern matches
    split = {}
    for spec in project.layer_tables("bronze"):
        candidates = landing_day_candidates(project, spec)
        split[spec.name] = candidates is not None
        if candidates is None:
            continue
        listing = landing_listing(project, spec)
        assert set(listing) <= candidates, spec.qualified
        for day in candidates:
            assert bool(landing_entries(project, spec, day)) == (day in listing), (spec.qualified, day)
    assert split == {"folders": True, "names": False, "deep": False, "exact": False, "twice": True}
    assert dt.date(2024, 1, 31) in landing_day_candidates(project, project.tables["bronze.folders"])
    assert dt.date(2024, 1, 30) in landing_day_candidates(project, project.tables["bronze.twice"])
    assert dt.date(2024, 2, 28) not in landing_day_candidates(project, project.tables["bronze.folders"])  # 02-30


def test_gaps_from_the_day_candidates_are_the_expected_days_not_present(example: Path) -> None:
    """``find_gaps`` (candidates, then one glob per absent day) against the definition: every
    expected day (the full landing listing; above bronze, the days all inputs expect) not present."""
    assert not build(example, START, START + dt.timedelta(days=2)).failed
    lake = Lake.open(example)
    raw = lake.project.raw
    orders, contacts = lake.project.find_table("bronze.orders"), lake.project.find_table("bronze.hubspot_contacts")
    later = START + dt.timedelta(days=4)
    for path in raw.glob(day_pattern(orders, later)):
        path.unlink()  # landed folder left empty: not expected
    for path in raw.glob(day_pattern(contacts, START + dt.timedelta(days=5))):
        path.rename(path.with_suffix(".txt"))  # no file the pattern matches: not expected
    [lost] = (example / "lake" / "bronze" / "orders" / f"day={START + dt.timedelta(days=1)}").glob("*.parquet")
    lost.unlink()  # a present day whose data file is gone: a gap
    reads = LakeReads(lake)
    cache: dict = {}
    reference = []
    for spec in lake.project.ordered:
        missing = expected_days(lake, spec, cache, reads) - present_days(lake, spec.qualified, reads)
        reference += [(spec.qualified, a, b) for a, b in to_ranges(missing)]
    found = [(g.table, g.start, g.end) for g in find_gaps(Lake.open(example), lake.project.ordered)]
    assert found == reference
    assert ("bronze.orders", START + dt.timedelta(days=1), START + dt.timedelta(days=1)) in found
    assert not any(table == "bronze.orders" and start <= later <= end for table, start, end in found)
    assert any(table.startswith("silver.") for table, _, _ in found)  # days landed but not built yet


def test_missing_landing_zone_lists_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path)
    for spec in project.layer_tables("bronze"):
        assert landing_listing(project, spec) == {}
        assert landing_files(project, spec, DAYS[0]) == []
        assert landing_days(project, spec) == []


def test_decide_with_the_listing_cache_decides_as_day_by_day(example: Path, tmp_path: Path) -> None:
    report = build(example, START, START + dt.timedelta(days=1))
    assert not report.failed, [r.error for r in report.failed]
    lake = Lake.open(example)
    raw = lake.project.raw
    bronze = [s for s in lake.project.ordered if s.layer == "bronze"]
    first, second = bronze[0], bronze[1]
    late_file = next(p for p in sorted(raw.glob(day_pattern(first, START))) if p.is_file())
    _touch(late_file.with_name("late-extra" + late_file.suffix), late_file.read_text())  # a late file
    removed = [p for p in raw.glob(day_pattern(second, START + dt.timedelta(days=1))) if p.is_file()]
    for path in removed:
        path.unlink()  # a built day whose files were all removed
    linked = next(p for p in raw.glob(day_pattern(bronze[-1], START)) if p.is_file())
    shutil.copy(linked, tmp_path / "moved.csv")  # a new mtime: the recorded fingerprint is not reused
    linked.unlink()
    linked.symlink_to(tmp_path / "moved.csv")  # a link in place of a built file: refused by the job
    assert removed
    days = [START - dt.timedelta(days=1), START, START + dt.timedelta(days=1), START + dt.timedelta(days=2)]
    cache: dict = {}
    actions = set()
    for spec in lake.project.ordered:
        for day in days:
            alone = decide(lake, spec, day, {})
            listed = decide(lake, spec, day, {}, landing_cache=cache, prints_cache={}, states_cache={})
            assert (listed.action, listed.why, listed.input_key, listed.fingerprints) == \
                   (alone.action, alone.why, alone.input_key, alone.fingerprints), (spec.qualified, day)
            actions.add((spec.qualified, day, listed.action, listed.why))
    assert (first.qualified, START, "build", "input or code changed") in actions  # the late file
    assert (second.qualified, START + dt.timedelta(days=1), "no-input", "no landing files") in actions
    assert (bronze[-1].qualified, START, "build", "input or code changed") in actions  # the link
    assert {s.qualified for s in bronze} <= set(cache)
    found, _ = find_late(lake)
    assert {(item.table, item.day) for item in found} >= {(first.qualified, START), (bronze[-1].qualified, START)}


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
