"""Plain-DuckDB baseline of the example company pipeline, for ``bench_pipeline.py``.

It does by hand what ``lakemend run`` does for one day of the example project, with DuckDB
alone (no lakemend, no pyarrow, no Iceberg), and writes every layer as a ZSTD Parquet file:

* bronze: the day's order CSVs and HubSpot contacts JSONL, typed as declared in lakemend.yaml,
  plus the same lineage columns (``_extra``, ``_source_file``, ``_ingested_at``, ``_run_id``,
  ``_record_hash`` = md5 of the row, ``day``);
* silver: the project's own model SQL (read from ``PROJECT/models``) over the bronze Parquet,
  deduplicated by key keeping the latest ``updated_at``;
* gold: the gold model SQL over the silver Parquet; ``customer_orders`` masks PII like lakemend
  (HMAC-SHA256 e-mail, e-mail domain kept, phone and name redacted).

Not done here: quarantine of bad records, contract checks, write-audit-publish, the run ledger.

Run:  python bench/duckdb_baseline.py --project DIR --out DIR [--day 2025-10-26 | --start D1 --end D2]
A range is done day after day in one connection, as the model SQL is written for one day.
Prints one JSON object: {"tables": {"bronze.orders": {"rows": N, "seconds": S}, ...}} (summed over the days).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

CONTACT_PROPERTIES = (
    "STRUCT(email VARCHAR, firstname VARCHAR, lastname VARCHAR, phone VARCHAR, company VARCHAR, "
    "lifecyclestage VARCHAR, createdate TIMESTAMP, lastmodifieddate TIMESTAMP)"
)
ORDER_COLUMNS = {
    "order_id": "VARCHAR", "customer_email": "VARCHAR", "amount": "DECIMAL(12,2)", "currency": "VARCHAR",
    "status": "VARCHAR", "ordered_at": "TIMESTAMP", "updated_at": "TIMESTAMP",
}
CONTACT_COLUMNS = {
    "id": "VARCHAR", "properties": CONTACT_PROPERTIES, "createdAt": "TIMESTAMP", "updatedAt": "TIMESTAMP",
    "archived": "BOOLEAN",
}
# silver table → (unique key, dedup order) as in the example lakemend.yaml
SILVER_DEDUP = {"orders_clean": ("order_id", "updated_at DESC"), "customers_clean": ("customer_id", "updated_at DESC")}


@dataclass(frozen=True)
class Context:
    project: Path
    out: Path
    day: dt.date
    run_id: str
    ingested_at: str


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def columns_arg(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{lit(name)}: {lit(kind)}" for name, kind in columns.items()) + "}"


def lineage_sql(ctx: Context, columns: list[str]) -> str:
    """The bronze lineage columns lakemend adds to every record."""
    landing = str(ctx.project / "landing") + "/"
    row = ", ".join(columns + ["_extra"])
    return (
        f"replace(filename, {lit(landing)}, '') AS _source_file, TIMESTAMP {lit(ctx.ingested_at)} AS _ingested_at, "
        f"{lit(ctx.run_id)} AS _run_id, md5(CAST(row({row}) AS VARCHAR)) AS _record_hash, DATE {lit(ctx.day.isoformat())} AS day"
    )


def bronze_orders_sql(ctx: Context) -> str:
    files = ctx.project / "landing" / "orders" / ctx.day.isoformat() / "*.csv"
    cols = list(ORDER_COLUMNS)
    return (
        f"SELECT {', '.join(cols)}, _extra, {lineage_sql(ctx, cols)} FROM ("
        f"SELECT *, CAST(NULL AS VARCHAR) AS _extra FROM read_csv({lit(str(files))}, header = true, "
        f"columns = {columns_arg(ORDER_COLUMNS)}, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        f"filename = true))"
    )


def bronze_contacts_sql(ctx: Context) -> str:
    files = ctx.project / "landing" / "hubspot" / "contacts" / ctx.day.isoformat() / "*.jsonl"
    cols = list(CONTACT_COLUMNS)
    return (
        f"SELECT {', '.join(cols)}, _extra, {lineage_sql(ctx, cols)} FROM ("
        f"SELECT *, CAST(NULL AS VARCHAR) AS _extra FROM read_json({lit(str(files))}, "
        f"format = 'newline_delimited', columns = {columns_arg(CONTACT_COLUMNS)}, filename = true))"
    )


def model_sql(ctx: Context, layer: str, name: str) -> str:
    return (ctx.project / "models" / layer / f"{name}.sql").read_text()


def silver_sql(ctx: Context, name: str) -> str:
    key, order = SILVER_DEDUP[name]
    return (
        f"SELECT *, DATE {lit(ctx.day.isoformat())} AS day FROM (\n{model_sql(ctx, 'silver', name)}\n) AS model "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1"
    )


def hmac_sha256_sql(column: str, key: bytes) -> str:
    """HMAC-SHA256 of a VARCHAR column as hex, like lakemend's ``hash`` mask."""
    padded = key.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in padded).hex()
    opad = bytes(b ^ 0x5C for b in padded).hex()
    inner = f"unhex(sha256(unhex('{ipad}') || encode({column})))"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE sha256(unhex('{opad}') || {inner}) END"


