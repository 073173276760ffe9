"""Bronze builds: one day's landing files → typed rows + quarantined records."""

from __future__ import annotations

import datetime as dt

from lakemend.build.ingest import IngestContext, bronze_schema, ingest_day
from lakemend.build.result import Built
from lakemend.errors import LakemendError
from lakemend.lake import Lake
from lakemend.observe.events import InputRead
from lakemend.project.project import TableSpec
from lakemend.project.sources import day_pattern, expected_location
from lakemend.project.sources import Fingerprint
from lakemend.state.store import utcnow


def build_bronze(lake: Lake, spec: TableSpec, day: dt.date, fingerprints: tuple[Fingerprint, ...], run_id: str) -> Built:
    """Ingest the landing files named by ``fingerprints`` (their identity is what the job records)."""
    assert spec.bronze is not None
    raw = lake.project.raw
    files = [(raw / p.path, p.path) for p in fingerprints]
    if not files:
        raise LakemendError(
            f"no landing data for {spec.qualified} on {day}: expected files at {expected_location(lake.project, spec, day)}",
            "check the delivery, or run `lakemend generate` for the example",
        )
    ctx = IngestContext(run_id=run_id, day=day, ingested_at=utcnow())
    with lake.engine.session() as con:
        result = ingest_day(con, spec.bronze, files, ctx)
    landing = InputRead(f"landing/{day_pattern(spec, day)}", day, day, None)  # the raw files, for lineage
    return Built(rows=result.rows.cast(bronze_schema(spec.bronze)), quarantine=result.quarantine,
                 rows_read=result.records_read, inputs=(landing,))
