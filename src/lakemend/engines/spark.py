"""The Spark engine (``engine: spark``): PySpark 3.5 with the Iceberg runtime, in ``local[N]`` or on a cluster.

One SparkSession per process (``getOrCreate``), reused by every job; each lakemend
:class:`~lakemend.engines.base.Session` is a ``newSession()`` of it (own temporary views and SQL
settings, shared JVM and cache), so parallel builds do not see each other's ``_checked``.

lakemend's SQL arrives in the canonical dialect (DuckDB) and is transpiled with sqlglot. What
Spark has no statement for is done with DataFrames: ``CREATE TEMP TABLE … AS`` (a persisted
view), a temp table with a column list plus ``INSERT … VALUES`` (the masking key), views named
``layer.table`` (temporary views ``layer__table``, with every reference rewritten), ``UNION ALL BY
NAME`` (``unionByName``) and ``DESCRIBE`` (the DataFrame's schema in DuckDB's type names).

Writes go through :class:`SparkWriter` (``Engine.writer``): ``lakemend.iceberg.publish`` stages a
day on a branch with it, audits, and publishes with ``fast_forward``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakemend.engines.arrow import normalize
from lakemend.errors import ConfigError, LakemendError, SqlError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakemend.project.project import Project

DIALECT = "spark"
JARS = ("iceberg-spark-runtime-3.5_2.12-", "iceberg-aws-bundle-", "sqlite-jdbc-")
"""The jars ``make spark-jars`` fetches (spark-jars.pom), by file-name prefix."""
JARS_ENV = "LAKEMEND_SPARK_JARS"
FETCH_HINT = "run `make spark-jars` in the lakemend checkout (needs Maven), or point $LAKEMEND_SPARK_JARS at the jars"

LOCAL_TUNING = {
    # small local jobs: C1-only JIT halves the JVM's CPU time, and adaptive query execution only adds
    # stages (measured: docs/spark.md). Only for a session lakemend starts in local mode, never in
    # spark_conf (a cluster keeps its own); spark.conf in lakemend.yaml overrides both.
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
    "spark.sql.adaptive.enabled": "false",
}

_ROOT: SparkSession | None = None
_ROOT_LOCK = threading.Lock()


# ----- configuration -------------------------------------------------------------------------

def jdbc_url(sqlalchemy_url: str) -> tuple[str, dict[str, str]]:
    """The JDBC URL (and user/password properties) of a SQLAlchemy URL of the SQL catalog."""
    from urllib.parse import unquote, urlparse

    if sqlalchemy_url.startswith("sqlite:///"):
        return "jdbc:sqlite:" + sqlalchemy_url[len("sqlite:///"):], {}
    parsed = urlparse(sqlalchemy_url)
    if parsed.scheme.split("+")[0] in ("postgresql", "postgres"):
        props = {}
        if parsed.username:
            props["jdbc.user"] = unquote(parsed.username)
        if parsed.password:
            props["jdbc.password"] = unquote(parsed.password)
        return f"jdbc:postgresql://{parsed.hostname}:{parsed.port or 5432}{parsed.path}", props
    raise ConfigError(f"the Spark engine cannot reach the catalog database {sqlalchemy_url.split(':')[0]}:…",
                      "use a sqlite:/// or postgresql:// catalog uri with engine: spark")


def catalog_conf(project: Project) -> dict[str, str]:
    """``spark.sql.catalog.<name>.*``: the project's Iceberg catalog as Spark sees it.

    ``sql``/``jdbc``: a JdbcCatalog on the very database lakemend's SQL catalog uses (the tables of
    pyiceberg's SqlCatalog, ``iceberg.sql_catalog``), under the same catalog name (the name is part
    of every row's key); lakemend creates the catalog tables, so Spark must not
    (``jdbc.init-catalog-tables=false``; Spark's own init locks SQLite on old runtimes). ``glue``:
    the Glue Data Catalog of ``aws.region``. ``rest``: a REST catalog.
    Caching is off: pyiceberg commits too, and a cached table would be read stale.
    """
    from lakemend.project.storage import is_s3

    config = project.config
    name = config.catalog.name
    prefix = f"spark.sql.catalog.{name}"
    conf = {prefix: "org.apache.iceberg.spark.SparkCatalog", f"{prefix}.warehouse": project.warehouse_uri,
            f"{prefix}.cache-enabled": "false"}
    if config.catalog.is_sql:
        url, props = jdbc_url(project.catalog_uri)
        conf.update({f"{prefix}.type": "jdbc", f"{prefix}.uri": url, f"{prefix}.jdbc.init-catalog-tables": "false"})
        conf.update({f"{prefix}.{k}": v for k, v in props.items()})
    elif config.catalog.type == "glue":
        conf[f"{prefix}.type"] = "glue"
        conf[f"{prefix}.client.region"] = config.aws.region
        if config.aws.endpoint_url:
            conf[f"{prefix}.glue.endpoint"] = config.aws.endpoint_url
    else:
        assert config.catalog.uri is not None
        conf.update({f"{prefix}.type": "rest", f"{prefix}.uri": config.catalog.uri})
    if is_s3(config.warehouse) or config.catalog.type == "glue":
        settings = project.s3
        conf.update({f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO", f"{prefix}.client.region": settings.region})
        if settings.endpoint_url:
            conf[f"{prefix}.s3.endpoint"] = settings.endpoint_url
        if settings.path_style:
            conf[f"{prefix}.s3.path-style-access"] = "true"
    return conf


def session_conf(project: Project) -> dict[str, str]:
    """The settings every lakemend Spark session needs (changeable per session, unlike :func:`spark_conf`'s rest)."""
    conf = {
        "spark.sql.session.timeZone": "UTC",
        # DuckDB's TIMESTAMP has no time zone, and pyiceberg's ``timestamp`` is Spark's TIMESTAMP_NTZ
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    conf.update(catalog_conf(project))
    conf.update(project.config.spark.conf)
    return conf


def spark_conf(project: Project, *, local: bool = True) -> dict[str, str]:
    """Every Spark setting of the project: Iceberg extensions, its catalog, UTC, and (``local``) the
    loopback-only local mode with the pinned jars. ``local=False`` leaves out what a cluster sets
    itself (master, jars, bind addresses): the EMR engine passes the rest as ``--conf``."""
    conf = {"spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"}
    if local:
        conf.update({
            "spark.master": project.config.spark.master,
            "spark.app.name": f"lakemend {project.config.name}",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "2",  # small days on few cores; a cluster keeps its own
        })
        try:
            conf["spark.jars"] = ",".join(str(p) for p in jar_paths(project))
        except ConfigError:
            pass  # reported by check_runtime when a session starts; the other settings are still useful
    conf.update(session_conf(project))
    return conf


def jars_dir(project: Project) -> Path:
    """``$LAKEMEND_SPARK_JARS``, else ``spark.jars_dir`` relative to the project, else to the working directory."""
    if os.environ.get(JARS_ENV):
        return Path(os.environ[JARS_ENV]).expanduser().resolve()
    configured = Path(project.config.spark.jars_dir).expanduser()
    if configured.is_absolute():
        return configured
    candidates = [project.root / configured, Path.cwd() / configured]
    return next((c.resolve() for c in candidates if c.is_dir()), candidates[0])


def jar_paths(project: Project) -> list[Path]:
    """The pinned jars, or a one-line error saying how to fetch them."""
    folder = jars_dir(project)
    found = []
    for prefix in JARS:
        matches = sorted(folder.glob(f"{prefix}*.jar")) if folder.is_dir() else []
        if not matches:
            raise ConfigError(f"the Spark engine needs {prefix.rstrip('-')}*.jar, which is not in {folder}", FETCH_HINT)
        found.append(matches[-1])
    return found


def check_runtime(project: Project) -> None:
    """Java, pyspark and the jars are there — else one line saying what to install."""
    if not (shutil.which("java") or (os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists())):
        raise ConfigError("the Spark engine needs Java (17), and none was found on PATH or in $JAVA_HOME",
                          "install a JRE 17 (e.g. apt-get install openjdk-17-jre-headless)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError("the Spark engine needs pyspark, which is not installed",
                          "pip install 'lakemend[spark]'") from None
    jar_paths(project)


def adopt(session: SparkSession) -> None:
    """Make ``session`` the process's one SparkSession: one that spark-submit configured (EMR's master,
    executors and jars), used as it is instead of the engine's own ``local[N]`` settings."""
    global _ROOT
    with _ROOT_LOCK:
        _ROOT = session


def root_session(project: Project) -> SparkSession:
    """The process's one SparkSession (started on first use with this project's settings)."""
    global _ROOT
    with _ROOT_LOCK:
        if _ROOT is not None and _ROOT._jsc is not None and not _ROOT._jsc.sc().isStopped():
            return _ROOT
        check_runtime(project)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM inherits it: every port on loopback
        from pyspark.sql import SparkSession

        conf = spark_conf(project)
        if conf["spark.master"].startswith("local"):
            tuning = dict(LOCAL_TUNING)
            tuning["spark.driver.extraJavaOptions"] += f" -Dlog4j2.configurationFile={_quiet_log_config()}"
            conf = {**tuning, **conf}
        builder = SparkSession.builder
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            _ROOT = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - the JVM's own failure, as one line
            raise LakemendError(f"Spark did not start: {first_line(exc)}", "check Java 17 and the jars (docs/spark.md)") from None
        _ROOT.sparkContext.setLogLevel("ERROR")
        return _ROOT


_LOG_CONFIG = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.ivy.name = org.apache.spark.deploy.SparkSubmitUtils
logger.ivy.level = error
"""


def _quiet_log_config() -> Path:
    """A log4j2 file keeping Spark's JVM to warnings on stderr, without its start-up chatter (WARN is also
    the level pyspark announces unless the root logger is at it already)."""
    path = Path(tempfile.gettempdir()) / f"lakemend-spark-log4j2-{os.getuid()}.properties"
    if not path.exists() or path.read_text() != _LOG_CONFIG:
        path.write_text(_LOG_CONFIG)
    return path


def stop() -> None:
    """Stop the process's SparkSession (tests; a CLI process simply exits)."""
    global _ROOT
    with _ROOT_LOCK:
        if _ROOT is not None:
            _ROOT.stop()
            _ROOT = None


def first_line(exc: BaseException) -> str:
    """The first meaningful line of a Spark/py4j error (no JVM stack trace)."""
    text = getattr(exc, "desc", None) or str(exc)
    for line in str(text).splitlines():
        line = line.strip()
        if line and not line.startswith(("An error occurred while calling", "at ", "JVM stacktrace")):
            return line
    return type(exc).__name__


# ----- the engine -----------------------------------------------------------------------------

class SparkEngine:
    """Spark SQL through PySpark: sessions transpile the canonical dialect, the writer writes Iceberg."""

    name = "spark"
    dialect = DIALECT
    parallel_sessions = False  # the sessions share the one JVM's executors

    def __init__(self, project: Project | None = None) -> None:
        if project is None:
            raise ConfigError("the Spark engine needs the project (catalog, warehouse)", "open it with open_engine(name, project)")
        self.project = project
        self._spark: SparkSession | None = None
        self._lock = threading.Lock()

    def spark(self) -> SparkSession:
        """This project's session: the process's SparkSession with the project's catalog settings."""
        with self._lock:
            if self._spark is None:
                self._spark = self.new_spark()
            return self._spark

    def new_spark(self) -> SparkSession:
        spark = root_session(self.project).newSession()
        for key, value in session_conf(self.project).items():
            try:
                spark.conf.set(key, value)
            except Exception as exc:  # noqa: BLE001 - static settings (JVM options, …) were given when the session started
                if "CANNOT_MODIFY_CONFIG" not in str(exc):
                    raise SqlError(f"spark setting {key}: {first_line(exc)}") from None
        return spark

    def session(self, *, side_by_side: int = 1) -> SparkSqlSession:
        """A new Spark session of the one JVM (its executors are shared: ``side_by_side`` changes nothing)."""
        return SparkSqlSession(self.new_spark())

    @property
    def writer(self) -> SparkWriter:
        return SparkWriter(self)


class SparkWriter:
    """Iceberg writes and Iceberg SQL (branches, tags, procedures) on the project's catalog."""

    def __init__(self, engine: SparkEngine) -> None:
        self.engine = engine
        self.catalog = engine.project.config.catalog.name

    def identifier(self, qualified: str, ref: str | None = None) -> str:
        parts = [self.catalog, *qualified.split(".")] + ([f"branch_{ref}"] if ref else [])
        return ".".join("`" + p.replace("`", "``") + "`" for p in parts)

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """One statement in Spark SQL (with Iceberg's extensions) against the catalog."""
        try:
            return [tuple(r) for r in self.engine.spark().sql(statement).collect()]
        except Exception as exc:  # noqa: BLE001 - py4j/AnalysisException as lakemend's SqlError
            raise SqlError(first_line(exc)) from None

    def overwrite_day(self, qualified: str, branch: str, rows: pa.Table, day: dt.date, properties: dict[str, str]) -> None:
        """Replace every row of ``day`` on ``branch`` with ``rows`` (zero rows: the day is emptied), in one commit."""
        from pyspark.sql import functions as F

        spark = self.engine.spark()
        folder = Path(tempfile.mkdtemp(prefix="lakemend-spark-"))
        try:
            frame = _arrow_frame(spark, rows, folder)
            writer = frame.writeTo(self.identifier(qualified, branch))
            for key, value in properties.items():
                writer = writer.option(f"snapshot-property.{key}", value)
            writer.overwrite(F.col("day") == F.lit(day))
        except Exception as exc:  # noqa: BLE001
            raise SqlError(first_line(exc)) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)


    def move_main(self, qualified: str, snapshot_id: int, *, ancestor: bool) -> None:
        """``CALL <catalog>.system.rollback_to_snapshot`` (an ancestor of main) or ``set_current_snapshot``
        (any other snapshot of the table): main points at ``snapshot_id``, in one metadata commit."""
        procedure = "rollback_to_snapshot" if ancestor else "set_current_snapshot"
        table = qualified.replace("'", "''")
        self.sql(f"CALL `{self.catalog}`.system.{procedure}(table => '{table}', snapshot_id => {int(snapshot_id)})")


# ----- one session ----------------------------------------------------------------------------

_DUCK_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
               "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE", "binary": "BLOB",
               "timestamp_ntz": "TIMESTAMP", "timestamp": "TIMESTAMP WITH TIME ZONE", "void": "NULL"}


