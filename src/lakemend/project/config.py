"""Typed models of ``lakemend.yaml`` and of table contracts.

Every model forbids unknown keys, so a typo fails loudly with the file and the key path
instead of being silently ignored.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lakemend.errors import ConfigError

NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")
SCALAR_TYPES = ("string", "integer", "bigint", "double", "boolean", "date", "timestamp")
DECIMAL_TYPE = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")


def check_name(value: str, what: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(f"{what} {value!r} must be lower-case letters, digits and _ (start with a letter)")
    return value


def check_column_type(value: str) -> str:
    value = value.strip().lower()
    if value in SCALAR_TYPES or DECIMAL_TYPE.match(value):
        return value
    allowed = ", ".join(SCALAR_TYPES) + ", decimal(P,S)"
    raise ValueError(f"unknown column type {value!r}; allowed: {allowed}")


def check_location(value: str, what: str) -> str:
    """A local path, ``file://`` URI or ``s3://bucket[/prefix]``; other schemes are refused."""
    scheme = urlparse(value).scheme
    if "://" in value and scheme not in ("s3", "file"):
        raise ValueError(f"{what} {value!r}: only local folders, file:// and s3://bucket/prefix are supported")
    if scheme == "s3" and not urlparse(value).netloc:
        raise ValueError(f"{what} {value!r} names no bucket (s3://bucket/prefix)")
    return value


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(StrictModel):
    """One landing field kept in bronze: a scalar type, or ``fields`` for a nested object."""

    type: str | None = None
    """Scalar type (string, integer, bigint, double, boolean, date, timestamp, decimal(P,S))."""
    fields: dict[str, ColumnSpec] | None = None
    """Nested fields of an object column (JSON sources); stored as an Iceberg struct."""
    required: bool = False
    """A record without a value here is quarantined; a file without the column fails the job."""
    format: Literal["iso", "epoch_s", "epoch_ms"] | None = None
    """How a ``timestamp`` is written: ISO 8601 text (the default; an offset is converted to
    UTC), or seconds / milliseconds since 1970-01-01 UTC. A value in another form is quarantined."""

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, dict) and "type" not in value and "fields" not in value and value:
            if all(isinstance(v, (str, dict)) for v in value.values()) and "required" not in value:
                return {"fields": value}
        return value

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str | None) -> str | None:
        return None if value is None else check_column_type(value)

    @model_validator(mode="after")
    def _one_of(self) -> ColumnSpec:
        if (self.type is None) == (self.fields is None):
            raise ValueError("give either a type or nested fields")
        if self.format is not None and self.type != "timestamp":
            raise ValueError("format (iso | epoch_s | epoch_ms) applies to timestamp columns only")
        return self


