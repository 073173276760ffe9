"""Start-up stays light (issue 10): each command imports only the heavy libraries its work needs.

``status`` and ``gaps`` never import OpenLineage, boto3, pyspark, Alembic, sqlglot, SQLAlchemy's ORM
or typer's help renderer; ``--help`` only the help renderer; a one-day bronze backfill and a silver
rebuild (file lineage, DuckDB dialect, SQLite catalog) none of them either. Checked in a real subprocess, from ``sys.modules``
after the command ran. And the modules the ``lakemend`` process defers (``lakemend.startup``) stay unrun by a backfill.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build

from lakemend.observe import lineage
from lakemend.project.config import KNOWN_DIALECTS
from lakemend.project.project import _written_reads, model_reads

HEAVY = ("openlineage", "boto3", "botocore", "pyspark", "alembic", "sqlglot", "httpx")
HELP_ONLY = ("typer.rich_utils", "rich.markdown")
"""typer's help renderer and what it loads: only help needs them."""
ORM = ("sqlalchemy.orm", "pyiceberg.catalog.sql")
"""pyiceberg's SqlCatalog and the ORM it maps its tables with (0.11 CPU s): the SQL catalog is
opened on SQLAlchemy Core instead (``iceberg.sql_catalog``)."""
PROBE = """
import sys
from lakemend.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    print("EXIT:%%s" %% (exc.code or 0))
heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in %r} | {m for m in sys.modules if m in %r})
print("HEAVY:" + ",".join(heavy))
""" % (HEAVY, HELP_ONLY + ORM)


def probe(root: Path, args: list[str]) -> tuple[str, str, str]:
    """(the HEAVY: line, the exit code, stderr) of ``lakemend ARGS`` run in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=root, capture_output=True, text=True,
                          timeout=300, check=False, env={**_env(), "LAKEMEND_REASON": "startup test"})
    [line] = [ln for ln in done.stdout.splitlines() if ln.startswith("HEAVY:")]
    exits = [ln.removeprefix("EXIT:") for ln in done.stdout.splitlines() if ln.startswith("EXIT:")]
    return line, (exits[0] if exits else "0"), done.stderr[-2000:]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")}


@pytest.mark.parametrize("args", [["status"], ["gaps"]])
def test_light_commands_import_no_heavy_dependency(built_example: Path, args: list[str]) -> None:
    line, _, err = probe(built_example, args)
    assert line == "HEAVY:", (line, err)


LOADED = """
import sys
from lakemend.cli.app import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
print("EXIT:%s" % code)
print("LOADED:" + ",".join(sorted(m for m in sys.modules if m.startswith(("pyiceberg.table", "pyiceberg.catalog", "sqlalchemy", "pyarrow")))))
"""


@pytest.mark.parametrize("args", [["status"], ["gaps"], ["late"], ["ls"]])
def test_status_and_gaps_of_a_lake_lakemend_built_never_open_pyiceberg(built_example: Path, args: list[str]) -> None:
    """Their records are proven from the metadata JSON read with the standard library
    (``iceberg.metadata_json``), and the state DB is read with ``sqlite3`` (``state.sqlite_reads``):
    neither pyiceberg's tables and catalog nor SQLAlchemy load, nor pyarrow (nothing is read from
    a data file). ``ls`` counts each table's published days the same way."""
    done = subprocess.run([sys.executable, "-c", LOADED, *args], cwd=built_example, capture_output=True, text=True,
                          timeout=300, check=False, env=_env())
    assert "EXIT:0" in done.stdout and "LOADED:\n" in done.stdout, (done.stdout[-2000:], done.stderr[-2000:])


def test_a_deleted_data_file_is_found_without_opening_pyiceberg(example: Path) -> None:
    """The partition records hold each day's file paths: a day whose folder lost a file is a gap
    from the listing alone, no manifest read (``ops.recovery._recorded_files_listed``)."""
    assert not build(example, dt.date(2025, 10, 21), dt.date(2025, 10, 22)).failed
    [lost] = (example / "lake" / "bronze" / "orders" / "day=2025-10-22").glob("*.parquet")
    lost.unlink()
    args = ["gaps", "--start", "2025-10-21", "--end", "2025-10-22", "--output", "json"]
    done = subprocess.run([sys.executable, "-c", LOADED, *args], cwd=example, capture_output=True, text=True,
                          timeout=300, check=False, env=_env())
    assert "EXIT:0" in done.stdout and "LOADED:\n" in done.stdout, (done.stdout[-2000:], done.stderr[-2000:])
    gaps = json.loads(done.stdout[:done.stdout.index("EXIT:")])
    assert [(g["table"], g["from"], g["to"]) for g in gaps] == [("bronze.orders", "2025-10-22", "2025-10-22")]


def test_help_imports_only_the_help_renderer(built_example: Path) -> None:
    line, _, err = probe(built_example, ["--help"])
    assert line == "HEAVY:" + ",".join(sorted(HELP_ONLY)), (line, err)