def duck_type(spark_type: str) -> str:
    """A Spark type name as DuckDB's DESCRIBE names it (what lakemend's checks compare against)."""
    simple = _DUCK_TYPES.get(spark_type)
    if simple:
        return simple
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    if spark_type.startswith("array<"):
        return duck_type(spark_type[6:-1]) + "[]"
    return spark_type.upper().replace("STRING", "VARCHAR")  # struct<…>, map<…>: VARCHAR inside is what counts


_NAMES = itertools.count()


class SparkSqlSession:
    """A :class:`~lakemend.engines.base.Session` on a ``newSession()`` of the process's SparkSession."""

    dialect = DIALECT

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self.views: dict[tuple[str, str], str] = {}  # (layer, table) → temporary view name
        self.temporary: set[str] = set()  # every temporary view made here, dropped on close
        self.local: dict[str, tuple[Any, list[tuple[Any, ...]]]] = {}  # small temp tables: schema and rows, driver-side
        self.persisted: dict[str, list[DataFrame]] = {}  # cached temp tables by view name, freed on drop or close
        self.folder = Path(tempfile.mkdtemp(prefix="lakemend-spark-"))

    def __enter__(self) -> SparkSqlSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Session interface --
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            frame = self._statement(sql, list(params or []))
            if frame is None or isinstance(frame, list):
                return frame or []
            return [tuple(r) for r in frame.collect()]
        except LakemendError:
            raise
        except Exception as exc:  # noqa: BLE001 - Spark's AnalysisException, py4j errors
            raise SqlError(first_line(exc)) from None

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        from pyspark.sql.pandas.types import to_arrow_schema

        try:
            frame = self._statement(sql, list(params or []))
            assert frame is not None and not isinstance(frame, list), "arrow() takes a query"
            batches = frame._collect_as_arrow()  # pyspark 3.5 has no public toArrow()
            table = pa.Table.from_batches(batches) if batches else to_arrow_schema(frame.schema).empty_table()
        except LakemendError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise SqlError(first_line(exc)) from None
        return normalize(table)

    def register(self, name: str, data: pa.Table) -> None:
        self._view(_arrow_frame(self.spark, data, self.folder), name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self.temporary.discard(name)
        for frame in self.persisted.pop(name, []):  # a temp table's cached rows go with its name
            frame.unpersist()

    def materialize(self, name: str, query: str) -> None:
        self.execute(f"CREATE TEMP TABLE {name} AS {query}")  # persisted once, kept on the cluster

    def parquet_relation(self, paths: Sequence[str]) -> str:
        name = f"_parquet_{next(_NAMES)}"
        self._view(self.spark.read.parquet(*paths), name)
        return name

    def lock_down(self) -> None:
        raise LakemendError("read-only queries (lakemend query) run on the duckdb engine only",
                            "query with a profile whose engine is duckdb; the tables are the same Iceberg tables")

    def close(self) -> None:
        for frames in self.persisted.values():
            for frame in frames:
                frame.unpersist()
        self.persisted.clear()
        for name in self.temporary:
            self.spark.catalog.dropTempView(name)
        self.temporary.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- canonical statements → Spark --
    def _view(self, frame: DataFrame, name: str) -> None:
        frame.createOrReplaceTempView(name)
        self.temporary.add(name)

    def _statement(self, sql: str, params: list[Any]) -> DataFrame | list[tuple[Any, ...]] | None:
        import sqlglot
        from sqlglot import exp

        from lakemend.engines.base import CANONICAL_DIALECT

        tree = sqlglot.parse_one(sql, read=CANONICAL_DIALECT)
        if isinstance(tree, exp.Create):
            return self._create(tree, params)
        if isinstance(tree, exp.Insert):
            return self._insert(tree, params)
        if isinstance(tree, exp.Describe):
            target = tree.this
            frame = self.spark.table(self._view_name(target)) if isinstance(target, exp.Table) else self._query(target, params)
            return [(f.name, duck_type(f.dataType.simpleString()), "YES") for f in frame.schema]  # analysis only, no job
        if isinstance(tree, exp.Drop):
            self._drop(tree)
            return None
        if isinstance(tree, exp.Set):
            return None  # DuckDB session settings (time zone, insertion order) are Spark session conf here
        return self._query(tree, params)

    def _drop(self, tree: Any) -> None:
        """``DROP TABLE|VIEW [IF EXISTS] t, …``: the views go, and a temp table's cached rows with them
        (a session that builds many days must not hold every day's)."""
        targets = [t for t in (tree.this, *(tree.expressions or ())) if t is not None]
        for target in targets:
            name = self._view_name(target)
            if name not in self.temporary:
                if tree.args.get("exists"):
                    continue
                raise SqlError(f"Table or view {name} does not exist")
            self.unregister(name)

    def _create(self, tree: Any, params: list[Any]) -> DataFrame | None:
        from sqlglot import exp

        kind = str(tree.args.get("kind") or "").upper()
        if kind in ("SCHEMA", "DATABASE"):
            return None  # layers are view-name prefixes here (see _view_name)
        target = tree.this
        if isinstance(target, exp.Schema):  # CREATE TEMP TABLE t (col type, …): small, kept driver-side
            columns = ", ".join(f"`{c.name}` {c.args['kind'].sql(dialect=DIALECT)}" for c in target.expressions)
            name = self._view_name(target.this, create=True)
            self.local[name] = (self.spark.createDataFrame([], columns).schema, [])
            self._view(self.spark.createDataFrame([], self.local[name][0]), name)
            return None
        name = self._view_name(target, create=True)
        frame = self._query(tree.expression, params)
        if kind == "TABLE":  # a temp table is materialized once, as DuckDB's is
            frame = frame.persist()
            frame.count()
            self.persisted.setdefault(name, []).append(frame)
        self._view(frame, name)
        return None

    def _insert(self, tree: Any, params: list[Any]) -> None:
        from sqlglot import exp

        name = self._view_name(tree.this)
        values = tree.expression
        if name in self.local and isinstance(values, exp.Values):  # rows given: a local relation, no job
            schema, rows = self.local[name]
            pending = iter(params)
            rows.extend(tuple(next(pending) if isinstance(v, exp.Placeholder) else v.to_py() for v in row.expressions)
                        for row in values.expressions)
            self._view(self.spark.createDataFrame(rows, schema), name)
            return
        self.local.pop(name, None)
        frame = self.spark.table(name).unionByName(self._query(values, params)).persist()
        frame.count()
        self.persisted.setdefault(name, []).append(frame)
        self._view(frame, name)

    def _view_name(self, table: Any, *, create: bool = False) -> str:
        """``layer.table`` is a temporary view ``layer__table`` (Spark's temporary views have one-part names)."""
        db, name = table.args.get("db"), table.name
        if not db:
            return name
        key = (db.name, name)
        if create:
            self.views[key] = f"{db.name}__{name}"
        return self.views.get(key, f"{db.name}.{name}")

    def _query(self, tree: Any, params: list[Any]) -> DataFrame:
        from sqlglot import exp

        if isinstance(tree, exp.Union) and tree.args.get("by_name"):
            left, right = self._query(tree.this, []), self._query(tree.expression, [])
            return left.unionByName(right, allowMissingColumns=True)
        if isinstance(tree, exp.Subquery):
            tree = tree.this

        def rewrite(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and node.args.get("db") and not node.args.get("catalog"):
                alias = self.views.get((node.args["db"].name, node.name))
                if alias:
                    renamed = exp.Table(this=exp.to_identifier(alias))
                    if node.alias:
                        renamed.set("alias", node.args["alias"])
                    return renamed
            if isinstance(node, exp.RegexpFullMatch) and isinstance(node.expression, exp.Literal):
                # Spark's RLIKE finds; DuckDB's regexp_full_match matches the whole value
                return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{node.expression.this})$"))
            return node

        text = tree.transform(rewrite).sql(dialect=DIALECT)
        return self.spark.sql(text, args=params) if params else self.spark.sql(text)


def _arrow_frame(spark: SparkSession, rows: pa.Table, folder: Path) -> DataFrame:
    """Arrow rows as a Spark DataFrame, through a Parquet file (exact types, no pandas round trip)."""
    import pyarrow.parquet as pq

    path = folder / f"rows_{next(_NAMES)}.parquet"
    pq.write_table(normalize(rows), path)
    return spark.read.parquet(str(path))