class BronzeTableConfig(StrictModel):
    path: str
    """Landing files of one day, relative to ``raw``; must contain ``{date}`` (YYYY-MM-DD)."""
    format: Literal["jsonl", "csv", "parquet"]
    columns: dict[str, ColumnSpec]
    """Fields kept as delivered; undeclared fields are kept as JSON in ``_extra``."""
    unique_key: list[str] = Field(default_factory=list)
    description: str = ""
    max_line_bytes: Annotated[int, Field(ge=1, le=1 << 30)] = 16 << 20
    """Longest line a landing file may have (CSV and JSON lines); a longer one is quarantined."""

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if "{date}" not in value:
            raise ValueError("path must contain {date}, e.g. 'orders/{date}/*.csv'")
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError("path must be relative to raw and stay inside it (no '..')")
        return value

    @field_validator("columns")
    @classmethod
    def _check_columns(cls, value: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        if not value:
            raise ValueError("declare at least one column")
        for name in value:
            if name.startswith("_") or name == "day":
                raise ValueError(f"column name {name!r} is reserved (day and names starting with _)")
        return value


class SourceConfig(StrictModel):
    bronze: dict[str, BronzeTableConfig]

    @field_validator("bronze")
    @classmethod
    def _names(cls, value: dict[str, BronzeTableConfig]) -> dict[str, BronzeTableConfig]:
        for name in value:
            check_name(name, "bronze table name")
        return value


class Dependency(StrictModel):
    """An input of a model and which of its days a target day reads."""

    table: str
    days: Literal["same", "upto"] | None = None
    window: Annotated[int, Field(ge=1, le=3660)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"table": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_mapping(self) -> Dependency:
        if self.days is not None and self.window is not None:
            raise ValueError("give either days (same | upto) or window: N, not both")
        return self

    @property
    def mapping(self) -> str:
        if self.window is not None:
            return f"window:{self.window}"
        return self.days or "same"


MaskPolicy = Literal["hash", "redact", "partial"]


class ModelTableConfig(StrictModel):
    sql: str
    """Path of the model's SELECT, relative to the project."""
    depends_on: list[Dependency]
    unique_key: list[str] = Field(default_factory=list)
    """Rows sharing this key are deduplicated, keeping the latest by ``dedup_order_by``."""
    dedup_order_by: str | None = None
    """SQL ORDER BY of the row to keep when deduplicating, e.g. ``updated_at DESC``."""
    contract: str | None = None
    mask: dict[str, MaskPolicy] = Field(default_factory=dict)
    # pii and pii_patterns gate a publish and never shape rows: left out of model_dump, so they are
    # not part of a table's code hash (setting them does not make built partitions stale)
    pii: Literal["forbid", "allow"] | None = Field(default=None, exclude=True)
    """``forbid``: the publish gate (and ``verify``) refuse e-mail addresses, phone numbers and
    ``pii_patterns`` in every text column that is not masked; ``allow``: no gate. Default: forbid
    for gold tables, allow for silver ones (forbid when ``pii_patterns`` is given)."""
    pii_patterns: list[str] = Field(default_factory=list, exclude=True)
    """More regular expressions (RE2: no look-arounds or back-references) the gate refuses, e.g. ``'\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b'``."""
    description: str = ""

    @field_validator("pii_patterns")
    @classmethod
    def _check_pii_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern:
                raise ValueError("an empty pattern matches every value")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
            if re.search(r"\(\?[=!<]|\\[1-9]", pattern):
                raise ValueError(f"{pattern!r} uses a look-around or back-reference, which DuckDB's RE2 cannot run")
        return value

    @model_validator(mode="after")
    def _inputs(self) -> ModelTableConfig:
        if not self.depends_on:
            raise ValueError("depends_on must name at least one input table")
        if self.dedup_order_by and not self.unique_key:
            raise ValueError("dedup_order_by needs unique_key")
        if self.pii == "allow" and self.pii_patterns:
            raise ValueError("pii_patterns has no effect with pii: allow")
        return self


CATALOG_DEFAULT_URI = "sqlite:///lake/catalog.db"


class CatalogConfig(StrictModel):
    """Where the Iceberg tables are registered.

    ``sql``: a SQLAlchemy database (the tables of pyiceberg's SqlCatalog); ``jdbc`` is the same database shared with
    Spark's JdbcCatalog (one catalog name on both sides). ``glue``: the AWS Glue Data Catalog of
    ``aws.region`` (``aws.endpoint_url`` for a local moto_server). ``rest``: an Iceberg REST catalog.
    """

    type: Literal["sql", "jdbc", "glue", "rest"] = "sql"
    uri: str | None = None
    """sql/jdbc: a SQLAlchemy URL (default ``sqlite:///lake/catalog.db``); rest: the catalog's URL; glue: none."""
    name: str = "lakemend"
    """The catalog name (Spark's catalog name too; default ``glue`` for a glue catalog)."""
    properties: dict[str, str] = Field(default_factory=dict)
    """Extra pyiceberg catalog properties, passed through as given (never put secrets here)."""

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = dict(value)
            kind = value.get("type", "sql")
            if kind in ("sql", "jdbc"):
                value.setdefault("uri", CATALOG_DEFAULT_URI)
            elif kind == "glue":
                value.setdefault("name", "glue")
        return value

    @model_validator(mode="after")
    def _uri(self) -> CatalogConfig:
        if self.type == "rest" and not self.uri:
            raise ValueError("a rest catalog needs uri (the catalog's URL)")
        if self.type == "glue" and self.uri:
            raise ValueError("a glue catalog takes no uri (set aws.region, and aws.endpoint_url for a test endpoint)")
        return self

    @property
    def is_sql(self) -> bool:
        """``sql`` and ``jdbc`` name the same kind of catalog: a database with the tables of pyiceberg's SqlCatalog."""
        return self.type in ("sql", "jdbc")


class MaskingConfig(StrictModel):
    key_env: str = "LAKEMEND_MASK_KEY"
    """Environment variable holding the secret of the keyed hash."""
    key_file: str | None = None
    """A file holding the secret, relative to the project (``lakemend init`` makes one, git-ignored)."""
    key: str | None = None
    """The secret itself (prefer key_env or key_file; never commit a real key)."""


class S3Config(StrictModel):
    """The S3 data plane (warehouse and landing zone on ``s3://``).

    Credentials come from the usual AWS environment variables (``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) and are never stored in the file.
    """

    endpoint_url: str | None = None
    """An S3-compatible endpoint, e.g. ``http://127.0.0.1:8333``; when unset, ``$AWS_ENDPOINT_URL_S3``."""
    path_style: bool = False
    """Address buckets as ``endpoint/bucket/key`` (most S3-compatible servers) instead of ``bucket.endpoint``."""


class EmrServerlessConfig(StrictModel):
    """``engine: emr-serverless``: one EMR Serverless job run per table and run of consecutive days."""

    application_id: str
    """The EMR Serverless application (type SPARK) the job runs start on."""
    execution_role_arn: str
    """The IAM role the job runs assume (S3, Glue and logs access; see docs/aws.md)."""
    artifacts: str
    """``s3://bucket/prefix``: where ``lakemend aws package`` uploads the entry point, environment and project."""
    log_uri: str
    """``s3://bucket/prefix``: job-run logs go to ``<log_uri>/<run_id>/``."""
    release_label: str = "emr-7.5.0"
    timeout_minutes: Annotated[int, Field(ge=5, le=7 * 24 * 60)] = 120
    """A job run still running after this long is stopped by EMR (and fails the job); at least 5."""
    spark_submit_parameters: str = ""
    """Extra spark-submit parameters appended as given, e.g. ``--conf spark.executor.memory=8g``."""

    @field_validator("artifacts", "log_uri")
    @classmethod
    def _s3_uri(cls, value: str) -> str:
        if not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", value):
            raise ValueError(f"{value!r} must be an s3://bucket/prefix URI")
        return value.rstrip("/")

    @field_validator("execution_role_arn")
    @classmethod
    def _role(cls, value: str) -> str:
        if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        return value


class AwsConfig(StrictModel):
    """Where AWS control-plane calls go (tests point endpoint_url at a local moto_server)."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    s3: S3Config = Field(default_factory=S3Config)
    emr_serverless: EmrServerlessConfig | None = None
    """Where ``engine: emr-serverless`` runs its job runs (see docs/aws.md)."""


class SparkConfig(StrictModel):
    """``engine: spark``: a local (or given) Spark master with the Iceberg runtime (see docs/spark.md)."""

    master: str = "local[2]"
    jars_dir: str = ".spark-jars"
    """The folder ``make spark-jars`` fills (Iceberg Spark runtime, AWS bundle, SQLite JDBC), relative to the
    project or absolute; ``$LAKEMEND_SPARK_JARS`` wins when set."""
    conf: dict[str, str] = Field(default_factory=dict)
    """Extra ``spark.*`` settings, applied last."""


class CloudWatchMetricsConfig(StrictModel):
    namespace: str = "LakeMend/Backfill"
    emf: bool = True
    """Write Embedded Metric Format lines into the run's JSON log."""
    put_metric_data: bool = False
    """Also call CloudWatch put_metric_data after each job."""


class MetricsConfig(StrictModel):
    prometheus_textfile: str | None = None
    """A node_exporter textfile-collector path, rewritten after every run."""
    cloudwatch: CloudWatchMetricsConfig | None = None


class CloudWatchLogsConfig(StrictModel):
    group: str = "/aws/etl/backfill"


class LogsConfig(StrictModel):
    path: str = "./.lakemend/logs"
    """One structured JSON-lines log per run: <path>/<run_id>.jsonl."""
    cloudwatch: CloudWatchLogsConfig | None = None


class LineageConfig(StrictModel):
    transport: Literal["file", "http", "cloudwatch"] = "file"
    path: str = "./.lakemend/lineage"
    """File transport: one JSON-lines file of OpenLineage events per day."""
    url: str | None = None
    """HTTP transport: an OpenLineage endpoint (e.g. Marquez, http://host:5000/api/v1/lineage)."""
    log_group: str = "/aws/etl/lineage"
    namespace: str = "lakemend"


NotifyEvent = Literal["job_failed", "dq_failed", "incident_opened", "incident_closed"]


class NotifyTarget(StrictModel):
    type: Literal["webhook", "sns"]
    url: str | None = None
    """Webhook URL (Slack-compatible JSON payload)."""
    token_env: str | None = None
    """Environment variable holding a bearer token for the webhook (never logged)."""
    topic_arn: str | None = None
    on: list[NotifyEvent] = Field(default_factory=lambda: ["job_failed", "dq_failed", "incident_opened", "incident_closed"])

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, value: Any) -> Any:
        """YAML 1.1 (PyYAML) reads a bare ``on:`` key as the boolean true; take it back as ``on``."""
        if isinstance(value, dict) and True in value and "on" not in value:
            return {("on" if key is True else key): item for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _target(self) -> NotifyTarget:
        if self.type == "webhook" and not self.url:
            raise ValueError("a webhook target needs url")
        if self.type == "sns" and not self.topic_arn:
            raise ValueError("an sns target needs topic_arn")
        return self


CALENDAR_FIRST, CALENDAR_LAST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
"""The days a calendar may name: every day in between is enumerated (and 9999-12-31 has no next day)."""


class CalendarConfig(StrictModel):
    """The days a source is expected to deliver, for `gaps` and `status` (default: the landing days)."""

    start: dt.date
    end: dt.date | None = None
    """Last expected day (default: yesterday, UTC)."""
    weekdays_only: bool = False

    @field_validator("start", "end")
    @classmethod
    def _in_range(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and not CALENDAR_FIRST <= value <= CALENDAR_LAST:
            raise ValueError(f"{value} is outside {CALENDAR_FIRST} … {CALENDAR_LAST}; give the real first or last delivery day")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CalendarConfig:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class ProjectConfig(StrictModel):
    name: str
    warehouse: str = "./lake"
    raw: str = "./landing"
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    engine: Literal["duckdb", "spark", "emr-serverless"] = "duckdb"
    dialect: str = "duckdb"
    state: str = "sqlite:///.lakemend/state.db"
    logs: LogsConfig = Field(default_factory=LogsConfig)
    masking: MaskingConfig = Field(default_factory=MaskingConfig)
    aws: AwsConfig = Field(default_factory=AwsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    lineage: LineageConfig = Field(default_factory=LineageConfig)
    notify: list[NotifyTarget] = Field(default_factory=list)
    calendar: CalendarConfig | None = None
    spark: SparkConfig = Field(default_factory=SparkConfig)
    sources: dict[str, SourceConfig]
    silver: dict[str, ModelTableConfig] = Field(default_factory=dict)
    gold: dict[str, ModelTableConfig] = Field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Named variants of the settings above (``--profile NAME`` / ``$LAKEMEND_PROFILE``): each
    key a profile gives replaces that top-level key as a whole; see :func:`apply_profile`."""

    @field_validator("profiles", mode="before")
    @classmethod
    def _profiles(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: {} if body is None else body for name, body in value.items()}
        return value

    @field_validator("sources", "silver", "gold")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            check_name(name, "name")
        return value

    @field_validator("warehouse", "raw")
    @classmethod
    def _location(cls, value: str, info: Any) -> str:
        return check_location(value, info.field_name)

    @field_validator("logs", mode="before")
    @classmethod
    def _logs_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("dialect")
    @classmethod
    def _dialect(cls, value: str) -> str:
        if value in KNOWN_DIALECTS:  # no sqlglot import just to check a common name (tests check the list)
            return value
        from sqlglot.dialects.dialect import Dialect

        try:
            Dialect.get_or_raise(value)
        except ValueError as exc:
            raise ValueError(f"unknown SQL dialect {value!r} (sqlglot dialect names, e.g. duckdb, spark)") from exc
        return value


KNOWN_DIALECTS = frozenset({
    "athena", "bigquery", "clickhouse", "databricks", "duckdb", "hive", "mysql", "oracle", "postgres", "presto",
    "redshift", "snowflake", "spark", "spark2", "sqlite", "trino", "tsql",
})
"""Dialect names sqlglot knows, accepted without importing it; any other name is checked by sqlglot."""


class ColumnContract(StrictModel):
    type: str | None = None
    nullable: bool = True
    unique: bool = False
    accepted_values: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str | None) -> str | None:
        return None if value is None else check_column_type(value)

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class RowCountCheck(StrictModel):
    min: int | None = None
    max: int | None = None


class FreshnessCheck(StrictModel):
    column: str
    max_lag_hours: float
    """The newest value must be no older than this many hours before the end of the day."""


class RecentRowCountCheck(StrictModel):
    days: int = Field(default=7, ge=1)
    min_ratio: float = 0.0
    max_ratio: float | None = None


class TableChecks(StrictModel):
    row_count: RowCountCheck | None = None
    null_rate: dict[str, float] = Field(default_factory=dict)
    """Largest allowed share of NULLs per column (0..1)."""
    freshness: FreshnessCheck | None = None
    row_count_vs_recent: RecentRowCountCheck | None = None


class Contract(StrictModel):
    columns: dict[str, ColumnContract] = Field(default_factory=dict)
    checks: TableChecks = Field(default_factory=TableChecks)


def format_validation_error(exc: ValidationError, file: Path, where: dict[str, str] | None = None) -> str:
    """One line per problem: ``file: key.path: message`` (``where``: top-level key → the prefix it came from)."""
    lines = []
    for err in exc.errors():
        parts = [str(part) for part in err["loc"] if not str(part).startswith("function-")]
        if parts and where and parts[0] in where:
            parts.insert(0, where[parts[0]])
        loc = ".".join(parts)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/project-files.md)"
        elif err["type"] == "literal_error":
            message = message.replace("Input should be", "must be")
        lines.append(f"{file}: {loc or '(top level)'}: {message}")
    return "; ".join(lines)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} not found", "run `lakemend init DIR --example company` or pass --project") from None
    fast = getattr(yaml, "CSafeLoader", None)  # libyaml: the same documents, several times faster
    if fast is not None:
        try:
            return yaml.load(text, Loader=fast)  # CSafeLoader: the safe loader, in C
        except yaml.YAMLError:
            pass  # parse again below: the error names the problem in PyYAML's own words, as always
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})", "fix the YAML syntax") from None


def load_model(model: type[StrictModel], path: Path, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level", "see docs/project-files.md")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path), "see docs/project-files.md for the allowed keys") from None


PROFILE_ENV = "LAKEMEND_PROFILE"
NOT_IN_PROFILES = ("name", "sources", "silver", "gold", "profiles")
"""Keys a profile may not change: what the lake holds is the same in every profile."""


def apply_profile(path: Path, data: Any, profile: str | None) -> Any:
    """The file's settings with one profile's keys laid over the top-level ones.

    Each top-level key a profile gives replaces that key as a whole (a profile's ``aws:`` is the
    whole ``aws:`` section), so what a profile means can be read off the profile alone.
    """
    if not profile or not isinstance(data, dict):
        return data
    profiles = data.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: profiles: expected a mapping of profile name → settings", "see docs/project-files.md")
    if profile not in profiles:
        known = ", ".join(str(name) for name in profiles) or "none (the file has no profiles: section)"
        raise ConfigError(f"{path}: no profile {profile!r}; profiles: {known}",
                          f"use one of them with --profile or ${PROFILE_ENV}, or add it under profiles:")
    body = profiles[profile] or {}
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: profiles.{profile}: expected a mapping of settings", "see docs/project-files.md")
    for key in body:
        if key in NOT_IN_PROFILES:
            raise ConfigError(f"{path}: profiles.{profile}.{key}: a profile cannot change {key}",
                              f"profiles change where and how the lake runs; keep {key} at the top level")
    return {**data, **body}


def selected_profile(profile: str | None) -> str | None:
    """The profile in effect: the one given (``--profile``), else ``$LAKEMEND_PROFILE``, else none."""
    return profile or os.environ.get(PROFILE_ENV) or None


def load_project_config(path: Path, profile: str | None = None) -> ProjectConfig:
    """The project's settings, with ``profile`` (or ``$LAKEMEND_PROFILE``) applied when given.

    A problem in a key the profile gave is reported at its place in the file
    (``profiles.aws.catalog.type``), not at the top-level key it replaces.
    """
    data = read_yaml(path)
    name = selected_profile(profile)
    merged = apply_profile(path, data, name)
    if not isinstance(merged, dict):
        return load_model(ProjectConfig, path, merged)
    try:
        return ProjectConfig.model_validate(merged)
    except ValidationError as exc:
        given = (data.get("profiles") or {}).get(name) or {} if name else {}
        where = {str(key): f"profiles.{name}" for key in given}
        raise ConfigError(format_validation_error(exc, path, where), "see docs/project-files.md for the allowed keys") from None


def load_contract(path: Path) -> Contract:
    return load_model(Contract, path, read_yaml(path))


def mask_key(config: MaskingConfig, root: Path) -> bytes:
    """The secret of the keyed hash: the environment wins over key_file, which wins over key."""
    value = os.environ.get(config.key_env)
    if not value and config.key_file:
        key_path = root / config.key_file
        if key_path.is_file():
            value = key_path.read_text(encoding="utf-8").strip()
    value = value or config.key
    if not value:
        where = f"${config.key_env} is not set"
        if config.key_file:
            key_path = root / config.key_file
            where += f" and key_file {key_path} {'is empty' if key_path.is_file() else 'does not exist'}"
        raise ConfigError(
            f"no masking key: gold tables hash PII with a keyed SHA-256, but {where}",
            f"write a long random secret to {root / config.key_file} (owner-only; e.g. python -c \"import secrets; "
            f"print(secrets.token_urlsafe(48))\" > {config.key_file}) or export {config.key_env}=<secret> — "
            "keep the secret the lake was built with, or masked values change"
            if config.key_file else f"export {config.key_env}=<a long random secret> (or set masking.key_file in lakemend.yaml)",
        )
    return value.encode()
