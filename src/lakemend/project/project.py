"""A loaded project: its tables, the dependency graph and the partition mappings."""

from __future__ import annotations

import datetime as dt
import fnmatch
import graphlib
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lakemend.project.config import (
    BronzeTableConfig,
    Contract,
    ModelTableConfig,
    ProjectConfig,
    load_contract,
    load_project_config,
    selected_profile,
)
from lakemend.errors import ConfigError, UsageError
from lakemend.project.storage import Location, S3Settings, location

LAYERS = ("bronze", "silver", "gold")
PROJECT_FILE = "lakemend.yaml"
SELECTOR_HELP = "a selector is a table, a layer, a glob like silver.*, +T (with upstream) or T+ (with downstream)"


@dataclass(frozen=True)
class Input:
    """One input of a model: the table and which of its days one target day reads."""

    table: str
    mapping: str = "same"

    def window(self, day: dt.date) -> tuple[dt.date | None, dt.date]:
        """The inclusive day range read for ``day``; ``None`` as start means from the beginning."""
        if self.mapping == "upto":
            return None, day
        if self.mapping.startswith("window:"):
            return day - dt.timedelta(days=int(self.mapping.split(":")[1]) - 1), day
        return day, day

    def affected(self, changed: dt.date, candidates: list[dt.date]) -> list[dt.date]:
        """The target days (among candidates) whose input window contains the changed day."""
        out = []
        for day in candidates:
            first, last = self.window(day)
            if (first is None or first <= changed) and changed <= last:
                out.append(day)
        return out


