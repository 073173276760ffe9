"""``lakemend init``: a blank project, or a copy of an example project — both with the runbook's
scripts, a landing folder and a git-ignored masking key."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from importlib import resources
from pathlib import Path

from lakemend.errors import UsageError

EXAMPLES = ("company",)
BLANK = "blank"
EXAMPLE_START = dt.date(2025, 10, 20)
EXAMPLE_END = dt.date(2025, 10, 27)
GITIGNORE = """# lakemend: data, state and secrets stay out of git
lake/
landing/
.lakemend/
"""
BLANK_YAML = """# A lakemend project. Reference: docs/project-files.md (every key, with its default).
# Uncomment and adapt the examples below; `lakemend ls` lists the tables once they load.
name: {name}
warehouse: ./lake                     # data files: lake/<layer>/<table>/day=YYYY-MM-DD/
raw: ./landing                        # the landing zone the sources deliver into
catalog: {{type: sql, uri: "sqlite:///lake/catalog.db", name: lakemend}}
engine: duckdb
dialect: duckdb                       # dialect the models are written in
state: "sqlite:///.lakemend/state.db" # run ledger, fingerprints, leases, pause flags
logs:
  path: ./.lakemend/logs              # one JSON-lines log per run
lineage:
  transport: file
  path: ./.lakemend/lineage
masking:
  key_env: LAKEMEND_MASK_KEY          # wins over key_file when set
  key_file: .lakemend/mask.key        # made by `lakemend init`, never committed

# Bronze: one table per kind of landing file. A day's files live under raw/, at a path with {{date}}.
sources: {{}}
#   shop:
#     bronze:
#       orders:
#         path: "orders/{{date}}/*.csv"           # landing/orders/2025-10-26/export-1.csv
#         format: csv                           # csv | jsonl | parquet
#         unique_key: [order_id]
#         columns:
#           order_id: {{type: string, required: true}}
#           email: string
#           amount: {{type: "decimal(12,2)", required: true}}
#           ordered_at: {{type: timestamp, required: true}}   # ISO 8601; format: epoch_s | epoch_ms for numbers

# Silver and gold: one SELECT per table (models/<layer>/<table>.sql), reading only its depends_on.
silver: {{}}
#   orders_clean:
#     sql: models/silver/orders_clean.sql       # SELECT order_id, lower(email) AS email, amount, ordered_at FROM bronze.orders
#     depends_on: [bronze.orders]               # each input's same day (days: upto | window: N for more)
#     unique_key: [order_id]
#     dedup_order_by: ordered_at DESC
#     contract: contracts/orders_clean.yaml     # columns: {{order_id: {{nullable: false, unique: true}}}}

gold: {{}}
#   revenue_by_customer:
#     sql: models/gold/revenue_by_customer.sql  # SELECT email, count(*) AS orders, sum(amount) AS revenue FROM silver.orders_clean GROUP BY email
#     depends_on: [silver.orders_clean]
#     mask: {{email: hash}}                       # PII leaves gold masked: hash | redact | partial
"""


def examples_root() -> Path:
    return Path(str(resources.files("lakemend") / "examples"))


def init_project(target: Path, example: str | None = None, *, force: bool = False) -> Path:
    """Make a project in ``target``: ``example`` (one of :data:`EXAMPLES`) copied, or — ``None`` —
    a blank one (a ``lakemend.yaml`` of commented examples and empty folders). Either way with
    ``aws/scripts``, ``landing/``, ``.lakemend/mask.key`` (owner-only) and a ``.gitignore``."""
    if example is not None and example not in EXAMPLES:
        raise UsageError(f"unknown example {example!r}", f"available: {', '.join(EXAMPLES)} (or none for a blank project)")
    target = target.resolve()
    if (target / "lakemend.yaml").exists() and not force:
        raise UsageError(f"{target} already holds a lakemend project", "choose another folder or pass --force to overwrite its files")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file", "choose a folder")
    root = examples_root()
    if example is None:
        _blank(target)
    else:
        shutil.copytree(root / example, target, dirs_exist_ok=True)
    scripts = target / "aws" / "scripts"
    shutil.copytree(root / "aws" / "scripts", scripts, dirs_exist_ok=True)
    for script in scripts.glob("*.sh"):
        script.chmod(0o755)
    (target / "landing").mkdir(exist_ok=True)
    state = target / ".lakemend"
    state.mkdir(exist_ok=True)
    key = state / "mask.key"
    if not key.exists():
        key.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
        key.chmod(0o600)
    ignore = target / ".gitignore"
    if not ignore.exists():
        ignore.write_text(GITIGNORE, encoding="utf-8")
    return target


def _blank(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in target.name) or "lake"
    (target / "lakemend.yaml").write_text(BLANK_YAML.format(name=name), encoding="utf-8")
    for folder in ("models/silver", "models/gold", "contracts"):
        (target / folder).mkdir(parents=True, exist_ok=True)