def test_one_day_backfill_and_rebuild_with_file_lineage_import_no_heavy_dependency(example: Path) -> None:
    root = example
    assert not build(root, dt.date(2025, 10, 22), dt.date(2025, 10, 22)).failed
    day_file = root / ".lakemend" / "lineage" / "2025-10-22.jsonl"
    before = day_file.read_text(encoding="utf-8").splitlines()
    line, code, err = probe(root, ["backfill", "bronze", "hubspot", "2025-10-22", "--yes"])
    assert (line, code) == ("HEAVY:", "0"), (line, code, err)
    # the lineage still went out: START and COMPLETE of the backfill, as OpenLineage RunEvents
    added = [json.loads(ln) for ln in day_file.read_text(encoding="utf-8").splitlines()[len(before):]]
    assert [(e["eventType"], e["job"]["name"]) for e in added] == [
        ("START", "backfill bronze.bronze.hubspot_contacts"), ("COMPLETE", "backfill bronze.bronze.hubspot_contacts")]
    assert all(e["schemaURL"] == lineage.RUN_EVENT_SCHEMA for e in added)
    # a silver day in the project's own dialect (duckdb): no transpiling, so no sqlglot either
    line, code, err = probe(root, ["rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-22", "--yes"])
    assert (line, code) == ("HEAVY:", "0"), (line, code, err)


ENTRY = """
import atexit, sys
from lakemend.cli import main
from lakemend.startup import DEFERRED, still_deferred

@atexit.register  # the process leaves from main(), after its exit handlers (cli.app._leave)
def ran():
    print("RAN:" + ",".join(sorted(m for m in (*DEFERRED, "pyparsing") if m in sys.modules
                                   and not still_deferred(sys.modules[m]))), flush=True)

sys.argv = ["lakemend", *sys.argv[1:]]
main()
"""


def test_the_lakemend_process_defers_what_a_backfill_never_uses(example: Path) -> None:
    """Through the process's entry point (``lakemend.cli.main``), as ``lakemend`` runs: pyiceberg's
    text filter parser (with pyparsing), its YAML reader and ``pyarrow.dataset`` are imported but
    not run by a one-day backfill (``lakemend.startup``); a rebuild with its downstream days, which
    may read tables through pyiceberg's scan (``pyarrow.dataset``), works and runs neither the
    parser nor the YAML reader."""
    assert not build(example, dt.date(2025, 10, 22), dt.date(2025, 10, 22)).failed
    for args, allowed in ((["backfill", "bronze", "orders", "2025-10-22", "--yes"], set()),
                          (["rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-22", "--downstream", "--yes"],
                           {"pyarrow.dataset"})):
        done = subprocess.run([sys.executable, "-c", ENTRY, *args], cwd=example, capture_output=True, text=True,
                              timeout=300, check=False, env={**_env(), "LAKEMEND_REASON": "startup test"})
        [line] = [ln for ln in done.stdout.splitlines() if ln.startswith("RAN:")] or ["(no RAN: line)"]
        ran = set(filter(None, line.removeprefix("RAN:").split(",")))
        assert done.returncode == 0 and ran <= allowed, (args, line, done.stdout[-2000:], done.stderr[-2000:])


# ----- what the light paths stand in for agrees with the heavy library -----------------------------------


def test_lineage_schema_urls_are_the_openlineage_clients() -> None:
    """The events are built without openlineage-python; their schema URLs and facet fields must be
    the ones the installed client would give (an upgrade that changes them fails here)."""
    from openlineage.client import event_v2, facet_v2

    modules = {
        "DatasetVersionDatasetFacet": facet_v2.dataset_version_dataset,
        "ErrorMessageRunFacet": facet_v2.error_message_run,
        "JobTypeJobFacet": facet_v2.job_type_job,
        "NominalTimeRunFacet": facet_v2.nominal_time_run,
        "OutputStatisticsOutputDatasetFacet": facet_v2.output_statistics_output_dataset,
        "ProcessingEngineRunFacet": facet_v2.processing_engine_run,
    }
    assert set(lineage.OPENLINEAGE_FACETS) == set(modules)
    for name, module in modules.items():
        cls = getattr(module, name)
        assert lineage._facet(name)["_schemaURL"] == cls._get_schema(), name
    assert lineage.RUN_EVENT_SCHEMA == event_v2.RunEvent._get_schema()
    fields = {a.name for a in facet_v2.job_type_job.JobTypeJobFacet.__attrs_attrs__}
    assert {"processingType", "integration", "jobType"} <= fields


def test_known_dialects_are_sqlglot_dialects() -> None:
    from sqlglot.dialects.dialect import Dialect

    for name in KNOWN_DIALECTS:
        Dialect.get_or_raise(name)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM bronze.orders",
    "SELECT * FROM bronze . orders AS o JOIN silver.customers_clean c ON c.email = o.customer_email",
    'SELECT * FROM "bronze"."orders"',
    'SELECT * FROM "Bronze"."Or""ders"',
    "SELECT * FROM BRONZE.Orders",
    "SELECT * FROM `bronze`.`orders`",
    "-- reads silver.customers_clean\nSELECT * FROM silver.orders_clean",
    "SELECT 'gold' AS tier FROM silver.orders_clean",
    "SELECT bronze.orders.amount FROM bronze.orders",
    "SELECT * FROM lake.bronze.orders",
    "WITH gold AS (SELECT 1) SELECT * FROM gold",
    "SELECT * FROM bronze./* x */orders",
    "SELECT * FROM bronze.orders;",
    "SELECT * FROM (SELECT * FROM gold.daily_revenue)",
    "SELECT * FROM silver.orders_clean WHERE note = 'see gold.daily_revenue'",
])
def test_written_reads_cover_what_sqlglot_finds(sql: str) -> None:
    """The text scan that lets a project load without sqlglot never misses a table sqlglot sees."""
    written = _written_reads(sql)
    if written is not None:
        assert set(model_reads(sql, "duckdb") or []) <= written, (written, model_reads(sql, "duckdb"))