@dataclass(frozen=True)
class TableSpec:
    layer: str
    name: str
    source: str | None = None
    bronze: BronzeTableConfig | None = None
    model: ModelTableConfig | None = None
    sql: str = ""
    contract: Contract | None = None
    inputs: tuple[Input, ...] = ()

    @cached_property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def unique_key(self) -> list[str]:
        cfg = self.bronze or self.model
        return list(cfg.unique_key) if cfg else []

    @cached_property
    def code_hash(self) -> str:
        """Changes when anything that shapes this table's rows changes (config, SQL, contract)."""
        cfg = (self.bronze or self.model).model_dump(mode="json")  # type: ignore[union-attr]
        contract = self.contract.model_dump(mode="json") if self.contract else None
        blob = json.dumps({"cfg": cfg, "sql": self.sql, "contract": contract}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///path`` URL; None for another database or one in memory."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or ":memory:" in url or url.startswith(prefix + "file:"):
        return None
    path = url[len(prefix):].split("?", 1)[0]
    return Path(path) if path else None


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    tables: dict[str, TableSpec] = field(default_factory=dict)
    profile: str | None = None
    """The profile in effect (``--profile`` / ``$LAKEMEND_PROFILE``), None for the top-level settings."""

    # ----- locations -------------------------------------------------------------------
    def _local(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else (self.root / path).resolve()

    @cached_property
    def s3(self) -> S3Settings:
        """How to reach S3 (``aws.s3`` and ``aws.region``, ``$AWS_ENDPOINT_URL_S3``)."""
        return S3Settings.from_config(self.config.aws)

    @property
    def warehouse(self) -> Location:
        """The warehouse folder: a ``Path``, or an ``S3Path`` for ``s3://`` (see ``project/storage``)."""
        return location(self.config.warehouse, self.root, self.s3)

    @property
    def warehouse_uri(self) -> str:
        """``file:///…`` or ``s3://…``: the warehouse as the catalog records it."""
        return self.warehouse.as_uri()

    @property
    def raw(self) -> Location:
        """The landing zone: a ``Path``, or an ``S3Path`` for ``s3://``.

        Resolved once per project (a local path is resolved through the filesystem, and the stale
        scan asks for it per landing file); resolved again only if ``config.raw`` or ``root`` change.
        """
        key = (self.config.raw, self.root)
        cached = self.__dict__.get("_raw_cache")
        if cached is None or cached[0] != key:
            cached = (key, location(self.config.raw, self.root, self.s3))
            self.__dict__["_raw_cache"] = cached
        return cached[1]

    @property
    def logs(self) -> Path:
        return self._local(self.config.logs.path)

    def local(self, value: str) -> Path:
        """A project-relative path made absolute."""
        return self._local(value)

    def sqlalchemy_url(self, url: str) -> str:
        """Make a relative ``sqlite:///path`` absolute against the project root (its folder is made
        by whoever creates the database: the catalog, the state store — never by a dry run)."""
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self._local(url[len(prefix):]))
        return url

    @property
    def catalog_uri(self) -> str:
        return self.sqlalchemy_url(self.config.catalog.uri)

    @property
    def state_url(self) -> str:
        return self.sqlalchemy_url(os.environ.get("LAKEMEND_STATE", self.config.state))

    # ----- tables ------------------------------------------------------------------------
    def table(self, qualified: str) -> TableSpec:
        """The table named exactly ``layer.table``; use :meth:`find_table` for what a user typed."""
        try:
            return self.tables[qualified]
        except KeyError:
            known = ", ".join(self.tables) or "none"
            raise UsageError(f"unknown table {qualified!r}", f"known tables: {known}") from None

    def find_table(self, name: str) -> TableSpec:
        """The one lookup of a table a user named: ``layer.table``, or a short name that is unique.

        A short name that two layers share (``orders`` in bronze and gold) is refused with both
        candidates, never resolved to whichever comes first.
        """
        if "." in name:
            return self.table(name)
        matches = [spec for spec in self.ordered if spec.name == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            candidates = ", ".join(spec.qualified for spec in matches)
            raise UsageError(f"table name {name!r} is ambiguous: it matches {candidates}", "name it as layer.table")
        known = ", ".join(self.tables) or "none"
        raise UsageError(f"unknown table {name!r}", f"known tables: {known}")

    def layer_tables(self, layer: str) -> list[TableSpec]:
        return [t for t in self.ordered if t.layer == layer]

    def resolve_table(self, layer: str, name: str) -> TableSpec:
        """Accept ``orders_clean`` or ``silver.orders_clean`` for a table of ``layer``."""
        qualified = name if "." in name else f"{layer}.{name}"
        if not qualified.startswith(layer + "."):
            raise UsageError(f"table {name!r} is not a {layer} table", f"{layer} tables: {self._names(layer)}")
        if qualified not in self.tables:
            raise UsageError(f"unknown {layer} table {name!r}", f"{layer} tables: {self._names(layer)}")
        return self.tables[qualified]

    def _names(self, layer: str) -> str:
        return ", ".join(t.name for t in self.layer_tables(layer)) or "none"

    def source_tables(self, source: str) -> list[TableSpec]:
        if source == "all":
            return self.layer_tables("bronze")
        if source not in self.config.sources:
            known = ", ".join(self.config.sources) or "none"
            raise UsageError(f"unknown source {source!r}", f"known sources: {known}, or all")
        return [t for t in self.layer_tables("bronze") if t.source == source]

    @cached_property
    def ordered(self) -> list[TableSpec]:
        """Tables in dependency order: every table after all of its inputs."""
        graph = {name: {i.table for i in spec.inputs} for name, spec in self.tables.items()}
        order = list(graphlib.TopologicalSorter(graph).static_order())
        rank = {layer: i for i, layer in enumerate(LAYERS)}
        position = {name: i for i, name in enumerate(order)}
        return sorted(self.tables.values(), key=lambda t: (rank[t.layer], position[t.qualified]))

    def sources_of(self, qualified: str) -> list[str]:
        """The landing sources a table is built from (its own for bronze, transitively otherwise)."""
        spec = self.tables[qualified]
        if spec.source:
            return [spec.source]
        found: list[str] = []
        for inp in spec.inputs:
            for source in self.sources_of(inp.table):
                if source not in found:
                    found.append(source)
        return found

    def dependants(self, qualified: str) -> list[tuple[TableSpec, Input]]:
        """Direct dependants of a table, with the input edge that links them."""
        return [(t, i) for t in self.ordered for i in t.inputs if i.table == qualified]

    # ----- selection (``run --select / --exclude``, ``ls``) -----------------------------------
    def upstream(self, qualified: str) -> list[str]:
        """Every table ``qualified`` reads, transitively (its inputs, their inputs, …)."""
        found: list[str] = []
        frontier = [i.table for i in self.tables[qualified].inputs]
        while frontier:
            name = frontier.pop()
            if name not in found:
                found.append(name)
                frontier += [i.table for i in self.tables[name].inputs]
        return found

    def downstream(self, qualified: str) -> list[str]:
        """Every table that reads ``qualified``, transitively."""
        found: list[str] = []
        frontier = [t.qualified for t, _ in self.dependants(qualified)]
        while frontier:
            name = frontier.pop()
            if name not in found:
                found.append(name)
                frontier += [t.qualified for t, _ in self.dependants(name)]
        return found

    def matching(self, selector: str) -> set[str]:
        """The tables one selector names (see :meth:`select`), as layer-qualified names."""
        core = selector.strip()
        with_upstream, with_downstream = core.startswith("+"), core.endswith("+")
        core = core.strip("+")
        if not core:
            raise UsageError(f"selector {selector!r} names no table", SELECTOR_HELP)
        if core in LAYERS:
            found = {t.qualified for t in self.layer_tables(core)}
        elif any(c in core for c in "*?["):
            found = {t.qualified for t in self.ordered
                     if fnmatch.fnmatchcase(t.qualified, core) or fnmatch.fnmatchcase(t.name, core)}
            if not found:
                raise UsageError(f"selector {selector!r} matches no table", f"known tables: {', '.join(self.tables)}")
        else:
            found = {self.find_table(core).qualified}
        for name in list(found):
            if with_upstream:
                found.update(self.upstream(name))
            if with_downstream:
                found.update(self.downstream(name))
        return found

    def select(self, selectors: list[str] | tuple[str, ...] = (), exclude: list[str] | tuple[str, ...] = ()) -> list[TableSpec]:
        """The tables of ``--select`` (all when none) minus those of ``--exclude``, in dependency order.

        A selector is a table (``orders_clean``, ``silver.orders_clean``), a layer (``silver``), a
        glob over layer.table or table names (``silver.*``, ``*_clean``); ``+T`` adds everything
        upstream of T, ``T+`` everything downstream. Every selector must match a table.
        """
        if not self.tables:
            raise UsageError("the project defines no tables yet",
                             f"add a source under sources: in {self.root / PROJECT_FILE} (see docs/project-files.md)")
        chosen: set[str] = set()
        for selector in selectors:
            chosen |= self.matching(selector)
        if not selectors:
            chosen = set(self.tables)
        for selector in exclude:
            chosen -= self.matching(selector)
        if not chosen:
            raise UsageError("the selection leaves no table", "loosen --exclude or widen --select")
        return [t for t in self.ordered if t.qualified in chosen]


def find_project_root(start: Path | None = None) -> Path:
    """The project folder: LAKEMEND_PROJECT, else the nearest folder upwards holding lakemend.yaml."""
    env = os.environ.get("LAKEMEND_PROJECT")
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / PROJECT_FILE).is_file():
            raise ConfigError(f"LAKEMEND_PROJECT={env} has no {PROJECT_FILE}", "point it at a lakemend project folder")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ConfigError(
        f"no {PROJECT_FILE} in {here} or its parents",
        "cd into a lakemend project, pass --project DIR, or create one: lakemend init DIR --example company",
    )


def load_project(root: Path | None = None, profile: str | None = None) -> Project:
    """The project at ``root`` with ``profile`` applied (default: ``$LAKEMEND_PROFILE``, else none)."""
    root = (root or find_project_root()).resolve()
    config_path = root / PROJECT_FILE
    profile = selected_profile(profile)
    config = load_project_config(config_path, profile)
    project = Project(root=root, config=config, profile=profile)
    for source, src in config.sources.items():
        for name, cfg in src.bronze.items():
            _add(project, TableSpec(layer="bronze", name=name, source=source, bronze=cfg), config_path)
    for layer in ("silver", "gold"):
        for name, cfg in getattr(config, layer).items():
            spec = TableSpec(
                layer=layer,
                name=name,
                model=cfg,
                sql=_read_model_sql(root, cfg.sql, f"{layer}.{name}", config_path),
                contract=load_contract(_inside(root, cfg.contract, config_path)) if cfg.contract else None,
                inputs=tuple(Input(d.table, d.mapping) for d in cfg.depends_on),
            )
            _add(project, spec, config_path)
    _check_graph(project, config_path)
    _check_model_reads(project)
    return project


def _add(project: Project, spec: TableSpec, config_path: Path) -> None:
    if spec.qualified in project.tables:
        raise ConfigError(f"{config_path}: table {spec.qualified} is defined twice", "give each table one name")
    project.tables[spec.qualified] = spec


def _inside(root: Path, relative: str, config_path: Path) -> Path:
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ConfigError(f"{config_path}: {relative!r} points outside the project", "keep models and contracts inside it")
    return path


def _read_model_sql(root: Path, relative: str, table: str, config_path: Path) -> str:
    path = _inside(root, relative, config_path)
    try:
        sql = path.read_text(encoding="utf-8").strip().rstrip(";")
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: {table}.sql: {relative} not found", "create the model file or fix the path") from None
    if not sql:
        raise ConfigError(f"{path}: the model is empty", "write one SELECT statement")
    return sql


def _check_graph(project: Project, config_path: Path) -> None:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    for spec in project.tables.values():
        for inp in spec.inputs:
            if inp.table not in project.tables:
                known = ", ".join(t for t in project.tables if rank[t.split(".")[0]] <= rank[spec.layer])
                raise ConfigError(
                    f"{config_path}: {spec.qualified}.depends_on: unknown table {inp.table!r}",
                    f"use a layer-qualified name, one of: {known}",
                )
            if rank[inp.table.split(".")[0]] > rank[spec.layer]:
                raise ConfigError(
                    f"{config_path}: {spec.qualified} depends on {inp.table}, a later layer",
                    "a table may read only its own or earlier layers",
                )
    graph = {name: {i.table for i in spec.inputs} for name, spec in project.tables.items()}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise ConfigError(f"{config_path}: dependency cycle {' -> '.join(exc.args[1])}", "remove one edge") from None


def model_reads(sql: str, dialect: str) -> list[str] | None:
    """The lake tables (layer.table of bronze, silver or gold) a model's SQL names; ``None`` when
    sqlglot cannot parse it (the build reports the SQL error with its own message)."""
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    found: list[str] = []
    for tree in trees:
        if tree is None:
            continue
        for table in tree.find_all(exp.Table):
            layer = table.db.lower() if table.db else ""
            if layer in LAYERS and not table.catalog:
                name = f"{layer}.{table.name}"
                if name not in found:
                    found.append(name)
    return found


_LAYER_WORD = re.compile(r"(?<![\w$])(?:bronze|silver|gold)(?![\w$])", re.IGNORECASE)
_LAYER_TABLE = re.compile(
    r"""["`\[]?(bronze|silver|gold)["`\]]?\s*\.\s*"""
    r"""(?:"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][\w$]*))(?=[\s),;]|$)""",
    re.IGNORECASE,
)


def _written_reads(sql: str) -> set[str] | None:
    """Every ``layer.table`` the SQL text spells out (comments and strings included), or ``None``
    when a layer's name appears in any other form. A superset of what :func:`model_reads` finds,
    so a model whose written names are all declared needs no sqlglot import and parse at load
    (tens of milliseconds of every command's start-up)."""
    found: set[str] = set()
    for word in _LAYER_WORD.finditer(sql):
        begin = word.start() - 1 if word.start() and sql[word.start() - 1] in '"`[' else word.start()
        match = _LAYER_TABLE.match(sql, begin)
        if match is None:
            return None
        quoted, backticked, bracketed, bare = match.group(2, 3, 4, 5)
        name = quoted.replace('""', '"') if quoted is not None else backticked or bracketed or bare
        found.add(f"{match.group(1).lower()}.{name}")
    return found


def _check_model_reads(project: Project) -> None:
    """A model may read only the tables of its ``depends_on``: a table it reads but does not
    declare would be neither bound to the right days nor rebuilt before it — refuse at load."""
    for spec in project.tables.values():
        if spec.model is None:
            continue
        declared = {i.table for i in spec.inputs}
        written = _written_reads(spec.sql)
        if written is not None and written <= declared:
            continue  # what sqlglot would find is among these: nothing to refuse
        for name in model_reads(spec.sql, project.config.dialect) or []:
            if name not in declared:
                path = project.root / spec.model.sql
                raise ConfigError(
                    f"{path}: {spec.qualified} reads {name}, which is not in its depends_on",
                    f"add {name} to {spec.qualified}.depends_on in {PROJECT_FILE} (or stop reading it)",
                )
