"""Bronze builds: one day's landing files → typed rows + quarantined records."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import ExitStack
from pathlib import Path

from lakemend.build.ingest import IngestContext, bronze_schema, ingest_day
from lakemend.build.result import Built
from lakemend.build.shared import BuildSession
from lakemend.engines import parser_engine
from lakemend.errors import IngestError, LakemendError
from lakemend.lake import Lake
from lakemend.observe.events import InputRead
from lakemend.project.project import TableSpec
from lakemend.project.sources import (
    SYMLINK_RULE,
    Fingerprint,
    day_pattern,
    expected_location,
    symlink_in,
)
from lakemend.project.storage import local_copies
from lakemend.state.store import utcnow


def build_bronze(lake: Lake, spec: TableSpec, day: dt.date, fingerprints: tuple[Fingerprint, ...], run_id: str,
                 shared: BuildSession | None = None) -> Built:
    """Ingest the landing files named by ``fingerprints`` (their identity is what the job records).

    ``shared``: the batch's session on the parser engine (see :mod:`lakemend.build.shared`);
    without one the day gets its own.
    """
    assert spec.bronze is not None
    raw = lake.project.raw
    files = [(raw / p.path, p.path) for p in fingerprints]
    if not files:
        raise LakemendError(
            f"no landing data for {spec.qualified} on {day}: expected files at {expected_location(lake.project, spec, day)}",
            "check the delivery, or run `lakemend generate` for the example",
        )
    for path, relative in files:
        refuse_symlink(raw, path, relative)
    ctx = IngestContext(run_id=run_id, day=day, ingested_at=utcnow())
    with ExitStack() as stack:
        con = shared.con if shared is not None else stack.enter_context(parser_engine().session())
        local = stack.enter_context(local_copies(raw, [(p.path, p.sha256) for p in fingerprints]))
        result = ingest_day(con, spec.bronze, local, ctx)  # local: the files themselves, or S3 objects downloaded
    landing = InputRead(f"landing/{day_pattern(spec, day)}", day, day, None)  # the raw files, for lineage
    return Built(rows=result.rows.cast(bronze_schema(spec.bronze)), quarantine=result.quarantine,
                 rows_read=result.records_read, inputs=(landing,))


def refuse_symlink(raw: Path, path: Path, relative: str) -> None:
    """A landing file reached through a symbolic link fails the job, naming the file and the rule.

    Refused, not followed and not skipped: a link may point anywhere (``/etc/passwd``, another
    source's files), and a file that silently vanished from the day would be data lost.
    """
    link = symlink_in(raw, path)
    if link is None:
        return
    try:
        where = link.relative_to(raw).as_posix()
        target = os.readlink(link)
    except (ValueError, OSError):
        where, target = relative, "?"
    what = "is a symbolic link" if where == relative else f"lies under {where}, a symbolic link"
    raise IngestError(
        f"{relative}: {what} (to {target}) (rule: {SYMLINK_RULE})",
        "put the file itself into the landing zone (copy it, do not link it) and run again",
    )
