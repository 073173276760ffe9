"""A loaded project: its tables, the dependency graph and the partition mappings."""

from __future__ import annotations

import datetime as dt
import graphlib
import hashlib
import json
import os
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
)
from lakemend.errors import ConfigError, UsageError

LAYERS = ("bronze", "silver", "gold")
PROJECT_FILE = "lakemend.yaml"


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

    @property
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


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    tables: dict[str, TableSpec] = field(default_factory=dict)

    # ----- locations -------------------------------------------------------------------
    def _local(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else (self.root / path).resolve()

    @property
    def warehouse(self) -> Path:
        return self._local(self.config.warehouse)

    @property
    def raw(self) -> Path:
        return self._local(self.config.raw)

    @property
    def logs(self) -> Path:
        return self._local(self.config.logs.path)

    def local(self, value: str) -> Path:
        """A project-relative path made absolute."""
        return self._local(value)

    def sqlalchemy_url(self, url: str) -> str:
        """Make a relative ``sqlite:///path`` absolute against the project root."""
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            path = self._local(url[len(prefix):])
            path.parent.mkdir(parents=True, exist_ok=True)
            return prefix + str(path)
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


def load_project(root: Path | None = None) -> Project:
    root = (root or find_project_root()).resolve()
    config_path = root / PROJECT_FILE
    config = load_project_config(config_path)
    project = Project(root=root, config=config)
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