def redact_sql(column: str) -> str:
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE '[redacted]' END"


def email_domain_sql(column: str) -> str:
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN strpos({column}, '@') > 0 THEN '***@' || split_part({column}, '@', 2) "
        f"ELSE repeat('*', greatest(length({column}) - 4, 0)) || right({column}, 4) END"
    )


def gold_customer_orders_sql(ctx: Context, key: bytes) -> str:
    masked = (
        f"order_id, {hmac_sha256_sql('email', key)} AS email, {email_domain_sql('email_domain')} AS email_domain, "
        f"customer_id, {redact_sql('full_name')} AS full_name, {redact_sql('phone')} AS phone, company, "
        "lifecycle_stage, amount, currency, status, ordered_at, updated_at"
    )
    return (
        f"SELECT {masked}, DATE {lit(ctx.day.isoformat())} AS day "
        f"FROM (\n{model_sql(ctx, 'gold', 'customer_orders')}\n) AS model"
    )


def gold_daily_revenue_sql(ctx: Context) -> str:
    return f"SELECT *, DATE {lit(ctx.day.isoformat())} AS day FROM (\n{model_sql(ctx, 'gold', 'daily_revenue')}\n) AS model"


def parquet_path(ctx: Context, qualified: str) -> Path:
    layer, name = qualified.split(".")
    return ctx.out / layer / name / f"day={ctx.day.isoformat()}" / "part-0.parquet"


def expose(con: duckdb.DuckDBPyConnection, ctx: Context, qualified: str) -> None:
    """Make an earlier layer's Parquet output readable as ``layer.table`` by the model SQL."""
    layer, name = qualified.split(".")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    con.execute(f"CREATE OR REPLACE VIEW {layer}.{name} AS SELECT * FROM read_parquet({lit(str(parquet_path(ctx, qualified)))})")


def write(con: duckdb.DuckDBPyConnection, ctx: Context, qualified: str, sql: str) -> dict[str, float]:
    """COPY one table to Parquet; its row count and seconds."""
    target = parquet_path(ctx, qualified)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = con.execute(f"COPY ({sql}) TO {lit(str(target))} (FORMAT parquet, COMPRESSION zstd)").fetchone()
    return {"rows": int(rows[0]) if rows else 0, "seconds": round(time.perf_counter() - started, 3)}


def run(ctx: Context, con: duckdb.DuckDBPyConnection, key: bytes) -> dict[str, dict[str, float]]:
    """Every table of one day (``ctx.day``)."""
    tables: dict[str, dict[str, float]] = {}
    tables["bronze.hubspot_contacts"] = write(con, ctx, "bronze.hubspot_contacts", bronze_contacts_sql(ctx))
    tables["bronze.orders"] = write(con, ctx, "bronze.orders", bronze_orders_sql(ctx))
    expose(con, ctx, "bronze.hubspot_contacts")
    expose(con, ctx, "bronze.orders")
    tables["silver.customers_clean"] = write(con, ctx, "silver.customers_clean", silver_sql(ctx, "customers_clean"))
    tables["silver.orders_clean"] = write(con, ctx, "silver.orders_clean", silver_sql(ctx, "orders_clean"))
    expose(con, ctx, "silver.customers_clean")
    expose(con, ctx, "silver.orders_clean")
    tables["gold.customer_orders"] = write(con, ctx, "gold.customer_orders", gold_customer_orders_sql(ctx, key))
    tables["gold.daily_revenue"] = write(con, ctx, "gold.daily_revenue", gold_daily_revenue_sql(ctx))
    return tables


def run_days(ctx: Context, days: list[dt.date]) -> dict[str, dict[str, float]]:
    """Every table of every day, day after day in one connection; rows and seconds summed per table."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    key = secrets.token_bytes(32)
    totals: dict[str, dict[str, float]] = {}
    for day in days:
        for name, figures in run(dataclasses.replace(ctx, day=day), con, key).items():
            total = totals.setdefault(name, {"rows": 0, "seconds": 0.0})
            total["rows"] += figures["rows"]
            total["seconds"] = round(total["seconds"] + figures["seconds"], 3)
    con.close()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="example project folder (landing/ and models/)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the Parquet output")
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2025, 10, 26))
    parser.add_argument("--start", type=dt.date.fromisoformat, help="first day of a range (with --end; instead of --day)")
    parser.add_argument("--end", type=dt.date.fromisoformat, help="last day of the range")
    args = parser.parse_args()
    if (args.start is None) != (args.end is None) or (args.start and args.start > args.end):
        parser.error("give --start and --end together, --start not after --end")
    first, last = (args.start, args.end) if args.start else (args.day, args.day)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = f"{now:%Y%m%dT%H%M%S}-{hashlib.sha256(secrets.token_bytes(8)).hexdigest()[:6]}"
    ctx = Context(args.project.resolve(), args.out.resolve(), first, run_id, now.isoformat(sep=" "))
    print(json.dumps({"tables": run_days(ctx, days)}))


if __name__ == "__main__":
    main()
