"""The landing zone: which files belong to a bronze partition, and their fingerprints."""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import hashlib
import os
import re
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakemend.project.project import Project, TableSpec
from lakemend.project.storage import Location, S3Path, StatResult, glob_regex, mtime_iso, sha256_of


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one landing file's content without reading it again."""

    path: str
    size: int
    mtime: str
    sha256: str


def day_pattern(spec: TableSpec, day: dt.date) -> str:
    assert spec.bronze is not None
    return spec.bronze.path.replace("{date}", day.isoformat())


def landing_files(project: Project, spec: TableSpec, day: dt.date) -> list[Location]:
    """The files of one landing day, sorted by name: the exact list a bronze job ingests.

    The configured pattern is the only glob; every name it yields is then read as exactly that
    file. A symbolic link (to a file, or a folder on the way to one) is listed too, so that the
    job refuses it by name (:func:`symlink_in`) instead of following it or skipping it silently;
    a link that points nowhere is not a file and is not listed. On S3 (``raw: s3://…``) the
    objects whose keys match the pattern are listed the same way (S3 has no links).
    """
    return [item.path for item in landing_entries(project, spec, day)]


class ListedFile:
    """One landing file as a listing found it: its path relative to the zone, its location, its stat.

    The stat is taken once (from the directory entry, or the S3 listing) and follows links, as
    ``Path.stat`` does; the location (a ``Path``) is made only when asked for.
    """

    __slots__ = ("_entry", "_path", "_raw", "_stat", "relative")

    def __init__(self, raw: Location, relative: str, entry: os.DirEntry | None = None,
                 path: Location | None = None) -> None:
        self._raw = raw
        self.relative = relative
        self._entry = entry
        self._path = path
        self._stat: os.stat_result | StatResult | None = None

    @property
    def path(self) -> Location:
        if self._path is None:
            self._path = self._raw / self.relative
        return self._path

    def stat(self) -> os.stat_result | StatResult:
        if self._stat is None:
            self._stat = self._entry.stat() if self._entry is not None else self.path.stat()
        return self._stat


def landing_entries(project: Project, spec: TableSpec, day: dt.date) -> list[ListedFile]:
    """:func:`landing_files` with each file's relative path and stat (one listing, no second glob)."""
    return _listed(project.raw, day_pattern(spec, day))


def _listed(raw: Location, pattern: str) -> list[ListedFile]:
    """The files matching ``pattern`` below ``raw``, sorted by location (``Path.glob`` + ``is_file``)."""
    if isinstance(raw, S3Path):
        return [ListedFile(raw, p.relative_to(raw).as_posix(), path=p) for p in raw.glob(pattern)]
    root = str(raw)
    found = []
    for relative, entry in _select(root, _pattern_parts(pattern)):
        try:
            is_file = entry.is_file() if entry is not None else stat_module.S_ISREG(os.stat(_at(root, relative)).st_mode)
        except OSError:
            is_file = False
        if is_file:
            found.append(ListedFile(raw, relative, entry))
    found.sort(key=lambda item: item.relative.split("/"))  # the order of the Paths: part by part
    return found


def _pattern_parts(pattern: str) -> list[str]:
    """A glob pattern's components as ``Path.glob`` splits them (empty and ``.`` parts dropped)."""
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    if pattern.endswith("/"):
        parts.append("")  # Path.glob: a trailing slash selects folders only (never a landing file)
    return parts


_WILDCARD = re.compile(r"[*?\[]")


@functools.lru_cache(maxsize=256)
def _name_matcher(part: str) -> Callable[[str], re.Match[str] | None]:
    return re.compile(fnmatch.translate(part)).fullmatch  # as Path.glob on POSIX (case-sensitive)


def _at(root: str, relative: str) -> str:
    return os.path.join(root, relative) if relative else root


def _join(relative: str, name: str) -> str:
    return f"{relative}/{name}" if relative else name


