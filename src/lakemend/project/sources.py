"""The landing zone: which files belong to a bronze partition, and their fingerprints."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from lakemend.project.project import Project, TableSpec
from lakemend.project.storage import Location, S3Path, mtime_iso, sha256_of


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
    raw = project.raw
    if isinstance(raw, S3Path):
        return raw.glob(day_pattern(spec, day))  # type: ignore[return-value]
    return sorted(p for p in raw.glob(day_pattern(spec, day)) if p.is_file())


SYMLINK_RULE = "landing files must be regular files inside the landing zone; symbolic links are refused"


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
    prefix, _, suffix = pattern.partition("{date}")
    matcher = re.compile(re.escape(prefix).replace(r"\*", "[^/]*") + r"(\d{4}-\d{2}-\d{2})")
    days: set[dt.date] = set()
    raw = project.raw  # resolved once: it is a filesystem call
    listed = raw.glob(glob) if isinstance(raw, S3Path) else (p for p in raw.glob(glob) if p.is_file())
    for path in listed:
        match = matcher.match(path.relative_to(raw).as_posix())
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
