"""Engines that run lakemend's SQL; the interface is in :mod:`lakemend.engines.base`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lakemend.errors import ConfigError

if TYPE_CHECKING:
    from lakemend.engines.base import Engine
    from lakemend.project.project import Project

ENGINES = {"duckdb": "lakemend.engines.duckdb:DuckDBEngine", "spark": "lakemend.engines.spark:SparkEngine"}
PARSER = "duckdb"
"""The engine that parses landing files into Arrow (bronze ingest), whatever engine builds the models."""


def open_engine(name: str, project: Project | None = None) -> Engine:
    """The engine called ``name`` in lakemend.yaml (imported only when first used).

    ``project`` gives engines that need them the catalog, warehouse and their own settings (Spark).
    """
    try:
        module, _, attribute = ENGINES[name].partition(":")
    except KeyError:
        raise ConfigError(f"engine {name!r} is not available", f"use one of: {', '.join(ENGINES)}") from None
    return getattr(importlib.import_module(module), attribute)(project)


def parser_engine() -> Engine:
    """The engine landing files are parsed with (:data:`PARSER`): bronze rows and quarantine are the
    same whichever engine then builds silver and gold."""
    return open_engine(PARSER)