def _select(root: str, parts: list[str]) -> list[tuple[str, os.DirEntry | None]]:
    """``Path.glob`` (Python 3.11 rules) with ``os.scandir``: (relative path, its entry or None) of each match.

    Like ``Path.glob``: a ``*``/``?``/``[...]`` component lists the folder and follows links to
    folders, ``**`` matches this folder and every folder below it not through links, and a
    component without wildcards is looked up, not listed. Each match once, in no set order.
    """
    level: list[tuple[str, os.DirEntry | None]] = [("", None)]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following: list[tuple[str, os.DirEntry | None]] = []
        if part == "":
            following = [(rel, None) for rel, _ in level if os.path.isdir(_at(root, rel))]
        elif part == "**":
            seen: set[str] = set()
            for rel, _ in level:
                for below in _folders(root, rel):
                    if below not in seen:
                        seen.add(below)
                        following.append((below, None))
        elif "**" in part:
            raise ValueError("Invalid pattern: '**' can only be an entire path component")
        elif not _WILDCARD.search(part):
            for rel, _ in level:
                child = _join(rel, part)
                path = _at(root, child)
                if os.path.exists(path) if last else os.path.isdir(path):
                    following.append((child, None))
        else:
            match = _name_matcher(part)
            for rel, _ in level:
                for entry in _entries(root, rel):
                    if match(entry.name) is None:
                        continue
                    if not last:
                        try:
                            if not entry.is_dir():
                                continue
                        except OSError:
                            continue
                    following.append((_join(rel, entry.name), entry))
        if "**" in parts[:index + 1] and part != "**":
            unique = dict(following)  # after a ** two routes can reach one path: list it once
            following = list(unique.items())
        level = following
    return level


def _entries(root: str, relative: str) -> list[os.DirEntry]:
    """The entries of a folder; none when it is missing, not a folder or not readable (as ``Path.glob``)."""
    try:
        with os.scandir(_at(root, relative)) as listing:
            return list(listing)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def _folders(root: str, relative: str) -> list[str]:
    """``relative`` and every folder below it, not through links (what ``**`` matches)."""
    found = [relative]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        for entry in _entries(root, current):
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                found.append(_join(current, entry.name))
    return found


_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_DATE_SHAPE = re.compile(r"(?=([0-9]{4}-[0-9]{2}-[0-9]{2}))")

LandingListing = dict[dt.date, list[ListedFile]]
"""A table's landing files by day: what :func:`landing_entries` gives for each day (days without files absent)."""


def landing_listing(project: Project, spec: TableSpec) -> LandingListing | None:
    """Every day's landing files of a bronze table from one listing of the zone, or None if the
    pattern is one this cannot split by day exactly (then list day by day with :func:`landing_entries`).

    A file belongs to day D when its path matches the pattern with ``{date}`` = D, exactly as the
    day's own glob would find it: the listing uses the pattern with ``{date}`` as any date, then
    each path's date-shaped parts are checked against the pattern.
    """
    assert spec.bronze is not None
    pattern = spec.bronze.path
    if not _splittable(pattern):
        return None
    raw = project.raw
    pieces = pattern.split("{date}")
    generic = re.compile(glob_regex(pieces[0]).pattern + "".join(
        ("(?P<d>[0-9]{4}-[0-9]{2}-[0-9]{2})" if i == 0 else "(?P=d)") + glob_regex(piece).pattern
        for i, piece in enumerate(pieces[1:])))
    by_day: LandingListing = {}
    parsed: dict[str, dt.date | None] = {}
    for item in _listed(raw, pattern.replace("{date}", _DATE_GLOB)):
        candidates = set(_DATE_SHAPE.findall(item.relative))
        if len(candidates) == 1:
            match = generic.fullmatch(item.relative)
            days = [match.group("d")] if match else []
        else:  # several dates in one path: check each as its own day's glob would
            days = [c for c in candidates if glob_regex(pattern.replace("{date}", c)).fullmatch(item.relative)]
        for text in days:
            if text not in parsed:
                parsed[text] = _iso_day(text)
            if parsed[text] is not None:
                by_day.setdefault(parsed[text], []).append(item)
    return by_day  # each day's files stay sorted: the listing is


SYMLINK_RULE = "landing files must be regular files inside the landing zone; symbolic links are refused"


def _splittable(pattern: str) -> bool:
    """Whether a landing pattern's paths can be told apart by day from a listing (see :func:`landing_listing`)."""
    parts = pattern.split("/")
    return not ("{date}" not in pattern or pattern.startswith("/") or "[" in pattern
                or any(p in ("", ".", "..") for p in parts) or any("**" in p and p != "**" for p in parts))


def landing_day_candidates(project: Project, spec: TableSpec) -> set[dt.date] | None:
    """Every day that has landing files, and maybe some that do not, from a listing that stops at
    the pattern's first ``{date}`` component: for ``shop/orders/{date}/*.csv`` one listing of
    ``shop/orders/`` instead of one of every day's folder. Whether a candidate day has files is
    what its own glob says (:func:`landing_entries`): its folder may hold none that match.

    None where that listing would not be shorter or not the same walk — the date in the file's own
    name, ``**`` before the date, a pattern :func:`landing_listing` cannot split, an S3 landing
    zone (one listing of the prefix there either way).
    """
    assert spec.bronze is not None
    pattern = spec.bronze.path
    parts = pattern.split("/")
    first = next((i for i, part in enumerate(parts) if "{date}" in part), len(parts) - 1)
    raw = project.raw  # resolved once: it is a filesystem call
    if not _splittable(pattern) or first == len(parts) - 1 or "**" in parts[:first] or isinstance(raw, S3Path):
        return None
    prefix = "/".join(parts[:first + 1]).replace("{date}", _DATE_GLOB)
    days: set[dt.date] = set()
    for relative, _ in _select(str(raw), _pattern_parts(prefix)):
        for text in _DATE_SHAPE.findall(relative.rsplit("/", 1)[-1]):
            day = _iso_day(text)
            if day is not None:
                days.add(day)
    return days


def _iso_day(text: str) -> dt.date | None:
    """The day a ``YYYY-MM-DD`` text names (None: no such day)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if day.isoformat() == text else None


def symlink_in(raw: Location, path: Location) -> Path | None:
    """The first symbolic link on the way from ``raw`` down to ``path`` (``path`` itself included), or None.

    ``raw`` itself may be a link (where the zone is mounted); everything below it must not be.
    An S3 landing zone has no links (None).
    """
    if isinstance(raw, S3Path) or isinstance(path, S3Path):
        return None
    try:
        parts = path.relative_to(raw).parts
    except ValueError:
        return path  # not inside the landing zone at all: refused like a link out of it
    current = raw
    for part in parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def expected_location(project: Project, spec: TableSpec, day: dt.date) -> Location:
    return project.raw / day_pattern(spec, day)


def landing_days(project: Project, spec: TableSpec) -> list[dt.date]:
    """Days that have a landing folder with at least one file (from the listing only)."""
    assert spec.bronze is not None
    pattern = spec.bronze.path
    glob = pattern.replace("{date}", "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")
    prefix = pattern.partition("{date}")[0]
    matcher = re.compile(re.escape(prefix).replace(r"\*", "[^/]*") + r"(\d{4}-\d{2}-\d{2})")
    days: set[dt.date] = set()
    raw = project.raw  # resolved once: it is a filesystem call
    for item in _listed(raw, glob):
        match = matcher.match(item.relative)
        if match:
            try:
                days.add(dt.date.fromisoformat(match.group(1)))
            except ValueError:
                continue
    return sorted(days)


def fingerprint(project: Project, path: Location) -> Fingerprint:
    """Size, mtime and SHA-256 of a landing file (or S3 object); of a symbolic link, those of the link itself.

    A link is never followed: its fingerprint hashes where it points, so a link out of the
    landing zone is not read here (the bronze job refuses it by name).
    """
    raw = project.raw
    link = symlink_in(raw, path)
    if link is not None and link.is_symlink():
        stat = link.lstat()
        sha = hashlib.sha256(f"symlink\t{link.relative_to(raw).as_posix()}\t{os.readlink(link)}".encode()).hexdigest()
    else:
        stat = path.stat()
        sha = sha256_of(path)
    return Fingerprint(path.relative_to(raw).as_posix(), stat.st_size, mtime_iso(stat), sha)  # type: ignore[arg-type]


def content_key(prints: list[Fingerprint]) -> str:
    """What a bronze partition's content depends on: the set of file contents (not mtimes)."""
    blob = "\n".join(f"{p.path}\t{p.size}\t{p.sha256}" for p in sorted(prints, key=lambda p: p.path))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
